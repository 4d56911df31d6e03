import ArgumentParser
import CheckerWorker
import Config
import Notifier
import VRRPWorker
import Watchdog
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `vigild`: keepalived's command line, Vigil's daemon.
@main
enum VigilDaemon {
    /// A worker's command line (the watchdog's `WorkerCommandLine`) and an operator's in the usual forms
    /// (`DaemonCommandLine`) are read without swift-argument-parser, whose model of the options cost half a process
    /// start under emulation; every other line goes to it.
    static func main() {
        // Every process (watchdog and re-executed workers) starts here, before it starts a thread.
        MemoryTrim.configureAllocator()
        MemoryTrim.protectsReadOnlyData.store(true, ordering: .relaxed)
        HugePages.disable()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let line = WorkerCommandLine.read(arguments) {
            VigilDaemonCommand.runWorker(line.role, fd: line.ipcFD, parentPID: line.parentPID, options: line.options)
        }
        if let options = DaemonCommandLine.read(arguments) { exit(VigilDaemonCommand.runDaemon(options)) }
        VigilDaemonCommand.main()
    }
}

/// keepalived's options and Vigil's own, and the hidden ones of a worker line `WorkerCommandLine.read` did not take.
struct VigilDaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigild",
        abstract: "Vigil: VRRP and LVS health checking, configured with keepalived.conf(5).",
        discussion: """
            Reads keepalived's configuration file as it is. Flags have keepalived's meanings.
            """
    )

    @Option(name: [.customShort("f"), .customLong("use-file")], help: "Configuration file.")
    var useFile: String = DefaultPaths.configFile

    @Flag(name: [.customShort("P"), .customLong("vrrp")], help: "Run only the VRRP part.")
    var vrrp = false

    @Flag(name: [.customShort("C"), .customLong("check")], help: "Run only the health-checker (LVS) part.")
    var check = false

    @Flag(name: [.customShort("n"), .customLong("dont-fork")], help: "Stay in the foreground.")
    var dontFork = false

    @Flag(name: [.customShort("l"), .customLong("log-console")], help: "Log to the console as well.")
    var logConsole = false

    @Flag(name: [.customShort("D"), .customLong("log-detail")], help: "Detailed log messages.")
    var logDetail = false

    @Option(name: [.customShort("S"), .customLong("log-facility")], help: "Syslog facility local0 to local7 (0-7).")
    var logFacility: Int = 0

    @Flag(
        name: [.customShort("t"), .customLong("config-test")],
        help: "Check the configuration file and exit: 0 when it has no error.")
    var configTest = false

    @Flag(
        name: .customLong("strict"),
        help: "With -t: warnings count as errors (exit 1), for CI pipelines.")
    var strict = false

    @Flag(
        name: .customLong("keywords"),
        help: "Print every keyword Vigil knows, its block and what it does in Vigil (Markdown), and exit.")
    var keywords = false

    @Flag(
        name: [.customShort("d"), .customLong("dump-conf")],
        help: "Print the resolved configuration (after includes, parameters and generators).")
    var dumpConf = false

    @Option(
        name: [.customShort("i"), .customLong("config-id")],
        help: "Config id for @id lines (default: the host name up to its first dot).")
    var configID: String?

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Parent pid file.")
    var pid: String = DefaultPaths.pidFile

    @Option(name: [.customShort("r"), .customLong("vrrp_pid")], help: "VRRP worker pid file.")
    var vrrpPid: String = DefaultPaths.vrrpPidFile

    @Option(name: [.customShort("c"), .customLong("checkers_pid")], help: "Checker worker pid file.")
    var checkersPid: String = DefaultPaths.checkersPidFile

    @Option(name: [.customShort("b"), .customLong("bfd_pid")], help: "BFD worker pid file.")
    var bfdPid: String = DefaultPaths.bfdPidFile

    @Flag(name: [.customShort("B"), .customLong("no_bfd")], help: "Do not run the BFD part.")
    var noBFD = false

    @Flag(name: [.customShort("V"), .customLong("dont-release-vrrp")], help: "Leave VIPs in place when stopping.")
    var dontReleaseVRRP = false

    @Flag(
        name: [.customShort("I"), .customLong("dont-release-ipvs")], help: "Leave IPVS rules in place when stopping.")
    var dontReleaseIPVS = false

    @Flag(
        name: .customLong("no-realtime"),
        help: ArgumentHelp(
            "Run the VRRP and BFD workers with the normal scheduler and unlocked memory when the file sets no "
                + "…_rt_priority or …_priority for them (by default they run SCHED_RR 1, memory locked)."))
    var noRealtime = false

    @Option(name: .customLong("control-socket"), help: "vigilctl's socket.")
    var controlSocket: String = DefaultPaths.controlSocket

    @Option(
        name: .customLong("metrics-listen"),
        help: ArgumentHelp(
            "Serve Prometheus metrics (/metrics), the status page (/) and /status.json over HTTP on ADDRESS:PORT "
                + "(127.0.0.1:9165, [::1]:9165); overrides metrics_listen in global_defs. Off unless given.",
            valueName: "address:port"))
    var metricsListen: ListenAddress?

    @Flag(name: [.customShort("v"), .customLong("version")], help: "Print the version and exit.")
    var version = false

    // Hidden: how the watchdog starts its workers and its detached self, and test tuning.
    @Option(name: .customLong("worker"), help: .hidden) var worker: WorkerRole?
    @Option(name: .customLong("ipc-fd"), help: .hidden) var ipcFD: Int32 = 3
    @Option(name: .customLong("parent-pid"), help: .hidden) var parentPID: Int32 = 0
    @Option(name: .customLong("bfd-channel"), help: .hidden) var bfdChannels: [String] = []
    @Flag(name: .customLong("detached"), help: .hidden) var detached = false
    @Option(name: .customLong("process-settings"), help: .hidden) var processSettings: String?
    @Option(
        name: .customLong("heartbeat-interval"),
        help: "Milliseconds between the watchdog's heartbeats to its workers (default 1000).")
    var heartbeatInterval: Int = 1000

    func validate() throws {
        guard DaemonOptions.logFacilities.contains(logFacility) else {
            throw ValidationError("-S/--log-facility takes 0 to 7 (local0 to local7), not \(logFacility)")
        }
        guard DaemonOptions.heartbeatMilliseconds.contains(heartbeatInterval) else {
            throw ValidationError("--heartbeat-interval takes 10 to 60000 milliseconds, not \(heartbeatInterval)")
        }
    }

    func run() throws {
        if version {
            print("Vigil \(vigilVersion) (keepalived.conf(5) as of keepalived 2.2.7)")
            return
        }
        if keywords {
            print(KeywordCatalog.markdown(), terminator: "")
            return
        }
        let options = try daemonOptions()
        if let worker { Self.runWorker(worker, fd: ipcFD, parentPID: parentPID, options: options) }
        throw ExitCode(Self.runDaemon(options))
    }

    /// What the options say, as the watchdog and the workers take them.
    func daemonOptions() throws -> DaemonOptions {
        var options = DaemonOptions()
        options.configFile = useFile
        options.vrrpOnly = vrrp
        options.checkOnly = check
        options.dontFork = dontFork
        options.logConsole = logConsole
        options.logDetail = logDetail
        options.logFacility = logFacility
        options.configTest = configTest
        options.strict = strict
        options.dumpConfig = dumpConf
        options.configID = configID
        options.pidFile = pid
        options.vrrpPidFile = vrrpPid
        options.checkersPidFile = checkersPid
        options.bfdPidFile = bfdPid
        options.noBFD = noBFD
        for channel in bfdChannels {
            if let (role, fd) = WorkerCommandLine.peerChannel(channel) { options.peerChannels[role] = fd }
        }
        options.controlSocket = controlSocket
        options.dontReleaseVRRP = dontReleaseVRRP
        options.noRealtime = noRealtime
        options.dontReleaseIPVS = dontReleaseIPVS
        options.heartbeatInterval = .milliseconds(heartbeatInterval)
        options.metricsListen = metricsListen
        options.detached = detached
        if let processSettings {
            guard let settings = WorkerProcessSettings(argument: processSettings) else {
                throw ValidationError("--process-settings: cannot read '\(processSettings)'")
            }
            options.processSettings = settings
        }
        return options
    }

    /// Checks the file (and stops there with -t or -d) or runs the daemon; the exit status. The file is read once:
    /// the check's parse is the daemon's (it was read twice, a second full parse on every start's path).
    static func runDaemon(_ options: DaemonOptions) -> Int32 {
        let host = hostName()
        let loaded = options.loadConfiguration(hostName: host)
        let status = ConfigTest.run(loaded, options, output: { print($0, terminator: "") }, errors: { printError($0) })
        if options.configTest || options.dumpConfig || status != 0 { return status }
        return Daemon.run(
            options, hostName: host, loaded: loaded, arguments: Array(CommandLine.arguments.dropFirst()),
            errors: { printError($0) }, startRules: StartRules.program)
    }

    /// Runs the worker for `role`; never returns.
    static func runWorker(_ role: WorkerRole, fd: Int32, parentPID: Int32, options: DaemonOptions) -> Never {
        // Before the worker drops CAP_SYS_ADMIN: the connector lives in the initial network namespace.
        if role == .vrrp { ProcessConnector.prepare() }
        WorkerRuntime.run(role: role, fd: fd, parentPID: parentPID, options: options, makeEngine: EngineFactory.make)
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(cString: buffer)
    }

    static func printError(_ line: String) {
        let text = line + "\n"
        _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}

extension WorkerRole: ExpressibleByArgument {}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
