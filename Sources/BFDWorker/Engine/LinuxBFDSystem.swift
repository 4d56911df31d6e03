import Config
import Logging
import NIOCore
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel side of the BFD engine: listeners read by `BFDReceiver`'s thread, the sessions' sending sockets,
/// timers on the engine's event loop (NIO arms a timerfd: nanosecond deadlines, which 10 ms intervals need).
///
/// `@unchecked Sendable` so its timer closures (which NIO requires to be `@Sendable`) can reach it: every call
/// comes from the engine's loop and every timer fires there, which `schedule`, `cancel` and `send` assert
/// (`preconditionInEventLoop`), so its mutable state (`timers`, `senders`, `onTimer`) is never touched from two
/// threads.
final class LinuxBFDSystem: BFDSystem, @unchecked Sendable {
    typealias Instant = MonotonicInstant

    let loop: EventLoop
    let logger: Logger
    let receiver: BFDReceiver
    /// Called on the loop when a timer fires.
    var onTimer: (BFDTimer, String) -> Void = { _, _ in }
    private var timers: [String: Scheduled<Void>] = [:]
    private var senders: [String: BFDSocket] = [:]
    private var listeners: Set<String> = []
    private var generator = SystemRandomNumberGenerator()

    init(loop: EventLoop, logger: Logger, receiver: BFDReceiver) {
        self.loop = loop
        self.logger = logger
        self.receiver = receiver
    }

    var now: MonotonicInstant { .now }

    func monotonicNanoseconds(_ instant: MonotonicInstant) -> Int64 { instant.nanoseconds }

    func random() -> UInt64 { generator.next() }

    func listen(family: IPAddress.Family) -> Bool {
        var singleHop = listeners.contains("\(family)/\(BFDPort.singleHop)")
        for port in [BFDPort.singleHop, BFDPort.multihop] where !listeners.contains("\(family)/\(port)") {
            do {
                receiver.add(try BFDSocket.listener(family: family, port: port))
                listeners.insert("\(family)/\(port)")
                if port == BFDPort.singleHop { singleHop = true }
            } catch {
                logger.error("\(error)")
            }
        }
        return singleHop
    }

    func openSession(_ name: String, endpoint: BFDSessionEndpoint, preferredPort: UInt16?) -> UInt16? {
        loop.preconditionInEventLoop()
        senders[name] = nil
        do {
            let random = UInt16(truncatingIfNeeded: generator.next() % UInt64(BFDPort.sourceRange.count))
            let sender = try BFDSocket.sender(
                source: endpoint.source, family: endpoint.neighbor.family, ttl: endpoint.ttl,
                firstPort: preferredPort ?? BFDPort.sourceRange.lowerBound &+ random)
            senders[name] = sender
            return sender.port
        } catch {
            logger.error("bfd_instance \(name): \(error)")
            return nil
        }
    }

    func closeSession(_ name: String) {
        loop.preconditionInEventLoop()
        senders[name] = nil
    }

    func send(_ packet: [UInt8], session name: String, to neighbor: IPAddress, port: UInt16) -> Bool {
        loop.preconditionInEventLoop()
        guard let sender = senders[name] else { return false }
        if let code = sender.send(packet, to: neighbor, port: port) {
            logger.debug("bfd_instance \(name): send to \(neighbor) port \(port): \(String(cString: strerror(code)))")
            return false
        }
        return true
    }

    func schedule(_ timer: BFDTimer, session: String, at deadline: MonotonicInstant) {
        loop.preconditionInEventLoop()
        let key = "\(session)/\(timer.rawValue)"
        timers[key]?.cancel()
        // Relative to our CLOCK_MONOTONIC reading, so NIO's own clock source does not matter.
        let delay = max(deadline.nanoseconds - MonotonicInstant.now.nanoseconds, 0)
        timers[key] = loop.scheduleTask(in: .nanoseconds(delay)) { [weak self] in
            self?.timers[key] = nil
            self?.onTimer(timer, session)
        }
    }

    func cancel(_ timer: BFDTimer, session: String) {
        loop.preconditionInEventLoop()
        timers.removeValue(forKey: "\(session)/\(timer.rawValue)")?.cancel()
    }
}
