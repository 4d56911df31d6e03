import Config
import Watchdog

/// An operator's `vigild` command line read without swift-argument-parser, for the forms init scripts and units use:
/// each option its own word (`-n`, `--dont-fork`, `-f FILE`, `--use-file FILE`), each at most once, values in range.
/// Any other line (`--help`, `--version`, `--keywords`, `-nlD`, `--use-file=FILE`, a value that starts with `-`, a
/// word it does not know) goes to `VigilDaemonCommand`, which accepts or refuses it with its own messages, as before.
///
/// Why: under emulation (the kernel lab) swift-argument-parser's model of the options, built by reflection, was half of
/// a process start (`perf record` of `vigild --version`: 54 % of the samples under `parseAsRoot`), and the daemon's
/// start is on the path of every figure of a director's start. `DaemonCommandLineTests` checks that every option the
/// help lists is read here, and to the same `DaemonOptions` as `VigilDaemonCommand` gives.
enum DaemonCommandLine {
    /// An option's canonical name (its long name) and what it sets.
    private enum Setting: Sendable {
        case flag(@Sendable (inout DaemonOptions) -> Void)
        case text(@Sendable (inout DaemonOptions, String) -> Void)
        case configID
        case logFacility
        case heartbeatInterval
        case metricsListen
    }

    private static let settings: [String: (name: String, setting: Setting)] = {
        let options: [(short: String?, long: String, setting: Setting)] = [
            ("-f", "--use-file", .text { $0.configFile = $1 }),
            ("-P", "--vrrp", .flag { $0.vrrpOnly = true }),
            ("-C", "--check", .flag { $0.checkOnly = true }),
            ("-n", "--dont-fork", .flag { $0.dontFork = true }),
            ("-l", "--log-console", .flag { $0.logConsole = true }),
            ("-D", "--log-detail", .flag { $0.logDetail = true }),
            ("-S", "--log-facility", .logFacility),
            ("-t", "--config-test", .flag { $0.configTest = true }),
            (nil, "--strict", .flag { $0.strict = true }),
            ("-d", "--dump-conf", .flag { $0.dumpConfig = true }),
            ("-i", "--config-id", .configID),
            ("-p", "--pid", .text { $0.pidFile = $1 }),
            ("-r", "--vrrp_pid", .text { $0.vrrpPidFile = $1 }),
            ("-c", "--checkers_pid", .text { $0.checkersPidFile = $1 }),
            ("-b", "--bfd_pid", .text { $0.bfdPidFile = $1 }),
            ("-B", "--no_bfd", .flag { $0.noBFD = true }),
            ("-V", "--dont-release-vrrp", .flag { $0.dontReleaseVRRP = true }),
            ("-I", "--dont-release-ipvs", .flag { $0.dontReleaseIPVS = true }),
            (nil, "--no-realtime", .flag { $0.noRealtime = true }),
            (nil, "--control-socket", .text { $0.controlSocket = $1 }),
            (nil, "--metrics-listen", .metricsListen),
            (nil, "--heartbeat-interval", .heartbeatInterval),
            // Hidden: the line a daemon that forks re-executes itself with.
            (nil, "--detached", .flag { $0.detached = true }),
        ]
        var table: [String: (name: String, setting: Setting)] = [:]
        for option in options {
            table[option.long] = (option.long, option.setting)
            if let short = option.short { table[short] = (option.long, option.setting) }
        }
        return table
    }()

    /// Every name read here (for the tests).
    static var names: Set<String> { Set(settings.keys) }

    /// The options `arguments` (without `argv[0]`) set, or nil when `VigilDaemonCommand` should read them.
    static func read(_ arguments: [String]) -> DaemonOptions? {
        var options = DaemonOptions()
        var seen: Set<String> = []
        var index = 0
        while index < arguments.count {
            guard let (name, setting) = settings[arguments[index]], seen.insert(name).inserted else { return nil }
            // A value is the next word; one that starts with `-` is an option to swift-argument-parser.
            var value: String?
            if case .flag = setting {
            } else {
                index += 1
                guard index < arguments.count, !arguments[index].hasPrefix("-") else { return nil }
                value = arguments[index]
            }
            switch (setting, value) {
            case (.flag(let set), _): set(&options)
            case (.text(let set), let text?): set(&options, text)
            case (.configID, let text?): options.configID = text
            case (.logFacility, let text?):
                guard let facility = Int(text), (0...7).contains(facility) else { return nil }
                options.logFacility = facility
            case (.heartbeatInterval, let text?):
                guard let milliseconds = Int(text), (10...60_000).contains(milliseconds) else { return nil }
                options.heartbeatInterval = .milliseconds(milliseconds)
            case (.metricsListen, let text?):
                guard let address = ListenAddress(text) else { return nil }
                options.metricsListen = address
            default: return nil
            }
            index += 1
        }
        return options
    }
}
