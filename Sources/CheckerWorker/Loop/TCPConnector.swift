import CVigilShim
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// TCP_CHECK's lean path, on the check loop: `socket` (non-blocking, SO_LINGER 0), `connect`, one `epoll_ctl`,
/// and `close` when the kernel says the connection is up or refused, or when `connect_timeout` passes. No channel,
/// no promise, no closure per check: per-check state lives in a table indexed by descriptor, the deadlines in a
/// heap.
///
/// The sockets are in an epoll set of the connector's own, which the loop harvests once per tick (10 ms) while
/// connects are in flight, rather than waking for each: a thousand checks a second cost about a hundred wake-ups,
/// not two thousand. Outcomes are read at that resolution (a check's measured duration is at most a tick longer),
/// and the connections that completed are harvested before the deadlines of the same tick expire.
///
/// The reset on close (SO_LINGER 0) is what HAProxy's checks do too: the real server sees an accepted connection
/// closed at once, and the director keeps no TIME_WAIT socket, which at thousands of checks a second would
/// exhaust its local ports (each real server address offers about 28,000).
final class TCPConnector: TickPoller {
    /// Who waits for a check's outcome.
    enum Waiter {
        /// The engine's fast path: delivered to `sink` with this ticket.
        case ticket(CheckTicket)
        /// Anyone else (tests, `TCPProbe.run`).
        case promise(EventLoopPromise<ProbeOutcome>)
    }

    private struct Pending {
        var generation: UInt64
        var plan: SocketPlan
        var waiter: Waiter
    }

    let loop: CheckLoop
    private let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
    private let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: 256)
    /// The engine's outcomes for `.ticket` waiters.
    var sink: (CheckTicket, ProbeOutcome) -> Void = { _, _ in }
    private var pending: [Pending?] = []
    private struct Deadline: Comparable {
        var deadline: UInt64
        var fd: Int32
        var generation: UInt64
        static func < (a: Deadline, b: Deadline) -> Bool { a.deadline < b.deadline }
    }

    private var deadlines = MinHeap<Deadline>()
    private var generation: UInt64 = 0
    /// Connects in flight.
    private(set) var inFlight = 0

    init(loop: CheckLoop) {
        self.loop = loop
    }

    deinit {
        events.deallocate()
        close(epoll)
    }

    var hasWork: Bool { inFlight > 0 }

    /// Reads the connects that finished, then expires those whose deadline passed.
    func harvest() {
        while true {
            let count = Int(epoll_wait(epoll, events, 256, 0))
            for index in 0..<max(0, count) { ready(events[index].data.fd, events[index].events) }
            if count < 256 { break }
        }
        expire()
    }

    /// Starts one connect. Loop only.
    func start(_ plan: SocketPlan, _ waiter: Waiter) {
        switch plan.open(type: Int32(SOCK_STREAM.rawValue), linger: true) {
        case .failure(let fault):
            finish(waiter, fault.outcome(label: plan.label, timeout: plan.timeoutText))
        case .success(let socket) where socket.connected:
            close(socket.fd)
            finish(waiter, .success())
        case .success(let socket):
            var event = epoll_event(events: UInt32(EPOLLOUT.rawValue), data: epoll_data_t(fd: socket.fd))
            guard epoll_ctl(epoll, EPOLL_CTL_ADD, socket.fd, &event) == 0 else {
                let fault = SocketFault(errno: errno, stage: .socket)
                close(socket.fd)
                return finish(waiter, fault.outcome(label: plan.label, timeout: plan.timeoutText))
            }
            generation &+= 1
            let index = Int(socket.fd)
            if index >= pending.count { pending += [Pending?](repeating: nil, count: index + 1 - pending.count) }
            pending[index] = Pending(generation: generation, plan: plan, waiter: waiter)
            inFlight += 1
            let deadline = loop.turnTime + plan.timeout
            deadlines.push(Deadline(deadline: deadline, fd: socket.fd, generation: generation))
        }
    }

    /// The kernel says the connect finished: up (writable) or failed (error/hang-up).
    private func ready(_ fd: Int32, _ events: UInt32) {
        guard let entry = take(fd) else { return }
        let failed = events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0
        let code = failed ? SocketFault.pendingError(fd) : 0
        // Closing takes it out of the epoll set too.
        close(fd)
        if code == 0 && !failed {
            finish(entry.waiter, .success())
        } else {
            let fault = SocketFault(errno: code == 0 ? ECONNRESET : code, stage: .connect)
            finish(entry.waiter, .failure("\(entry.plan.label): \(fault.text(timeout: entry.plan.timeoutText))"))
        }
    }

    private func take(_ fd: Int32) -> Pending? {
        let index = Int(fd)
        guard index < pending.count, let entry = pending[index] else { return nil }
        pending[index] = nil
        inFlight -= 1
        return entry
    }

    private func finish(_ waiter: Waiter, _ outcome: ProbeOutcome) {
        switch waiter {
        case .ticket(let ticket): sink(ticket, outcome)
        case .promise(let promise): promise.succeed(outcome)
        }
    }

    // MARK: Deadlines

    private func expire() {
        let now = loop.turnTime
        while let first = deadlines.top, first.deadline <= now {
            deadlines.pop()
            let index = Int(first.fd)
            guard index < pending.count, pending[index]?.generation == first.generation, let entry = take(first.fd)
            else { continue }
            // A connect that completed by this tick was harvested before the deadlines: this one really did not
            // answer in time.
            close(first.fd)
            finish(entry.waiter, .failure("\(entry.plan.label): timed out after \(entry.plan.timeoutText)"))
        }
    }
}
