import CVigilShim
import Config
import Logging
import Notifier
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The worker side of supervision, shared by the VRRP and checker workers: hello, configuration,
/// heartbeats, state reports and commands over the inherited IPC socket.
///
/// The main thread polls the socket and the signals and answers heartbeats itself, reporting the engine's
/// `WorkerProgress`; every quarter heartbeat it sends a beacon through the engine's loop, which marks progress
/// when it runs (and measures loop lag). Everything else is handed to the engine's loop, in order. A large
/// message (a configuration) is decoded on the engine's loop too, marking progress as it goes, so the main thread
/// never stops answering and a slow decode is not taken for a hang.
public enum WorkerRuntime {
    /// Messages up to this size are decoded on the main thread; larger ones on the engine's loop.
    static let mainThreadDecodeLimit = 16 * 1024

    /// Runs a worker until the watchdog tells it to stop or goes away; never returns.
    /// - Parameters:
    ///   - fd: the inherited end of the watchdog's socketpair.
    ///   - parentPID: the watchdog's pid; the worker exits at once if it is already gone.
    ///   - makeEngine: builds the role's engine (`vigild` knows every engine module).
    public static func run(
        role: WorkerRole, fd: Int32, parentPID: pid_t, options: DaemonOptions, makeEngine: WorkerEngineFactory
    ) -> Never {
        // Blocked before any thread starts (the log writer's first): a process-directed signal is delivered to a
        // thread that does not block it, and SIGXCPU's default action on such a thread ends the whole worker.
        // SIGXCPU: a real-time worker passed half its RLIMIT_RTTIME (logged; the kernel kills at the limit).
        let parentDeath = cvigil_parent_death_signal()
        let signalDescriptor = Result { () throws(WatchdogError) -> Int32 in
            try Syscalls.signalDescriptor([SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGXCPU, parentDeath])
        }
        // The parent-death signal is a signal of its own, not SIGTERM: the kernel sends it when the watchdog's thread
        // that spawned this worker exits, and when vigild is SIGKILLed that thread may go before the others, so the
        // worker is first handed to a sibling thread and getppid() still names the watchdog. Only this signal tells
        // the watchdog's death (withdraw what it owned too) from an operator's SIGTERM. Asked for after the signals
        // are blocked, then the parent checked: it may have died before the prctl.
        _ = cvigil_set_parent_death_signal(parentDeath)
        if getppid() != parentPID { exit(0) }
        DaemonLogging.bootstrap(options)
        let logger = Logger(label: "\(role)-worker")
        // Before any thread starts (the engine's), so they all inherit it; before capabilities are dropped.
        options.processSettings?.apply(logger: logger)
        do {
            let kept = try WorkerPrivileges.dropToWorkerSet(keepingAlso: options.processSettings?.capabilities ?? [])
            logger.debug("capabilities kept: \(kept.isEmpty ? "none" : kept.joined(separator: ", "))")
        } catch {
            logger.error("cannot drop capabilities: \(error)")
            exit(WorkerExitCode.missingPermission)
        }
        let signals: Int32
        switch signalDescriptor {
        case .success(let fd): signals = fd
        case .failure(let error):
            logger.error("\(error)")
            exit(WorkerExitCode.fatal)
        }
        let socket = MessageSocket(fd: fd)
        let reporter = WorkerReporter(socket: socket, logger: logger)
        let engine = makeEngine(role, reporter, logger)
        var worker = WorkerLoop(
            role: role, socket: socket, reporter: reporter, engine: engine, logger: logger, parentPID: parentPID,
            releaseOnStop: role == .vrrp ? !options.dontReleaseVRRP : !options.dontReleaseIPVS)
        #if DEBUG
            // Fault injection for the supervision tests (debug builds only): a worker that finds the file named by
            // VIGIL_DEBUG_STOP_BEFORE_HELLO removes it and stops itself before its hello, once.
            if let path = getenv("VIGIL_DEBUG_STOP_BEFORE_HELLO"), unlink(path) == 0 { raise(SIGSTOP) }
        #endif
        // The BFD worker writes to its trackers' channels from its engine; a tracker's channel is read here.
        var bfdChannel = options.peerChannels[.bfd].map { BFDChannelReader(socket: MessageSocket(fd: $0)) }
        if role == .bfd {
            let peers = options.peerChannels
            engine.execute { engine.connect(peers: peers) }
        }
        reporter.send(.hello(WorkerHello(role: role, pid: getpid(), vigilVersion: vigilVersion)))
        let beacon = Beacon(period: max(options.heartbeatInterval / 4, .milliseconds(5)).nanoseconds)
        let settings = options.processSettings ?? WorkerProcessSettings()
        var autoPriority = AutoPriority(
            maximum: settings.maxAutoPriority, minimumDelayMicroseconds: settings.minAutoPriorityDelay,
            current: settings.realtimePriority ?? 0)
        while true {
            // What the engine could not send at once (the watchdog behind) goes out when the socket is writable.
            let write = reporter.hasOutgoing ? Int16(POLLOUT) : 0
            var descriptors = [
                pollfd(fd: fd, events: Int16(POLLIN) | write, revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            if let bfdChannel {
                descriptors.append(pollfd(fd: bfdChannel.socket.fd, events: Int16(POLLIN), revents: 0))
            }
            Syscalls.poll(&descriptors, timeoutMilliseconds: beacon.millisecondsUntilDue())
            if descriptors[0].revents & Int16(POLLOUT) != 0 { reporter.flush() }
            if let channel = bfdChannel, descriptors.count > 2, descriptors[2].revents != 0,
                !channel.drain(into: engine, progress: reporter.progress, logger: logger)
            {
                bfdChannel = nil
            }
            beacon.sendIfDue(through: engine, progress: reporter.progress)
            if worker.settledTrim.takeDue(now: monotonicNanoseconds()) { worker.trimSettled() }
            if let lateness = beacon.takeLateness(), let priority = autoPriority.loopRan(late: lateness) {
                logger.warning(
                    .init(
                        stringLiteral: "the loop ran \(lateness / 1_000_000) ms late (min_auto_priority_delay "
                            + "\(settings.minAutoPriorityDelay / 1_000) ms): raising the worker to SCHED_RR priority "
                            + "\(priority) (max_auto_priority \(settings.maxAutoPriority))"))
                settings.raiseThreads(to: priority, logger: logger)
            }
            let received = Syscalls.readSignals(signals)
            if received.contains(SIGXCPU) {
                logger.warning("SIGXCPU: the worker used half its real-time CPU limit (rlimit_rttime) without blocking")
            }
            if received.contains(parentDeath) {
                logger.info("the watchdog (pid \(parentPID)) died; stopping")
                worker.stop(release: worker.releaseOnStop, reply: nil, watchdogGone: true)
            }
            for signal in received where signal == SIGTERM || signal == SIGINT {
                // A signal from outside: stop as `vigild` was told to at start (`-V` / `-I` keep VIPs and rules).
                logger.info("stopping on signal \(signal)")
                worker.stop(release: worker.releaseOnStop, reply: nil)
            }
            if descriptors[0].revents & ~Int16(POLLOUT) != 0 {
                worker.drain()
            }
        }
    }
}

/// When a worker trims once more after a (re)load (`MemoryTrim.trimSettled`), `MemoryTrim.settleDelay` after that
/// load's trim: armed on the engine's loop, taken by the runtime's main loop (which wakes at least once per beacon
/// period). A reload before it is due moves it on.
final class SettledTrim: Sendable {
    private let due = Atomic<Int64>(0)

    func arm() { due.store(monotonicNanoseconds() + MemoryTrim.settleDelay, ordering: .relaxed) }

    /// True once per arming, when it is due.
    func takeDue(now: Int64) -> Bool {
        let at = due.load(ordering: .relaxed)
        guard at != 0, now >= at else { return false }
        return due.compareExchange(expected: at, desired: 0, ordering: .relaxed).exchanged
    }
}

/// The runtime's beacon: one closure at a time through the engine's loop, every `period` nanoseconds. While one
/// is waiting for the loop no other is sent, so a stuck loop does not pile them up.
final class Beacon: Sendable {
    let period: Int64
    private let outstanding = Atomic<Bool>(false)
    private let nextDue = Atomic<Int64>(0)
    /// How late the last beacon ran, in nanoseconds; −1: taken already.
    private let lateness = Atomic<Int64>(-1)

    init(period: Int64) {
        self.period = period
    }

    func millisecondsUntilDue() -> Int32 {
        let left = nextDue.load(ordering: .relaxed) - monotonicNanoseconds()
        return Int32(clamping: max(0, (left + 999_999) / 1_000_000))
    }

    func sendIfDue(through engine: any WorkerEngine, progress: WorkerProgress) {
        let now = monotonicNanoseconds()
        guard now >= nextDue.load(ordering: .relaxed) else { return }
        nextDue.store(now + period, ordering: .relaxed)
        guard !outstanding.exchange(true, ordering: .acquiring) else { return }
        progress.beaconSent(at: now)
        engine.execute { [self] in
            lateness.store(progress.beaconRan(sentAt: now), ordering: .relaxed)
            outstanding.store(false, ordering: .releasing)
        }
    }

    /// How late the engine's loop ran the last beacon, once per beacon.
    func takeLateness() -> Int64? {
        let value = lateness.exchange(-1, ordering: .relaxed)
        return value < 0 ? nil : value
    }
}

/// One worker's message handling, on the main thread; the work itself is handed to the engine's loop.
struct WorkerLoop {
    let role: WorkerRole
    let socket: MessageSocket
    let reporter: WorkerReporter
    let engine: WorkerEngine
    let logger: Logger
    /// The watchdog's pid: a stop after it is gone (killed, crashed) tells the engine, which then also withdraws
    /// what the watchdog owned for it.
    let parentPID: pid_t
    /// What a stop the watchdog did not ask for (a signal, the watchdog's death) does with VIPs and rules: release
    /// them, unless `vigild` was started with `-V` / `-I`.
    let releaseOnStop: Bool
    var configured = false
    var stopping = false
    /// The configuration applied last and how many the watchdog has sent, on the engine's loop.
    let held = HeldConfiguration()
    /// When to trim once more after the last (re)load's trim.
    let settledTrim = SettledTrim()

    init(
        role: WorkerRole, socket: MessageSocket, reporter: WorkerReporter, engine: WorkerEngine, logger: Logger,
        parentPID: pid_t, releaseOnStop: Bool
    ) {
        self.releaseOnStop = releaseOnStop
        self.role = role
        self.socket = socket
        self.reporter = reporter
        self.engine = engine
        self.logger = logger
        self.parentPID = parentPID
    }

    /// Runs `body` on the engine's loop and marks progress when it is done: a loop working through a backlog of
    /// tasks makes progress even while the beacon waits behind them.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        let progress = reporter.progress
        engine.execute {
            body()
            progress.mark()
        }
    }

    mutating func drain() {
        while true {
            switch socket.receivePayload() {
            case .message(let payload): receive(payload)
            case .malformed(let why): logger.warning("dropped a malformed message from the watchdog: \(why)")
            case .wouldBlock: return
            case .closed:
                // The watchdog is gone (its parent-death signal comes too); stop as configured.
                // Said once: the socket reads as closed at every turn until the process exits.
                if !stopping { logger.info("the watchdog closed the IPC socket; stopping") }
                stop(release: releaseOnStop, reply: nil, watchdogGone: true)
                return
            }
        }
    }

    /// Decodes a small message here and handles it; hands a large one (a configuration) to the engine's loop,
    /// which decodes it marking progress.
    mutating func receive(_ payload: [UInt8]) {
        guard payload.count > WorkerRuntime.mainThreadDecodeLimit else {
            do {
                handle(try MessageCodec.decode(WorkerMessage.self, from: payload))
            } catch {
                socket.countMalformed()
                logger.warning("dropped a malformed message from the watchdog: \(error)")
            }
            return
        }
        let isReload = configured
        if ["configure", "reconfigure"].contains(MessageCodec.caseName(of: payload)) { configured = true }
        let engine = engine
        let logger = logger
        let progress = reporter.progress
        let held = held
        let settledTrim = settledTrim
        onLoop {
            let message: WorkerMessage
            let decodeStart = monotonicNanoseconds()
            do {
                message = try MessageCodec.decode(WorkerMessage.self, from: payload, progress: { progress.mark() })
            } catch {
                logger.warning("dropped a malformed message from the watchdog: \(error)")
                return
            }
            progress.mark()
            logger.debug(
                "decoded a \(payload.count)-byte message in \((monotonicNanoseconds() - decodeStart) / 1_000_000) ms")
            switch message {
            case .configure, .reconfigure:
                Self.configure(
                    message, isReload: isReload, held: held, engine: engine, logger: logger,
                    settledTrim: settledTrim, progress: { progress.mark() })
            case .peerState(let state): engine.peerStateChanged(state)
            default: logger.warning("unexpected large message from the watchdog; ignored")
            }
        }
    }

    /// On the engine's loop: applies a whole configuration, or rebuilds one from a change of the one held. A change
    /// that does not fit what this worker holds is not guessed at: the worker exits, and the watchdog restarts it
    /// with the whole configuration (keeping VIPs and rules, as after any restart).
    static func configure(
        _ message: WorkerMessage, isReload: Bool, held: HeldConfiguration, engine: any WorkerEngine, logger: Logger,
        settledTrim: SettledTrim, progress: @escaping @Sendable () -> Void
    ) {
        var configuration: WorkerConfiguration
        switch message {
        case .configure(let whole): configuration = whole
        case .reconfigure(let change):
            guard let (count, last) = held.current, count == change.sequence, let rebuilt = change.applied(to: last)
            else {
                logger.error(
                    .init(
                        stringLiteral:
                            "cannot apply configuration change \(change.sequence): this worker holds "
                            + "\(held.current.map { "\($0.count)" } ?? "no") configurations; exiting to be restarted with "
                            + "the whole configuration"))
                exit(1)
            }
            configuration = rebuilt
        default: return
        }
        // Decoded lists grew one element at a time; the worker holds this configuration until the next.
        configuration.lvs?.dropSpareCapacity()
        // Held for the next change to apply to, without a successor's saved state.
        held.store(configuration.withoutSavedState)
        let applyStart = monotonicNanoseconds()
        engine.apply(configuration, isReload: isReload)
        logger.debug("applied the configuration in \((monotonicNanoseconds() - applyStart) / 1_000_000) ms")
        // The checker worker gives back the code start-up alone ran, not its heap (MemoryTrim.trim's `heap`); the
        // code mapped again while it runs is what its steady state uses: vigild's text resident went from 6.3 to
        // 3.4 MiB for 1,000 × 10 TCP_CHECKs in the kernel lab. After the first IPVS programming, not before it: the
        // trim took ≈ 0.1 s under emulation, and the programming's code would have been faulted in again.
        engine.afterApply {
            // The trim reads this process's mappings and gives them back, a task of its own after the last write.
            progress()
            // Trimmed before the log call, not inside its message: a message is built only at a level that is written.
            Self.log(MemoryTrim.trim(), "after the configuration", logger: logger)
            settledTrim.arm()
        }
    }

    /// `MemoryTrim.trimSettled` on the engine's loop, as the (re)load's trim ran: what the first transitions, their
    /// announcements and the first reports ran once goes back too.
    func trimSettled() {
        let logger = logger
        onLoop { Self.log(MemoryTrim.trimSettled(), "once settled", logger: logger) }
    }

    /// Says what a trim gave back (`when`: after what) and whether its lock failed.
    static func log(_ trimmed: MemoryTrim.Report, _ when: String, logger: Logger) {
        logger.info("memory given back \(when): \(trimmed)")
        if let error = trimmed.lockError {
            logger.error("cannot lock the process in memory (no_swap): \(String(cString: strerror(error)))")
        }
    }

    /// Stops the engine once; the process exits when it is done (or after 3 s if it does not finish).
    /// - Parameter watchdogGone: the watchdog died (its parent-death signal) or closed its end of the socket; its
    ///   death may close the socket before the kernel reparents this process, so `getppid()` may still name it.
    ///   The engine then also withdraws what the watchdog owned for it (the anycast routes), whatever `release`
    ///   says: the watchdog withdraws them at every stop of its own, `-I` or not.
    mutating func stop(release: Bool, reply: UInt32?, watchdogGone: Bool = false) {
        guard !stopping else { return }
        stopping = true
        if watchdogGone || getppid() != parentPID {
            logger.notice("the watchdog (pid \(parentPID)) is gone; withdrawing what it owned for this worker")
            engine.watchdogGone()
        }
        let engine = engine
        let reporter = reporter
        let logger = logger
        engine.execute {
            engine.stop(release: release) {
                if let reply { reporter.send(.ack(id: reply, ok: true, detail: "stopped")) }
                logger.info(release ? "stopped; released what this worker owned" : "stopped; left VIPs and rules")
                // The last report and the answer must reach the watchdog before the process goes.
                reporter.finish(milliseconds: 1000)
                exit(0)
            }
        }
        Self.exitAfterThreeSeconds()
    }

    /// A last resort for an engine that never calls `done`: the watchdog would kill it anyway.
    static func exitAfterThreeSeconds() {
        var thread = pthread_t()
        _ = pthread_create(
            &thread, nil,
            { _ in
                sleep(3)
                _exit(WorkerExitCode.fatal)
            }, nil)
        _ = pthread_detach(thread)
    }

    mutating func handle(_ message: WorkerMessage) {
        let engine = engine
        let reporter = reporter
        switch message {
        case .configure, .reconfigure:
            let isReload = configured
            configured = true
            let held = held
            let logger = logger
            let progress = reporter.progress
            let settledTrim = settledTrim
            onLoop {
                Self.configure(
                    message, isReload: isReload, held: held, engine: engine, logger: logger,
                    settledTrim: settledTrim, progress: { progress.mark() })
            }
        case .ping(let sequence):
            // Answered here, not on the engine's loop: the answer carries the loop's progress instead.
            reporter.send(.pong(reporter.progress.heartbeat(sequence: sequence)))
        case .command(let id, .stop(let release)):
            logger.info(release ? "stopping; releasing what this worker owns" : "stopping; leaving VIPs and rules")
            stop(release: release, reply: id)
        case .command(let id, .dump):
            onLoop { reporter.send(.ack(id: id, ok: true, detail: engine.dump())) }
        case .command(let id, .statistics):
            onLoop { reporter.send(.ack(id: id, ok: true, detail: engine.statistics())) }
        case .command(let id, .reload):
            reporter.send(.ack(id: id, ok: true, detail: "reloading"))
        case .command(let id, .stall(let milliseconds, let slices)):
            stall(milliseconds: milliseconds, slices: slices, id: id)
        case .peerState(let state):
            onLoop { engine.peerStateChanged(state) }
        case .hello, .pong, .state, .stateChange, .event, .ack, .checkerStatistics, .ipvsStatistics:
            logger.warning("unexpected message from the watchdog; ignored")
        }
    }

    /// Fault injection for the supervision tests (debug builds only): keeps the engine's loop busy for
    /// `milliseconds`, in one task (`slices` 1: a loop stuck in a task) or in `slices` tasks one after the other (a
    /// loop at full CPU that still turns).
    func stall(milliseconds: Int, slices: Int, id: UInt32) {
        #if DEBUG
            let slices = max(1, slices)
            let each = Int64(milliseconds) * 1_000_000 / Int64(slices)
            for _ in 0..<slices {
                onLoop {
                    let end = monotonicNanoseconds() + each
                    while monotonicNanoseconds() < end {}
                }
            }
            reporter.send(.ack(id: id, ok: true, detail: "stalling \(milliseconds) ms in \(slices) tasks"))
        #else
            reporter.send(.ack(id: id, ok: false, detail: "stall is available in debug builds only"))
        #endif
    }
}

/// The configuration a worker applied last, and how many configurations (whole or changes) it has applied: what a
/// `reconfigure` is a change of. Touched on the engine's loop only; the lock makes that safe to state.
final class HeldConfiguration: Sendable {
    private let state = Mutex<(count: UInt64, last: WorkerConfiguration)?>(nil)

    var current: (count: UInt64, last: WorkerConfiguration)? { state.withLock { $0 } }

    func store(_ configuration: WorkerConfiguration) {
        state.withLock { $0 = (($0?.count ?? 0) + 1, configuration) }
    }
}
