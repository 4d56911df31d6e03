import Testing
import Watchdog

@testable import vigild

/// `DaemonCommandLine` reads an operator's line without swift-argument-parser: for every option the help lists, it
/// must give the `DaemonOptions` `VigilDaemonCommand` gives, and leave to it every line it does not read whole.
@Suite struct DaemonCommandLineTests {
    /// A value for each option that takes one (by its long name); the rest are flags.
    static let values: [String: String] = [
        "--use-file": "/etc/keepalived/other.conf", "--log-facility": "5", "--config-id": "lb1",
        "--pid": "/run/a.pid", "--vrrp_pid": "/run/b.pid", "--checkers_pid": "/run/c.pid", "--bfd_pid": "/run/d.pid",
        "--control-socket": "/run/e.sock", "--metrics-listen": "127.0.0.1:9165", "--heartbeat-interval": "250",
    ]
    /// What the help lists and `DaemonCommandLine` leaves to swift-argument-parser on purpose.
    static let leftToTheParser: Set<String> = ["-h", "--help", "-v", "--version", "--keywords"]

    /// The option names in the help, short and long (`-f, --use-file <use-file>`).
    static func helpNames() -> Set<String> {
        let words = VigilDaemonCommand.helpMessage(columns: 200).split(whereSeparator: { " ,\n".contains($0) })
        return Set(
            words.map(String.init).filter {
                $0.count >= 2 && $0.hasPrefix("-") && $0.dropFirst().first.map { $0 == "-" || $0.isLetter } == true
                    && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
            })
    }

    static func parsed(_ arguments: [String]) throws -> DaemonOptions {
        try VigilDaemonCommand.parse(arguments).daemonOptions()
    }

    @Test func everyOptionInTheHelpIsReadOrLeftOnPurpose() {
        let names = Self.helpNames()
        #expect(names.contains("--use-file") && names.contains("-f") && names.contains("--no-realtime"))
        let read = Set(DaemonCommandLine.longNames.keys)
        #expect(names.subtracting(Self.leftToTheParser).subtracting(read).isEmpty)
        #expect(read.subtracting(names) == ["--detached"])
    }

    @Test func eachOptionAsTheFullParserReadsIt() throws {
        for (name, long) in DaemonCommandLine.longNames.sorted(by: { $0.key < $1.key }) {
            let arguments = [name] + (Self.values[long].map { [$0] } ?? [])
            let read = try #require(DaemonCommandLine.read(arguments), "\(arguments)")
            #expect(read == (try Self.parsed(arguments)), "\(arguments)")
            #expect(read != DaemonOptions(), "\(arguments) changed nothing")
        }
    }

    @Test func aTypicalLine() throws {
        let arguments = [
            "-n", "-l", "-D", "-S", "3", "-f", "/etc/keepalived/keepalived.conf", "--metrics-listen", "[::1]:9165",
            "-C",
            "--control-socket", "/run/v.sock",
        ]
        let read = try #require(DaemonCommandLine.read(arguments))
        #expect(read == (try Self.parsed(arguments)))
        #expect(read.dontFork && read.logConsole && read.logDetail && read.checkOnly && read.logFacility == 3)
        #expect(DaemonCommandLine.read([]) == DaemonOptions())
    }

    /// Forms it does not read whole go to swift-argument-parser, which accepts or refuses them with its messages.
    @Test func otherFormsAreLeftToTheFullParser() {
        let others: [[String]] = [
            ["--help"], ["-v"], ["--keywords"], ["-nlD"], ["--use-file=/etc/k.conf"], ["-f"], ["-f", "-n"],
            ["-n", "-n"], ["-n", "--dont-fork"], ["-S", "8"], ["--heartbeat-interval", "5"],
            ["--metrics-listen", "nowhere"], ["--worker", "vrrp"], ["extra"], ["-x"],
        ]
        for arguments in others { #expect(DaemonCommandLine.read(arguments) == nil, "\(arguments)") }
    }
}
