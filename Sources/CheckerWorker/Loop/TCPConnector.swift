import CVigilShim
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// TCP_CHECK's lean path, on the check loop: `socket` (non-blocking, SO_LINGER 0), `connect`, one `epoll_ctl`,
/// and `close` when the kernel says the connection is up or refused, or when `connect_timeout` passes. No channel,
/// no promise, no closure per check: one handler serves every socket, per-check state lives in a table indexed by
/// descriptor, and the deadlines in a heap behind one loop timer.
///
/// The reset on close (SO_LINGER 0) is what HAProxy's checks do too: the real server sees an accepted connection
/// closed at once, and the director keeps no TIME_WAIT socket, which at thousands of checks a second would
/// exhaust its local ports (each real server address offers about 28,000).
final class TCPConnector {
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
    private var armed: (deadline: UInt64, timer: TimerID)?
    private var generation: UInt64 = 0
    private lazy var handler: CheckLoop.Handler = { [unowned self] fd, events in ready(fd, events) }
    /// Connects in flight.
    private(set) var inFlight = 0

    init(loop: CheckLoop) {
        self.loop = loop
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
            guard loop.watch(socket.fd, events: UInt32(EPOLLOUT.rawValue), handler) else {
                let fault = SocketFault(errno: errno, stage: .socket)
                close(socket.fd)
                return finish(waiter, fault.outcome(label: plan.label, timeout: plan.timeoutText))
            }
            generation &+= 1
            let index = Int(socket.fd)
            if index >= pending.count { pending += [Pending?](repeating: nil, count: index + 1 - pending.count) }
            pending[index] = Pending(generation: generation, plan: plan, waiter: waiter)
            inFlight += 1
            let deadline = loop.now.uptimeNanoseconds + plan.timeout
            deadlines.push(Deadline(deadline: deadline, fd: socket.fd, generation: generation))
            arm()
        }
    }

    /// The kernel says the connect finished: up (writable) or failed (error/hang-up).
    private func ready(_ fd: Int32, _ events: UInt32) {
        guard let entry = take(fd) else { return }
        let failed = events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0
        let code = failed ? SocketFault.pendingError(fd) : 0
        loop.unwatch(fd, closing: true)
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

    private func arm() {
        guard let first = deadlines.top else { return }
        if let armed, armed.deadline <= first.deadline { return }
        if let armed { loop.cancel(armed.timer) }
        armed = (first.deadline, loop.at(first.deadline) { [unowned self] in expire() })
    }

    private func expire() {
        armed = nil
        let now = loop.now.uptimeNanoseconds
        while let first = deadlines.top, first.deadline <= now {
            deadlines.pop()
            let index = Int(first.fd)
            guard index < pending.count, pending[index]?.generation == first.generation, let entry = take(first.fd)
            else { continue }
            // A connect that completed in this same turn was handled before the timers ran (the loop reads
            // descriptors first): this one really did not answer in time.
            loop.unwatch(first.fd, closing: true)
            close(first.fd)
            finish(entry.waiter, .failure("\(entry.plan.label): timed out after \(entry.plan.timeoutText)"))
        }
        arm()
    }
}
