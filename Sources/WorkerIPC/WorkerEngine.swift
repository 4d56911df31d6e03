import CVigilShim
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What a worker role runs: the VRRP engine or the checker engine.
///
/// The worker runtime owns the IPC socket and the signal descriptor on the process's main thread; the
/// engine owns one event loop of its own. Every call below is made through `execute`, so it runs on the
/// engine's loop. Heartbeats are answered on the main thread, with the engine's progress (`WorkerProgress`): the
/// runtime sends a beacon through `execute` every quarter heartbeat, and an engine doing long work on purpose
/// (decoding or applying a large configuration, programming thousands of IPVS rules) marks progress as it goes.
/// A loop that is busy keeps making progress; one stuck in a task does not, and the watchdog replaces it.
public protocol WorkerEngine: AnyObject, Sendable {
    /// Runs `body` on the engine's event loop.
    func execute(_ body: @escaping @Sendable () -> Void)
    /// Applies the first configuration (`isReload` false) or a reloaded one (true): only the difference.
    /// `configuration.savedState` is what the previous incarnation of this worker last reported.
    func apply(_ configuration: WorkerConfiguration, isReload: Bool)
    /// Runs `body` on the engine's loop once the work `apply` started is done: the checker's first IPVS programming,
    /// which goes on for several turns of its loop after `apply` returns. At once by default (called on the loop).
    func afterApply(_ body: @escaping @Sendable () -> Void)
    /// The text of the `SIGUSR1` data dump for this worker.
    func dump() -> String
    /// The text of the `SIGUSR2` statistics dump for this worker (`name value` lines).
    func statistics() -> String
    /// Stops the engine: releases VIPs / IPVS rules first when `release` is true, then calls `done`
    /// (the runtime exits right after). Must call `done` even when releasing fails.
    func stop(release: Bool, done: @escaping @Sendable () -> Void)
    /// The other worker's last state report, relayed by the watchdog (the checker engine gets the VRRP
    /// instances' states for `ha_suspend`).
    func peerStateChanged(_ state: WorkerState)
    /// Direct channels to other workers, by their role (the BFD worker's to its trackers), before the first
    /// `apply`: descriptors the engine owns from now on.
    func connect(peers: [WorkerRole: Int32])
    /// What the BFD worker sent on the BFD channel (a tracker's), read at `receivedAt` (CLOCK_MONOTONIC ns).
    func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64)
    /// The watchdog is gone (killed or crashed) and this worker is about to stop: whatever the watchdog held on its
    /// behalf goes first, before `stop` releases (or, with `-I` / `-V`, keeps) what the worker owns. Called on the
    /// runtime's thread.
    func watchdogGone()
}

extension WorkerEngine {
    public func afterApply(_ body: @escaping @Sendable () -> Void) { body() }
    public func peerStateChanged(_ state: WorkerState) {}
    public func connect(peers: [WorkerRole: Int32]) {}
    public func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64) {}
    public func watchdogGone() {}
}

/// How an engine talks back to the watchdog. Thread-safe: engines call it from their loop, the runtime
/// from the main thread.
public final class WorkerReporter: Sendable {
    /// The socket is used only under the mutex: one message's frames are never interleaved with another's.
    private let socket: Mutex<MessageSocketBox>
    /// Events not sent because the watchdog was this far behind (and whether that was logged).
    private let dropped = Mutex<Int>(0)
    private let logger: Logger
    /// Past this many bytes waiting for the watchdog, events (which this worker logs itself) are counted and dropped;
    /// state reports, statistics, answers and heartbeats still queue.
    public static let eventBacklogLimit = 1 << 20
    /// The engine's liveness, read by the heartbeat answers.
    public let progress: WorkerProgress

    /// The socket's protocol version, for encoding outside the mutex.
    private let version: Int

    public init(socket: MessageSocket, logger: Logger, progress: WorkerProgress = WorkerProgress()) {
        version = socket.version
        self.socket = Mutex(MessageSocketBox(socket))
        self.logger = logger
        self.progress = progress
    }

    /// Queues one message for the watchdog and sends what its socket takes now; never waits, so an engine whose
    /// watchdog is behind (a flood of events on a loaded machine) keeps working instead of blocking on the socket. The
    /// rest goes out from the worker's IPC thread when the socket is writable (`flush`). Frames of one message are
    /// never interleaved with another's. The message is encoded before the socket's mutex is taken: encoding the
    /// state report of a large farm takes long on a loaded machine, and the IPC thread answers heartbeats through
    /// the same mutex (a checker whose pong waited behind a report's encoding was killed as hung, asleep on the lock).
    /// Heartbeat answers go ahead of the messages waiting (`WorkerMessage.goesAhead`).
    public func send(_ message: WorkerMessage) {
        let isEvent = if case .event = message { true } else { false }
        let ahead = message.goesAhead
        let payload = MessageCodec.encode(message, version: version)
        // Queued: true, dropped (the watchdog behind): false, not sent (a failure): nil.
        let (queued, failure) = socket.withLock { box -> (Bool?, SocketError?) in
            if isEvent, !box.broken, box.socket.outgoingBytes > Self.eventBacklogLimit { return (false, nil) }
            let (sent, failure) = box.attempt { socket throws(SocketError) in
                try socket.enqueue(encoded: payload, ahead: ahead)
            }
            return (sent ? true : nil, failure)
        }
        if let failure { logFailure(failure) }
        switch queued {
        case false?:
            if dropped.withLock({ count in
                count += 1
                return count == 1
            }) {
                logger.warning("the watchdog is behind: events go to this worker's log only until it catches up")
            }
        case true? where isEvent:
            let count = dropped.withLock { count in
                defer { count = 0 }
                return count
            }
            if count > 0 { logger.notice("the watchdog caught up; \(count) events went to this worker's log only") }
        default: break
        }
    }

    /// Messages waiting for room in the socket.
    public var hasOutgoing: Bool { socket.withLock { $0.socket.hasOutgoing } }

    /// Sends what waits, as far as the socket takes it (the IPC thread, on `POLLOUT`).
    /// - Returns: false when the socket has failed, now (logged) or before.
    @discardableResult
    public func flush() -> Bool {
        let (sent, failure) = socket.withLock { box in
            box.attempt { socket throws(SocketError) in try socket.flush() }
        }
        if let failure { logFailure(failure) }
        return sent
    }

    /// Whether a failed send means the watchdog's end is gone (it died, or closed the socket): nothing sent after it
    /// would be read. Anything else (the kernel short of memory) may pass, and what waits is sent again later.
    public static func peerIsGone(_ failure: SocketError) -> Bool {
        [EPIPE, ECONNRESET, ENOTCONN, EBADF].contains(failure.code)
    }

    /// A failure `MessageSocketBox.attempt` said to log: once when the watchdog is gone (what the engine sends after that
    /// goes nowhere, quietly: a worker's events are in its own log), once per run of other failures.
    private func logFailure(_ failure: SocketError) {
        if Self.peerIsGone(failure) {
            logger.error("cannot send to the watchdog: \(failure); sending it nothing more")
        } else {
            logger.error("cannot send to the watchdog: \(failure); what waits is sent again when the socket takes it")
        }
    }

    /// Before the process exits: sends what waits, waiting up to `milliseconds` for the watchdog to read it.
    /// A send that fails ends it: the watchdog is gone (a broken pipe) and will read nothing more.
    public func finish(milliseconds: Int32) {
        let deadline = monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        while hasOutgoing, monotonicNanoseconds() < deadline {
            guard flush(), hasOutgoing else { return }
            let fd = socket.withLock { $0.socket.fd }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 50)
        }
    }

    /// Everything the worker owns now; the watchdog keeps the last one across restarts.
    public func report(_ state: WorkerState) { send(.state(state)) }

    /// A state change or other happening, for the watchdog's log.
    public func event(_ summary: String) { send(.event(WorkerEvent(summary: summary))) }
}

/// Makes the engine for a role; `vigild` passes one that knows every engine module.
public typealias WorkerEngineFactory = @Sendable (WorkerRole, WorkerReporter, Logger) -> WorkerEngine

/// A `MessageSocket` that only `WorkerReporter`'s mutex hands out: `MessageSocket` is a class with mutable frame
/// state, safe to share because every use is under that one lock.
struct MessageSocketBox: @unchecked Sendable {
    let socket: MessageSocket
    /// The watchdog's end is gone: nothing more is sent, and nothing waits to be.
    private(set) var broken = false
    /// The last send failed otherwise, and was logged: the next failures are not, until a send succeeds.
    private var failing = false
    init(_ socket: MessageSocket) { self.socket = socket }

    /// Runs a send on the socket, unless the watchdog is gone; whether it succeeded, and its failure when that is
    /// to be logged (the first after the watchdog went, or the first of a run of other failures).
    mutating func attempt(
        _ send: (MessageSocket) throws(SocketError) -> Void
    ) -> (succeeded: Bool, failure: SocketError?) {
        guard !broken else { return (false, nil) }
        do throws(SocketError) {
            try send(socket)
            failing = false
            return (true, nil)
        } catch {
            if WorkerReporter.peerIsGone(error) {
                broken = true
                socket.discardOutgoing()
                return (false, error)
            }
            defer { failing = true }
            return (false, failing ? nil : error)
        }
    }
}

/// An engine's liveness as the heartbeat answers report it: when its loop last made progress, and how late its
/// loop ran the runtime's beacons. Lock-free; written by the engine's loop (and long work on it), read by the
/// worker's main thread.
public final class WorkerProgress: Sendable {
    private let progressAt = Atomic<Int64>(0)
    private let maxLag = Atomic<Int64>(0)
    /// The kernel's id of the thread that ran the last beacon: the engine's loop, whose scheduling the watchdog reads
    /// to tell a starved loop from a stuck one.
    private let loopThread = Atomic<Int32>(0)
    /// When the runtime last handed the loop a beacon: the loop is behind only from then. A loop that was given
    /// nothing (its worker's main thread was starved of CPU, and sent no beacon) is idle, not stuck.
    private let beaconSentAt = Atomic<Int64>(0)

    public init() {
        progressAt.store(monotonicNanoseconds(), ordering: .relaxed)
    }

    /// Long work that runs on purpose marks progress every few thousand items, so it is not taken for a hang.
    public func mark() {
        progressAt.store(monotonicNanoseconds(), ordering: .relaxed)
    }

    /// The runtime hands the engine's loop a beacon now (`sentAt`).
    public func beaconSent(at sentAt: Int64) {
        beaconSentAt.store(sentAt, ordering: .relaxed)
    }

    /// A beacon sent at `sentAt` ran on the engine's loop now; returns how late, in nanoseconds.
    @discardableResult
    public func beaconRan(sentAt: Int64) -> Int64 {
        let now = monotonicNanoseconds()
        progressAt.store(now, ordering: .relaxed)
        loopThread.store(cvigil_gettid(), ordering: .relaxed)
        let lag = now - sentAt
        var current = maxLag.load(ordering: .relaxed)
        while lag > current {
            let (exchanged, original) = maxLag.compareExchange(
                expected: current, desired: lag, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        return lag
    }

    /// The answer to ping `sequence`; starts a new loop-lag interval. Its `progressAt` is the loop's last progress,
    /// or the last beacon's hand-over when that is later: a loop that ran every beacon it was given is not behind,
    /// however long the runtime went without sending one.
    public func heartbeat(sequence: UInt64) -> WorkerHeartbeat {
        WorkerHeartbeat(
            sequence: sequence, answeredAt: monotonicNanoseconds(),
            progressAt: max(progressAt.load(ordering: .relaxed), beaconSentAt.load(ordering: .relaxed)),
            maxLoopLag: maxLag.exchange(0, ordering: .relaxed), loopThread: loopThread.load(ordering: .relaxed))
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the host, so a worker's stamps mean the same to
/// the watchdog.
public func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
