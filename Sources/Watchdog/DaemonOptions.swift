import Config
import WorkerIPC

/// What `vigild`'s command line asks for; keepalived's flags with keepalived's meanings.
public struct DaemonOptions: Equatable, Sendable {
    public var configFile = DefaultPaths.configFile
    /// `-P`: run only the VRRP part.
    public var vrrpOnly = false
    /// `-C`: run only the checker (LVS) part.
    public var checkOnly = false
    public var dontFork = false
    public var logConsole = false
    public var logDetail = false
    /// `-S`: syslog facility local0…local7.
    public var logFacility = 0
    /// The facilities `-S` takes (local0 to local7).
    public static let logFacilities = 0...7
    public var configTest = false
    /// `--strict` (with `-t`): warnings count as errors.
    public var strict = false
    public var dumpConfig = false
    /// `-i`: compared with `@id` lines; defaults to the first part of the host name.
    public var configID: String?
    public var pidFile = DefaultPaths.pidFile
    public var vrrpPidFile = DefaultPaths.vrrpPidFile
    public var checkersPidFile = DefaultPaths.checkersPidFile
    /// `-b`: the BFD worker's pid file.
    public var bfdPidFile = DefaultPaths.bfdPidFile
    /// `-B`: do not run the BFD worker.
    public var noBFD = false
    /// In a worker: its direct channels to other workers (`--bfd-channel ROLE=FD`, set by the watchdog).
    public var peerChannels: [WorkerRole: Int32] = [:]
    public var controlSocket = DefaultPaths.controlSocket
    /// `-V`: leave VIPs in place on stop.
    public var dontReleaseVRRP = false
    /// `-I`: leave IPVS rules in place on stop.
    public var dontReleaseIPVS = false
    /// `--no-realtime`: the VRRP worker keeps the normal scheduler and unlocked memory unless the file asks.
    public var noRealtime = false
    /// How often the watchdog pings its workers; a worker silent for two periods is replaced.
    public var heartbeatInterval: Duration = .seconds(1)
    /// The intervals `--heartbeat-interval` takes, in milliseconds.
    public static let heartbeatMilliseconds = 10...60_000
    /// Set in the re-spawned, detached daemon (stdio on /dev/null, own session).
    public var detached = false
    /// `--metrics-listen`: where to serve metrics, the status page and JSON (before `metrics_listen` in the file).
    public var metricsListen: ListenAddress?
    /// A worker's scheduling, memory lock, affinity and name, passed by the watchdog (`--process-settings`).
    public var processSettings: WorkerProcessSettings?

    public init() {}

    /// The pid files and control socket as keepalived names them for `use_pid_dir`, `instance NAME` and
    /// `net_namespace NAME`, for each path still at its default (a path given on the command line wins):
    /// `use_pid_dir` puts `vigild.pid`, `vrrp.pid`, `checkers.pid` in /run/vigil; `instance NAME` names them
    /// `vigild_NAME.pid`, `vrrp_NAME.pid`, `checkers_NAME.pid` and the socket `vigild_NAME.sock` there (several
    /// daemons side by side); with `net_namespace NAME` they go to /run/vigil/NAME/ (where keepalived's show outside
    /// its mount namespace).
    public func resolvingPaths(for globals: GlobalDefs) -> DaemonOptions {
        guard globals.usePIDDir || globals.instanceName != nil || globals.netNamespace != nil else { return self }
        var directory = DefaultPaths.pidDirectory
        if let namespace = globals.netNamespace { directory += "/" + namespace }
        let suffix = globals.instanceName.map { "_" + $0 } ?? ""
        var resolved = self
        if pidFile == DefaultPaths.pidFile { resolved.pidFile = "\(directory)/vigild\(suffix).pid" }
        if vrrpPidFile == DefaultPaths.vrrpPidFile { resolved.vrrpPidFile = "\(directory)/vrrp\(suffix).pid" }
        if checkersPidFile == DefaultPaths.checkersPidFile {
            resolved.checkersPidFile = "\(directory)/checkers\(suffix).pid"
        }
        if controlSocket == DefaultPaths.controlSocket && (globals.instanceName != nil || globals.netNamespace != nil) {
            resolved.controlSocket = "\(directory)/vigild\(suffix).sock"
        }
        return resolved
    }

    /// Reads and checks the configuration file. With `random_seed` in it, the file is read a second time with
    /// `${_RANDOM}` drawn from that seed (`KeepalivedRandom`), so its values are the same at every start and
    /// reload, as keepalived's.
    public func loadConfiguration(hostName: String, from source: some ConfigFileSource = DiskFileSource())
        -> LoadedConfig
    {
        var reader = readerOptions(hostName: hostName)
        let loaded = ConfigLoader.load(path: configFile, from: source, options: reader)
        guard let seed = loaded.config.globalDefs.randomSeed else { return loaded }
        reader.random = KeepalivedRandom.expander(seed: seed)
        return ConfigLoader.load(path: configFile, from: source, options: reader)
    }

    /// Reader options for this command line: the config id, and `${_INSTANCE}` as keepalived sets it.
    public func readerOptions(hostName: String) -> ConfigReaderOptions {
        let id = configID ?? String(hostName.prefix { $0 != "." })
        return ConfigReaderOptions(configID: id, instanceName: configID ?? hostName)
    }
}

/// Vigil's version, printed by `vigild -v` and sent in worker hellos.
public let vigilVersion = "0.1.0"
