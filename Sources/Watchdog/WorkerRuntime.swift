import CVigilShim
import Config
import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The worker side of supervision, shared by the VRRP and checker workers: hello, configuration,
/// heartbeats, state reports and commands over the inherited IPC socket. The main thread polls the
/// socket and the signals; the role's `WorkerEngine` runs on its own event loop, and every message is
/// handed to it there (heartbeats included, so a wedged engine is noticed).
public enum WorkerRuntime {
    /// Runs a worker until the watchdog tells it to stop or goes away; never returns.
    /// - Parameters:
    ///   - fd: the inherited end of the watchdog's socketpair.
    ///   - parentPID: the watchdog's pid; the worker exits at once if it is already gone.
    ///   - makeEngine: builds the role's engine (`vigild` knows every engine module).
    public static func run(
        role: WorkerRole, fd: Int32, parentPID: pid_t, options: DaemonOptions, makeEngine: WorkerEngineFactory
    ) -> Never {
        // PR_SET_PDEATHSIG first, then check the parent: it may have died before the prctl.
        _ = cvigil_set_parent_death_signal(SIGTERM)
        if getppid() != parentPID { exit(0) }
        DaemonLogging.bootstrap(options)
        let logger = Logger(label: "\(role)-worker")
        do {
            let kept = try WorkerPrivileges.dropToWorkerSet()
            logger.debug("capabilities kept: \(kept.isEmpty ? "none" : kept.joined(separator: ", "))")
        } catch {
            logger.error("cannot drop capabilities: \(error)")
            exit(WorkerExitCode.missingPermission)
        }
        let signals: Int32
        do {
            signals = try Syscalls.signalDescriptor([SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2])
        } catch {
            logger.error("\(error)")
            exit(WorkerExitCode.fatal)
        }
        let socket = MessageSocket(fd: fd)
        let reporter = WorkerReporter(socket: socket, logger: logger)
        let engine = makeEngine(role, reporter, logger)
        var worker = WorkerLoop(role: role, socket: socket, reporter: reporter, engine: engine, logger: logger)
        reporter.send(.hello(WorkerHello(role: role, pid: getpid(), vigilVersion: vigilVersion)))
        while true {
            var descriptors = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            Syscalls.poll(&descriptors, timeoutMilliseconds: -1)
            for signal in Syscalls.readSignals(signals) where signal == SIGTERM || signal == SIGINT {
                // A signal from outside (or the watchdog's death through PR_SET_PDEATHSIG): stop as
                // `vigild` was told to at start (`-V` / `-I` keep VIPs and rules).
                let release = role == .vrrp ? !options.dontReleaseVRRP : !options.dontReleaseIPVS
                logger.info("stopping on signal \(signal)")
                worker.stop(release: release, reply: nil)
            }
            if descriptors[0].revents != 0 {
                worker.drain()
            }
        }
    }
}

/// One worker's message handling, on the main thread; the work itself is handed to the engine's loop.
struct WorkerLoop {
    let role: WorkerRole
    let socket: MessageSocket
    let reporter: WorkerReporter
    let engine: WorkerEngine
    let logger: Logger
    var configured = false
    var stopping = false

    init(role: WorkerRole, socket: MessageSocket, reporter: WorkerReporter, engine: WorkerEngine, logger: Logger) {
        self.role = role
        self.socket = socket
        self.reporter = reporter
        self.engine = engine
        self.logger = logger
    }

    mutating func drain() {
        while true {
            switch socket.receive(WorkerMessage.self) {
            case .message(let message): handle(message)
            case .malformed(let why): logger.warning("dropped a malformed message from the watchdog: \(why)")
            case .wouldBlock: return
            case .closed:
                // The watchdog is gone (PR_SET_PDEATHSIG also sends SIGTERM); stop as configured.
                logger.info("the watchdog closed the IPC socket; stopping")
                stop(release: true, reply: nil)
                return
            }
        }
    }

    /// Stops the engine once; the process exits when it is done (or after 3 s if it does not finish).
    mutating func stop(release: Bool, reply: UInt32?) {
        guard !stopping else { return }
        stopping = true
        let engine = engine
        let reporter = reporter
        let logger = logger
        engine.execute {
            engine.stop(release: release) {
                if let reply { reporter.send(.ack(id: reply, ok: true, detail: "stopped")) }
                logger.info(release ? "stopped; released what this worker owned" : "stopped; left VIPs and rules")
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
        case .configure(let configuration):
            let isReload = configured
            configured = true
            engine.execute { engine.apply(configuration, isReload: isReload) }
        case .ping(let sequence):
            engine.execute { reporter.send(.pong(sequence: sequence)) }
        case .command(let id, .stop(let release)):
            logger.info(release ? "stopping; releasing what this worker owns" : "stopping; leaving VIPs and rules")
            stop(release: release, reply: id)
        case .command(let id, .dump):
            engine.execute { reporter.send(.ack(id: id, ok: true, detail: engine.dump())) }
        case .command(let id, .statistics):
            engine.execute { reporter.send(.ack(id: id, ok: true, detail: engine.statistics())) }
        case .command(let id, .reload):
            reporter.send(.ack(id: id, ok: true, detail: "reloading"))
        case .peerState(let state):
            engine.execute { engine.peerStateChanged(state) }
        case .hello, .pong, .state, .event, .ack:
            logger.warning("unexpected message from the watchdog; ignored")
        }
    }
}
