import WorkerIPC

/// The command line the watchdog re-executes `vigild` with for a worker, written and read here, in one place.
///
/// A worker reads its command line with `read` and never builds swift-argument-parser's model of `vigild`'s options:
/// under emulation (the kernel lab) that parse, with its reflection and metadata lookups, was half of a process start
/// (`perf record` of `vigild --version`: 54 % of the samples under `parseAsRoot`), and every worker start and restart
/// paid it. The line is the watchdog's own protocol, not an operator's: what `read` does not recognise (an older or
/// newer form, a hand-typed line) it leaves to swift-argument-parser, which accepts or refuses it as before.
public struct WorkerCommandLine: Equatable, Sendable {
    public var role: WorkerRole
    /// The inherited end of the watchdog's socketpair.
    public var ipcFD: Int32 = 3
    public var parentPID: Int32
    /// 0 to 7 (local0 to local7).
    public var logFacility = 0
    /// 10 to 60,000.
    public var heartbeatMilliseconds = 1000
    public var logConsole = false
    public var logDetail = false
    public var dontReleaseVRRP = false
    public var dontReleaseIPVS = false
    public var processSettings: WorkerProcessSettings?
    /// `--bfd-channel ROLE=FD`: the inherited descriptor of the channel to each peer worker.
    public var peerChannels: [WorkerRole: Int32] = [:]

    public init(role: WorkerRole, parentPID: Int32) {
        self.role = role
        self.parentPID = parentPID
    }

    /// The options a worker runs with: `DaemonOptions`' defaults and what the line carries.
    public var options: DaemonOptions {
        var options = DaemonOptions()
        options.logFacility = logFacility
        options.heartbeatInterval = .milliseconds(heartbeatMilliseconds)
        options.logConsole = logConsole
        options.logDetail = logDetail
        options.dontReleaseVRRP = dontReleaseVRRP
        options.dontReleaseIPVS = dontReleaseIPVS
        options.processSettings = processSettings
        options.peerChannels = peerChannels
        return options
    }

    /// The arguments, `argv[0]` first.
    public var arguments: [String] {
        var arguments = [
            "vigild", "--worker", role.rawValue, "--ipc-fd", "\(ipcFD)", "--parent-pid", "\(parentPID)",
            "-S", "\(logFacility)", "--heartbeat-interval", "\(heartbeatMilliseconds)",
        ]
        if logConsole { arguments.append("-l") }
        if logDetail { arguments.append("-D") }
        if dontReleaseVRRP { arguments.append("-V") }
        if dontReleaseIPVS { arguments.append("-I") }
        if let processSettings { arguments += ["--process-settings", processSettings.argument] }
        // In the roles' order: the same channels always make the same line.
        for peer in WorkerRole.allCases {
            if let fd = peerChannels[peer] { arguments += ["--bfd-channel", "\(peer.rawValue)=\(fd)"] }
        }
        return arguments
    }

    /// The worker line in `arguments` (without `argv[0]`), or nil when they are anything else: a line without
    /// `--worker`, an option this form does not write, a value out of its range. The caller then hands the line to
    /// swift-argument-parser.
    public static func read(_ arguments: [String]) -> WorkerCommandLine? {
        var role: WorkerRole?
        var line = WorkerCommandLine(role: .vrrp, parentPID: 0)
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--worker":
                guard role == nil, let text = value(), let parsed = WorkerRole(rawValue: text) else { return nil }
                role = parsed
            case "--ipc-fd":
                guard let text = value(), let fd = Int32(text), fd >= 0 else { return nil }
                line.ipcFD = fd
            case "--parent-pid":
                guard let text = value(), let pid = Int32(text) else { return nil }
                line.parentPID = pid
            case "-S":
                guard let text = value(), let facility = Int(text), DaemonOptions.logFacilities.contains(facility)
                else { return nil }
                line.logFacility = facility
            case "--heartbeat-interval":
                guard let text = value(), let milliseconds = Int(text),
                    DaemonOptions.heartbeatMilliseconds.contains(milliseconds)
                else { return nil }
                line.heartbeatMilliseconds = milliseconds
            case "-l": line.logConsole = true
            case "-D": line.logDetail = true
            case "-V": line.dontReleaseVRRP = true
            case "-I": line.dontReleaseIPVS = true
            case "--process-settings":
                guard let text = value(), let settings = WorkerProcessSettings(argument: text) else { return nil }
                line.processSettings = settings
            case "--bfd-channel":
                guard let text = value(), let (peer, fd) = peerChannel(text) else { return nil }
                line.peerChannels[peer] = fd
            default:
                return nil
            }
            index += 1
        }
        guard let role else { return nil }
        line.role = role
        return line
    }

    /// A `--bfd-channel` value, `ROLE=FD`; nil for anything else.
    public static func peerChannel(_ text: String) -> (WorkerRole, Int32)? {
        let parts = text.split(separator: "=")
        guard parts.count == 2, let peer = WorkerRole(rawValue: String(parts[0])), let fd = Int32(parts[1]) else {
            return nil
        }
        return (peer, fd)
    }
}
