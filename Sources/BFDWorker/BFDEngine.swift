import Config
import Logging
import NIOCore
import NIOPosix
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The BFD worker's engine: every `bfd_instance` as a BFD session (RFC 5880 Asynchronous mode, RFC 5881 single
/// hop on UDP 3784, RFC 5883 multihop on 4784), on real sockets.
///
/// One single-threaded NIO event loop runs `BFDEngineCore` (sessions, demultiplexing, reports) and its timers;
/// `BFDReceiver`'s thread waits on the listeners and hands what arrives to that loop. Every `WorkerEngine` call
/// arrives through `execute`, so everything below runs on the loop.
///
/// **How a session's state reaches its trackers.** A session going Down must move a VRRP instance or fail a
/// `BFD_CHECK` within a few milliseconds of its detection time. The watchdog's relay (a worker's report, decoded
/// by the watchdog, re-encoded and sent on as `peerState`, as the VRRP worker's state reaches the checker) puts
/// a third process and its loop on that path: whatever the watchdog is doing (a reload reading a large file, a
/// status request, a dump) delays the event, and each extra process to wake costs a scheduling delay on a loaded
/// machine. So the BFD worker writes to its trackers directly: the watchdog makes one `SOCK_SEQPACKET` socketpair
/// per tracker role when it starts and hands its ends to every incarnation of the workers (`--bfd-channel`); it
/// keeps both ends open itself, so the channel survives either side's restart (what is sent while a tracker is
/// down waits in the socket). The watchdog stays the keeper of the last state: a (re)started tracker gets the BFD
/// worker's last report in its configuration, and takes whichever report of a session is newest (`since`, see
/// `BFDSessionTable`).
///
/// Measured (2026-11, this 2-core machine shared with other builds, load 5-7; a session to FRR's bfdd at 3 × 50 ms
/// stopped and resumed 16 times; from the session's change to the VRRP worker's engine loop; the relay was built
/// for the measurement and sent the same report as `peerState`): with the watchdog idle, the channel took 1.3 ms
/// median (p90 4.1, max 5.3) and the relay 1.9 ms (p90 5.3, max 5.8); with the watchdog checking a 12,000-line
/// file in a loop (`vigilctl reload --check`), the channel 0.8 ms (p90 2.5, max 10.8) and the relay 52 ms (p90 316,
/// max 609). The relay's cost is not its hop but its dependence on everything else the watchdog does.
///
/// `@unchecked Sendable` (the `WorkerEngine` protocol asks for `Sendable`): its mutable state (`channels`,
/// `pending`) is touched only on `loop`, which `apply`, `connect`, `dump`, `statistics` and `stop` assert
/// (`preconditionInEventLoop`), as the namespace suites that run the worker exercise.
public final class BFDEngine: WorkerEngine, @unchecked Sendable {
    /// How soon a channel that could not take a message (its tracker not reading) is sent every session again.
    static let channelRetry = TimeAmount.milliseconds(100)

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: EventLoop
    private let reporter: WorkerReporter
    private let logger: Logger
    private let receiver: BFDReceiver
    private let system: LinuxBFDSystem
    private let core: BFDEngineCore<LinuxBFDSystem>
    /// The direct channels to the trackers, by their role.
    private var channels: [WorkerRole: MessageSocket] = [:]
    /// Channels whose last message was refused: every session goes again at the next retry.
    private var pending: Set<WorkerRole> = []
    private var retry: Scheduled<Void>?

    public init(reporter: WorkerReporter, logger: Logger) {
        self.reporter = reporter
        self.logger = logger
        loop = group.next()
        receiver = BFDReceiver()
        system = LinuxBFDSystem(loop: loop, logger: logger, receiver: receiver)
        core = BFDEngineCore(system: system)
        core.onReport = { [reporter] in reporter.report($0) }
        core.onEvent = { [reporter, logger] in
            logger.info("\($0)")
            reporter.event($0)
        }
        core.onLog = { [logger] in logger.info("\($0)") }
        core.onTrackers = { [unowned self] vrrp, checker in
            send(vrrp, to: .vrrp)
            send(checker, to: .checker)
        }
        let loop = loop
        system.onTimer = { [core] timer, session in core.timerFired(timer, session: session) }
        let progress = reporter.progress
        receiver.onDatagrams { [core, loop] datagrams in
            loop.execute {
                for datagram in datagrams { core.receive(datagram) }
                // A flood of packets queues batches ahead of the runtime's beacon: each batch is progress.
                progress.mark()
            }
        }
    }

    public func execute(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    public func connect(peers: [WorkerRole: Int32]) {
        loop.preconditionInEventLoop()
        for (role, fd) in peers where role == .vrrp || role == .checker {
            channels[role] = MessageSocket(fd: fd)
        }
    }

    public func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        loop.preconditionInEventLoop()
        core.apply(configuration, isReload: isReload)
        logger.info("configured: \(core.order.count) BFD sessions\(isReload ? " (reload)" : "")")
    }

    /// Sends `sessions` to the tracker `role` without blocking; a refused message marks the channel for a full
    /// resend.
    private func send(_ sessions: [BFDSessionReport], to role: WorkerRole) {
        guard let channel = channels[role], !sessions.isEmpty || pending.contains(role) else { return }
        let all = pending.contains(role) ? core.reports.filter { report in isTracked(report, by: role) } : sessions
        do {
            try channel.send(BFDChannelMessage(sentAt: monotonicNanoseconds(), sessions: all), timeoutMilliseconds: 0)
            pending.remove(role)
        } catch {
            if pending.insert(role).inserted {
                logger.warning("BFD channel to the \(role) worker: \(error); sending every session again shortly")
            }
            scheduleRetry()
        }
    }

    private func isTracked(_ report: BFDSessionReport, by role: WorkerRole) -> Bool {
        guard let session = core.sessions[report.name] else { return false }
        return role == .vrrp ? session.configuration.notifiesVRRP : session.configuration.notifiesChecker
    }

    private func scheduleRetry() {
        guard retry == nil else { return }
        retry = loop.scheduleTask(in: Self.channelRetry) { [unowned self] in
            retry = nil
            for role in pending { send([], to: role) }
        }
    }

    public func dump() -> String {
        loop.preconditionInEventLoop()
        return core.dumpText
    }

    public func statistics() -> String {
        loop.preconditionInEventLoop()
        return core.statisticsText
    }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        loop.preconditionInEventLoop()
        retry?.cancel()
        core.stop()
        receiver.stop()
        done()
    }
}
