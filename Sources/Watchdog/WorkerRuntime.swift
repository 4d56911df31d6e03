import CVigilShim
import Config
import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The worker side of supervision, shared by the VRRP and checker workers: hello, configuration,
/// heartbeats, state reports and commands over the inherited IPC socket. The protocol engines plug
/// in later; until then the worker reports the configured instances and servers in their initial state.
public enum WorkerRuntime {
    /// Runs a worker until the watchdog tells it to stop or goes away; never returns.
    /// - Parameters:
    ///   - fd: the inherited end of the watchdog's socketpair.
    ///   - parentPID: the watchdog's pid; the worker exits at once if it is already gone.
    public static func run(role: WorkerRole, fd: Int32, parentPID: pid_t, options: DaemonOptions) -> Never {
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
        var worker = WorkerLoop(role: role, socket: socket, logger: logger)
        worker.send(.hello(WorkerHello(role: role, pid: getpid(), vigilVersion: vigilVersion)))
        while true {
            var descriptors = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
            ]
            Syscalls.poll(&descriptors, timeoutMilliseconds: -1)
            for signal in Syscalls.readSignals(signals) where signal == SIGTERM || signal == SIGINT {
                logger.info("stopping on signal \(signal)")
                exit(0)
            }
            if descriptors[0].revents != 0 {
                worker.drain()
            }
        }
    }
}

/// One worker's message handling.
struct WorkerLoop {
    let role: WorkerRole
    let socket: MessageSocket
    let logger: Logger
    var configuration: WorkerConfiguration?
    var state = WorkerState()

    init(role: WorkerRole, socket: MessageSocket, logger: Logger) {
        self.role = role
        self.socket = socket
        self.logger = logger
    }

    func send(_ message: WorkerMessage) {
        do {
            try socket.send(message)
        } catch {
            logger.error("cannot send to the watchdog: \(error)")
        }
    }

    mutating func drain() {
        while true {
            switch socket.receive(WorkerMessage.self) {
            case .message(let message): handle(message)
            case .malformed(let why): logger.warning("dropped a malformed message from the watchdog: \(why)")
            case .wouldBlock: return
            case .closed:
                logger.info("the watchdog closed the IPC socket; exiting")
                exit(0)
            }
        }
    }

    mutating func handle(_ message: WorkerMessage) {
        switch message {
        case .configure(let configuration):
            self.configuration = configuration
            state = Self.initialState(configuration)
            logger.info(
                "configured: \(state.vrrpInstances.count) VRRP instances, \(state.virtualServers.count) virtual servers"
            )
            send(.state(state))
        case .ping(let sequence):
            send(.pong(sequence: sequence))
        case .command(let id, .stop(let release)):
            logger.info(release ? "stopping; releasing what this worker owns" : "stopping; leaving VIPs and rules")
            send(.ack(id: id, ok: true, detail: "stopping"))
            exit(0)
        case .command(let id, .dump):
            send(.ack(id: id, ok: true, detail: Self.dump(state)))
        case .command(let id, .reload):
            send(.ack(id: id, ok: true, detail: "reloading"))
        case .hello, .pong, .state, .event, .ack:
            logger.warning("unexpected message from the watchdog; ignored")
        }
    }

    /// What the worker owns before its engine runs: every instance and server from the configuration,
    /// in the state the previous incarnation reported when there is one.
    static func initialState(_ configuration: WorkerConfiguration) -> WorkerState {
        let saved = configuration.savedState
        let instances = (configuration.vrrp?.instances ?? []).map { instance in
            saved?.vrrpInstances.first { $0.name == instance.name }
                ?? VRRPInstanceReport(name: instance.name, state: .initializing)
        }
        let servers = (configuration.lvs?.virtualServers ?? []).map { server in
            let name = VirtualServerNames.name(server.address)
            return saved?.virtualServers.first { $0.name == name }
                ?? VirtualServerReport(
                    name: name,
                    realServers: server.realServers.map {
                        RealServerReport(address: "\($0.address)\($0.port.map { " \($0)" } ?? "")")
                    })
        }
        return WorkerState(vrrpInstances: instances, virtualServers: servers)
    }

    static func dump(_ state: WorkerState) -> String {
        var lines: [String] = []
        for instance in state.vrrpInstances {
            lines.append("vrrp_instance \(instance.name) \(instance.state.rawValue) \(instance.heldAddresses)")
        }
        for server in state.virtualServers {
            lines.append("virtual_server \(server.name) \(server.health.rawValue)")
            for real in server.realServers { lines.append("  real_server \(real.address) \(real.health.rawValue)") }
        }
        return lines.joined(separator: "\n")
    }
}

/// Virtual servers as keepalived.conf writes them.
enum VirtualServerNames {
    static func name(_ address: VirtualServerAddress) -> String {
        switch address {
        case .endpoint(let ip, let port): "\(ip) \(port)"
        case .fwmark(let mark): "fwmark \(mark)"
        case .group(let group): "group \(group)"
        }
    }
}
