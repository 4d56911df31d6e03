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
    /// What an option sets: a flag its field; an option with a value its field from the value, or false for a value
    /// it does not take (left to swift-argument-parser's message).
    private enum Setting: Sendable {
        case flag(@Sendable (inout DaemonOptions) -> Void)
        case value(@Sendable (inout DaemonOptions, String) -> Bool)

        /// A value taken as it is.
        static func text(_ set: @escaping @Sendable (inout DaemonOptions, String) -> Void) -> Setting {
            .value { options, text in
                set(&options, text)
                return true
            }
        }
    }

    /// Each word (short and long name) with its option's long name and setting.
    private static let settings: [String: (name: String, setting: Setting)] = {
        let options: [(short: String?, long: String, setting: Setting)] = [
            ("-f", "--use-file", .text { $0.configFile = $1 }),
            ("-P", "--vrrp", .flag { $0.vrrpOnly = true }),
            ("-C", "--check", .flag { $0.checkOnly = true }),
            ("-n", "--dont-fork", .flag { $0.dontFork = true }),
            ("-l", "--log-console", .flag { $0.logConsole = true }),
            ("-D", "--log-detail", .flag { $0.logDetail = true }),
            (
                "-S", "--log-facility",
                .value { options, text in
                    guard let facility = Int(text), DaemonOptions.logFacilities.contains(facility) else { return false }
                    options.logFacility = facility
                    return true
                }
            ),
            ("-t", "--config-test", .flag { $0.configTest = true }),
            (nil, "--strict", .flag { $0.strict = true }),
            ("-d", "--dump-conf", .flag { $0.dumpConfig = true }),
            ("-i", "--config-id", .text { $0.configID = $1 }),
            ("-p", "--pid", .text { $0.pidFile = $1 }),
            ("-r", "--vrrp_pid", .text { $0.vrrpPidFile = $1 }),
            ("-c", "--checkers_pid", .text { $0.checkersPidFile = $1 }),
            ("-b", "--bfd_pid", .text { $0.bfdPidFile = $1 }),
            ("-B", "--no_bfd", .flag { $0.noBFD = true }),
            ("-V", "--dont-release-vrrp", .flag { $0.dontReleaseVRRP = true }),
            ("-I", "--dont-release-ipvs", .flag { $0.dontReleaseIPVS = true }),
            (nil, "--no-realtime", .flag { $0.noRealtime = true }),
            (nil, "--control-socket", .text { $0.controlSocket = $1 }),
            (
                nil, "--metrics-listen",
                .value { options, text in
                    guard let address = ListenAddress(text) else { return false }
                    options.metricsListen = address
                    return true
                }
            ),
            (
                nil, "--heartbeat-interval",
                .value { options, text in
                    guard let milliseconds = Int(text), DaemonOptions.heartbeatMilliseconds.contains(milliseconds)
                    else { return false }
                    options.heartbeatInterval = .milliseconds(milliseconds)
                    return true
                }
            ),
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

    /// Every word read here, with its option's long name (for the tests).
    static var longNames: [String: String] { settings.mapValues(\.name) }

    /// The options `arguments` (without `argv[0]`) set, or nil when `VigilDaemonCommand` should read them.
    static func read(_ arguments: [String]) -> DaemonOptions? {
        var options = DaemonOptions()
        var seen: Set<String> = []
        var index = 0
        while index < arguments.count {
            guard let (name, setting) = settings[arguments[index]], seen.insert(name).inserted else { return nil }
            switch setting {
            case .flag(let set): set(&options)
            case .value(let set):
                // The value is the next word; one that starts with `-` is an option to swift-argument-parser.
                index += 1
                guard index < arguments.count, !arguments[index].hasPrefix("-"), set(&options, arguments[index]) else {
                    return nil
                }
            }
            index += 1
        }
        return options
    }
}
