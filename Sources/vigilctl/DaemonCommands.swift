import ArgumentParser
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// Options every daemon subcommand shares.
struct ControlSocketOptions: ParsableArguments {
    static let defaultControlSocket = "/run/vigil/vigild.sock"
    static let defaultPidFile = "/run/vigild.pid"

    @Option(name: .customLong("control-socket"), help: "vigild's control socket.")
    var controlSocket = Self.defaultControlSocket

    @Option(
        name: .customLong("pid"),
        help: ArgumentHelp(
            "vigild's pid file: requests go only to the process it names.",
            discussion: "Default: /run/vigild.pid with the default control socket; with another socket, no pid "
                + "check unless given. Whatever the pid file, the socket must be served by root (or this user)."))
    var pidFile: String?

    @Option(name: .customLong("timeout"), help: "Seconds to wait for vigild's answer.")
    var timeout: Int = 5

    /// The process expected on the socket: the pid file's, when one applies and can be read.
    func peer() throws -> ControlPeer {
        guard let path = pidFile ?? (controlSocket == Self.defaultControlSocket ? Self.defaultPidFile : nil) else {
            return ControlPeer(pid: nil, pidFile: nil)
        }
        if let pid = readPidFile(path) { return ControlPeer(pid: pid, pidFile: path) }
        // The default pid file missing: vigild runs with another -p (or not at all); the user check still holds.
        guard pidFile == nil else {
            printError("vigilctl: cannot read vigild's pid file \(path); is vigild running?")
            throw ExitCode(1)
        }
        return ControlPeer(pid: nil, pidFile: nil)
    }

    /// Sends `request`; prints the failure and exits 1 when vigild cannot be reached.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        do {
            return try ControlClient.send(
                request, to: controlSocket, peer: peer(), timeoutMilliseconds: timeout * 1000)
        } catch let error as ControlClientError {
            printError("vigilctl: \(error)")
            throw ExitCode(1)
        }
    }
}

func printError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

/// Prints a `done` answer, or a `refused` one on stderr with exit status 1.
func report(_ response: ControlResponse) throws {
    switch response {
    case .done(let text): print(text)
    case .refused(let text):
        printError("vigilctl: \(text)")
        throw ExitCode(1)
    case .status: print("vigilctl: unexpected status answer")
    }
}

/// `vigilctl status [--json]`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the workers (pid, uptime, restarts, last heartbeat) and the VRRP and virtual server states.")

    @OptionGroup var connection: ControlSocketOptions

    @Flag(help: "Print the status as JSON.")
    var json = false

    func run() throws {
        let response = try connection.send(.status)
        guard case .status(let status) = response else { return try report(response) }
        if json {
            print(String(decoding: StatusJSON.encode(status), as: UTF8.self))
        } else {
            print(status.rendered)
        }
    }
}

/// `vigilctl reload`.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Re-read the configuration; an invalid one is refused and the old one kept.")

    @OptionGroup var connection: ControlSocketOptions

    @Flag(help: "Only validate the configuration file as a reload would; change nothing.")
    var check = false

    @Flag(help: "Print what a reload would change (VRRP instances, VIPs, virtual and real servers); change nothing.")
    var diff = false

    func validate() throws {
        if check && diff { throw ValidationError("--check and --diff are alternatives") }
    }

    func run() throws { try report(connection.send(check ? .reloadCheck : diff ? .reloadDiff : .reload)) }
}

/// `vigilctl stop`.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop vigild and its workers (as SIGTERM does).")

    @OptionGroup var connection: ControlSocketOptions

    func run() throws { try report(connection.send(.stop)) }
}

/// `vigilctl debug-stall ROLE MILLISECONDS [--slices N]`: fault injection for the supervision tests, answered only
/// by a debug build of vigild. Hidden from `--help`.
struct DebugStallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-stall",
        abstract: "Keep a worker's engine loop busy (debug builds of vigild only).", shouldDisplay: false)

    @OptionGroup var connection: ControlSocketOptions

    @Argument(help: "vrrp or checker.") var role: String
    @Argument(help: "How long the loop stays busy.") var milliseconds: Int
    @Option(help: "1: one task (a stuck loop); more: that many tasks in a row (a busy loop that turns).")
    var slices = 1

    func run() throws {
        guard let role = WorkerRole(rawValue: role) else { throw ValidationError("no worker role '\(role)'") }
        try report(connection.send(.debugStall(role: role, milliseconds: milliseconds, slices: slices)))
    }
}
