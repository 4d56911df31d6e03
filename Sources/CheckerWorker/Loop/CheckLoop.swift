import CVigilShim
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The checker worker's event loop: one thread around `epoll_wait`, a timer heap and a task queue, with raw file
/// descriptors as first-class events. Health checks are small — a connect, a few bytes — and thousands a second;
/// a channel pipeline per check (SwiftNIO's `ClientBootstrap`) costs many times the system calls the check itself
/// needs. Here a TCP check is a socket, a connect, one `epoll_ctl` and a close, its readiness read in batches by
/// the same `epoll_wait` that sleeps until the next due check.
///
/// It is an `EventLoop` too, so futures, promises and scheduled tasks of the rest of Vigil (scripts, file reads,
/// checks that still use SwiftNIO channels on their own loop and hop back) run on it unchanged.
///
/// Each turn runs, in order: ready descriptors, then due timers, then queued tasks. I/O first: a connection that
/// completed in the same turn as its timeout counts as completed, so a late loop never fails a check that
/// succeeded.
///
/// Loop-confined state (timers, watched descriptors) is only touched on the loop's thread; the task queue is behind
/// a mutex and an eventfd wakes the loop. (Hence `@unchecked Sendable`: every entry point from another thread goes
/// through `execute`, and `inEventLoop` is exact.)
public final class CheckLoop: EventLoop, @unchecked Sendable {
    /// Called with the descriptor and its `epoll` events. One handler may serve many descriptors (the TCP connector
    /// registers one for all its sockets: no closure per check).
    public typealias Handler = (Int32, UInt32) -> Void

    private let epoll: Int32
    private let wake: Int32
    /// A pthread mutex (NIOLockedValueBox), not a Synchronization.Mutex: every task handed to the loop from another
    /// thread crosses this lock, and ThreadSanitizer sees pthread mutexes but not Mutex's futex, so with a Mutex it
    /// reports each such hand-over (a future's callback, a promise) as a race.
    private let queue = NIOLockedValueBox<[@Sendable () -> Void]>([])
    /// Whether the loop's thread may be asleep in `epoll_wait` (an `execute` from another thread must wake it).
    private let sleeping = Atomic<Bool>(false)
    private let thread = Atomic<UInt>(0)
    private let stopping = Atomic<Bool>(false)
    private var timers = TimerQueue()
    private var handlers: [Handler?] = []
    /// Called after every turn of the loop, on the loop, and by long work inside a turn (`noteProgress`): progress
    /// for the watchdog's liveness check.
    public var onTurn: (() -> Void)?
    /// Turns of the loop so far.
    public private(set) var turns = 0
    /// CLOCK_MONOTONIC (ns) when this turn began, read once per turn: what the loop's own work (scheduling checks,
    /// deadlines, lateness) measures against. Under emulation or without a TSC clocksource every clock read is a
    /// system call; one a turn, not several per check.
    public private(set) var turnTime: UInt64 = 0
    /// Descriptors watched in epoll sets of their own (the TCP connector's), harvested once per tick while they
    /// have work: a thousand checks a second wake the loop about a hundred times, not two thousand.
    private var pollers: [any TickPoller] = []
    /// How often pollers with work are harvested.
    public static let tick: UInt64 = 10_000_000
    /// TCP_CHECK's lean connects. Loop only.
    private(set) var connector: TCPConnector!
    /// Work the loop queued for its next turn (`later`): loop-confined, no lock.
    private var deferred: [() -> Void] = []

    /// Tests only: no thread; time stands still until `advance(by:)` moves it.
    private let manual: Bool
    private var virtualNow: UInt64 = 0

    /// Starts the loop's thread.
    /// - Parameter name: the thread's name (15 characters at most), as `ps -L` shows it.
    public init(name: String = "vigil-checks") {
        manual = false
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epoll >= 0 && wake >= 0, "epoll_create1/eventfd failed: \(String(cString: strerror(errno)))")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wake))
        _ = epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event)
        let started = DispatchSemaphore(value: 0)
        let context = Unmanaged.passRetained(StartContext(loop: self, name: name, started: started))
        var id = pthread_t()
        let created = pthread_create(
            &id, nil,
            { raw in
                let context = Unmanaged<StartContext>.fromOpaque(raw!).takeRetainedValue()
                let loop = context.loop
                loop.thread.store(UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))), ordering: .releasing)
                _ = cvigil_set_thread_name(String(context.name.prefix(15)))
                context.started.signal()
                loop.run()
                return nil
            }, context.toOpaque())
        precondition(created == 0, "pthread_create failed: \(created)")
        _ = pthread_detach(id)
        started.wait()
        connector = TCPConnector(loop: self)
        execute { [self] in pollers.append(connector) }
    }

    /// A loop in virtual time for tests of the code that runs on it: no thread (every call is "on the loop"),
    /// `now` starts at `start` and moves only with `advance(by:)`, which runs the tasks and timers due meanwhile in
    /// order. Descriptors are not polled.
    public init(virtualTimeFrom start: Duration) {
        manual = true
        virtualNow = UInt64(HealthScheduler.nanoseconds(start))
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        turnTime = virtualNow
        connector = TCPConnector(loop: self)
        pollers.append(connector)
    }

    public var now: NIODeadline { manual ? .uptimeNanoseconds(virtualNow) : .now() }

    /// The turn's time in virtual-time loops too.
    private func beginTurn() {
        turnTime = now.uptimeNanoseconds
        for poller in pollers where poller.hasWork { poller.harvest() }
    }

    /// Virtual time only: runs what is queued, then every timer due within `duration` (moving `now` to each), and
    /// leaves `now` that much later.
    public func advance(by duration: Duration) {
        precondition(manual, "advance(by:) is for loops in virtual time")
        let end = virtualNow + UInt64(HealthScheduler.nanoseconds(duration))
        while true {
            runQueued()
            guard let next = timers.nextDeadline, next <= end else { break }
            virtualNow = max(virtualNow, next)
            beginTurn()
            for body in timers.takeDue(now: virtualNow) { body() }
        }
        virtualNow = end
        beginTurn()
        runQueued()
    }

    /// Virtual time only: `duration` passes with nothing run, as during a turn that took that long.
    public func elapse(_ duration: Duration) {
        precondition(manual, "elapse(_:) is for loops in virtual time")
        virtualNow += UInt64(HealthScheduler.nanoseconds(duration))
    }

    /// Virtual time only: runs queued tasks and deferred slices until none is left.
    public func runQueued() {
        while runTurn() {}
    }

    /// Virtual time only: one turn's worth of deferred slices and queued tasks (what a real turn runs after its
    /// descriptors and timers).
    /// - Returns: whether anything ran.
    @discardableResult
    public func runTurn() -> Bool {
        precondition(manual, "runTurn() is for loops in virtual time")
        beginTurn()
        let tasks = queue.withLockedValue { tasks -> [@Sendable () -> Void] in
            defer { tasks.removeAll(keepingCapacity: true) }
            return tasks
        }
        let slices = deferred
        deferred = []
        for slice in slices { slice() }
        for task in tasks { task() }
        return !(tasks.isEmpty && slices.isEmpty)
    }

    private final class StartContext {
        let loop: CheckLoop
        let name: String
        let started: DispatchSemaphore
        init(loop: CheckLoop, name: String, started: DispatchSemaphore) {
            self.loop = loop
            self.name = name
            self.started = started
        }
    }

    /// Tells the watchdog the loop is making progress from inside a long turn (a batch of completions harvested, a
    /// slice of a plan computed). Loop only.
    public func noteProgress() { onTurn?() }

    // MARK: EventLoop

    public var inEventLoop: Bool {
        manual || UInt(pthread_self()) == thread.load(ordering: .acquiring)
    }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        queue.withLockedValue { $0.append(task) }
        if !inEventLoop, sleeping.exchange(false, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = Glibc.write(wake, &one, 8)
        }
    }

    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        let id = TimerID()
        let body = HandOver {
            do { promise.assumeIsolated().succeed(try task()) } catch { promise.fail(error) }
        }
        if inEventLoop {
            timers.add(id: id, at: deadline.uptimeNanoseconds, body.value)
        } else {
            execute { [self] in timers.add(id: id, at: deadline.uptimeNanoseconds, body.value) }
        }
        return Scheduled(promise: promise) { [self] in
            // Scheduled.cancel() has failed the promise already; forget the timer.
            if inEventLoop { timers.cancel(id) } else { execute { self.timers.cancel(id) } }
        }
    }

    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: now + delay, task)
    }

    public func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on the check loop", file: file, line: line)
    }

    public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on the check loop", file: file, line: line)
    }

    public func shutdownGracefully(
        queue callbackQueue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void
    ) {
        stopping.store(true, ordering: .releasing)
        execute {}
        callbackQueue.async { callback(nil) }
    }

    // MARK: Timers and descriptors (on the loop)

    /// Runs `body` at `deadline` (CLOCK_MONOTONIC nanoseconds, as `NIODeadline.uptimeNanoseconds`) on the loop;
    /// no promise, no allocation beyond the closure. Loop only.
    @discardableResult
    public func at(_ deadline: UInt64, _ body: @escaping () -> Void) -> TimerID {
        preconditionInEventLoop()
        let id = TimerID()
        timers.add(id: id, at: deadline, body)
        return id
    }

    /// Adds a poller: harvested at the start of every turn, and the loop wakes at least every `tick` while it has
    /// work. Loop only.
    func add(_ poller: any TickPoller) {
        preconditionInEventLoop()
        pollers.append(poller)
    }

    /// Runs `body` in the next turn of the loop, after that turn's descriptors and timers: how long work is sliced
    /// (the rest of a large plan, the next services of a table read) so checks and heartbeats go on in between.
    /// Loop only.
    public func later(_ body: @escaping () -> Void) {
        preconditionInEventLoop()
        deferred.append(body)
    }

    /// Cancels a timer set with `at`. Loop only.
    public func cancel(_ id: TimerID) {
        timers.cancel(id)
    }

    /// Calls `handler` with the `epoll` events whenever `fd` is ready for `events` (level-triggered, or once with
    /// `EPOLLONESHOT`). Loop only.
    /// - Returns: false when the kernel refused (the descriptor is bad); errno tells why.
    @discardableResult
    public func watch(_ fd: Int32, events: UInt32, _ handler: @escaping Handler) -> Bool {
        preconditionInEventLoop()
        let index = Int(fd)
        if index >= handlers.count { handlers += [Handler?](repeating: nil, count: index + 1 - handlers.count) }
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        let operation = handlers[index] == nil ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
        guard epoll_ctl(epoll, operation, fd, &event) == 0 else { return false }
        handlers[index] = handler
        return true
    }

    /// Changes the events `fd` is watched for (after `watch`). Loop only.
    public func rewatch(_ fd: Int32, events: UInt32) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
    }

    /// Forgets `fd`'s handler. With `closing`, the caller closes the descriptor next, which removes it from the
    /// epoll set by itself: one system call saved per check. Loop only.
    public func unwatch(_ fd: Int32, closing: Bool) {
        let index = Int(fd)
        guard index < handlers.count, handlers[index] != nil else { return }
        handlers[index] = nil
        if !closing {
            var event = epoll_event()
            _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
        }
    }

    // MARK: The loop

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        turnTime = now.uptimeNanoseconds
        while !stopping.load(ordering: .acquiring) {
            var timeout: Int32 = -1
            var wakeAt = timers.nextDeadline
            if pollers.contains(where: \.hasWork) { wakeAt = min(wakeAt ?? .max, turnTime + Self.tick) }
            if let next = wakeAt {
                let now = self.now.uptimeNanoseconds
                timeout = next <= now ? 0 : Int32(clamping: (next - now + 999_999) / 1_000_000)
            }
            sleeping.store(true, ordering: .releasing)
            if !deferred.isEmpty || queue.withLockedValue({ !$0.isEmpty }) { timeout = 0 }
            let count = epoll_wait(epoll, events, Int32(capacity), timeout)
            sleeping.store(false, ordering: .releasing)
            turnTime = now.uptimeNanoseconds
            for poller in pollers where poller.hasWork { poller.harvest() }
            if count > 0 {
                for index in 0..<Int(count) {
                    let fd = events[index].data.fd
                    if fd == wake {
                        var value: UInt64 = 0
                        _ = Glibc.read(wake, &value, 8)
                        continue
                    }
                    let slot = Int(fd)
                    if slot < handlers.count, let handler = handlers[slot] { handler(fd, events[index].events) }
                }
            }
            for body in timers.takeDue(now: turnTime) { body() }
            let slices = deferred
            deferred = []
            for slice in slices { slice() }
            let tasks = queue.withLockedValue { tasks -> [@Sendable () -> Void] in
                defer { tasks.removeAll(keepingCapacity: true) }
                return tasks
            }
            for task in tasks { task() }
            turns &+= 1
            onTurn?()
        }
    }
}

/// Work a `CheckLoop` harvests at the start of each turn instead of being woken for each piece of it.
protocol TickPoller: AnyObject {
    /// Whether the loop must keep ticking for it.
    var hasWork: Bool { get }
    /// Collects what is ready, without blocking.
    func harvest()
}

/// A value handed from the thread that made it to the loop's thread, and used only there from then on (a scheduled
/// task's body holding a promise of a non-`Sendable` value): one owner at a time, so no concurrent access.
struct HandOver<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Names a timer of a `CheckLoop`.
public struct TimerID: Hashable, Sendable {
    private static let counter = Atomic<UInt64>(0)
    let value: UInt64

    init() {
        value = Self.counter.add(1, ordering: .relaxed).newValue
    }
}

/// The check loop's timers: a heap of (deadline, id) with the bodies beside it; a cancelled timer stays in the
/// heap until it reaches the top, where it is dropped.
struct TimerQueue {
    private struct Entry: Comparable {
        var deadline: UInt64
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }
    }

    private var heap = MinHeap<Entry>()
    private var bodies: [UInt64: () -> Void] = [:]

    var nextDeadline: UInt64? {
        mutating get {
            while let top = heap.top, bodies[top.id] == nil { heap.pop() }
            return heap.top?.deadline
        }
    }

    var count: Int { bodies.count }

    mutating func add(id: TimerID, at deadline: UInt64, _ body: @escaping () -> Void) {
        bodies[id.value] = body
        heap.push(Entry(deadline: deadline, id: id.value))
    }

    mutating func cancel(_ id: TimerID) {
        bodies[id.value] = nil
    }

    /// Takes every timer due at `now`, earliest first; the caller runs them (a timer they add runs in a later
    /// turn).
    mutating func takeDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.top, top.deadline <= now {
            heap.pop()
            if let body = bodies.removeValue(forKey: top.id) { due.append(body) }
        }
        return due
    }
}
