import Foundation
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The directory holding the built `vigild` and `vigilctl` (beside the test bundle).
let builtProducts: URL = {
    var url = Bundle.main.bundleURL
    while url.path != "/" {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("vigild").path) { return url }
        url.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: ".build/debug")
}()

let isRoot = geteuid() == 0

/// A keepalived.conf with one VRRP instance and one virtual server, documentation addresses only.
let twoWorkerConfig = """
    vrrp_instance VI_1 {
        state BACKUP
        interface lo
        virtual_router_id 51
        priority 100
        virtual_ipaddress {
            192.0.2.10/24
        }
    }
    virtual_server 192.0.2.10 80 {
        lb_algo rr
        lb_kind NAT
        protocol TCP
        real_server 198.51.100.1 80 {
            TCP_CHECK {
                connect_timeout 3
            }
        }
    }

    """

/// `twoWorkerConfig` and a BFD session on loopback (nobody answers: it stays Down), so the watchdog runs all three
/// workers.
let threeWorkerConfig =
    twoWorkerConfig + """
        bfd_instance lo_peer {
            neighbor_ip 127.0.0.2
            source_ip 127.0.0.1
        }

        """

/// One `vigild -n` in a private temporary directory and, as root, a network namespace of its own (only `lo`,
/// up): its VRRP worker advertises and adds VIPs there and its checks reach nothing outside. Killed (with its
/// workers) and the namespace deleted if a test forgets it.
final class DaemonUnderTest {
    let directory: URL
    /// The network namespace vigild runs in (root only).
    let namespace: String?
    let process = Process()
    /// nil: vigild's default (1000 ms). Tests run with the daemon's defaults.
    let heartbeatMilliseconds: Int?

    var config: String { directory.appendingPathComponent("keepalived.conf").path }
    var socket: String { directory.appendingPathComponent("run/vigild.sock").path }
    var pidFile: String { directory.appendingPathComponent("vigild.pid").path }
    var vrrpPidFile: String { directory.appendingPathComponent("vigild_vrrp.pid").path }
    var checkersPidFile: String { directory.appendingPathComponent("vigild_checkers.pid").path }
    var bfdPidFile: String { directory.appendingPathComponent("vigild_bfd.pid").path }
    var logFile: String { directory.appendingPathComponent("vigild.log").path }

    var arguments: [String] {
        [
            "-f", config, "--control-socket", socket, "-p", pidFile, "-r", vrrpPidFile, "-c", checkersPidFile,
            "-b", bfdPidFile,
        ] + (heartbeatMilliseconds.map { ["--heartbeat-interval", "\($0)"] } ?? [])
    }

    init(config text: String = twoWorkerConfig, heartbeatMilliseconds: Int? = nil) throws {
        // Short: a Unix socket path holds at most 107 bytes.
        let id = UUID().uuidString.prefix(8).lowercased()
        directory = URL(fileURLWithPath: "/tmp/vgl-\(id)")
        self.heartbeatMilliseconds = heartbeatMilliseconds
        if isRoot {
            namespace = "vgl-\(id)"
            _ = try runCommand("/usr/sbin/ip", ["netns", "add", namespace!])
            _ = try runCommand("/usr/sbin/ip", ["-n", namespace!, "link", "set", "lo", "up"])
        } else {
            namespace = nil
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    }

    /// Starts `vigild -n -l -D` with its log in `logFile`, and waits for the workers' hellos and first reports.
    /// - Parameter wrapper: a command that execs vigild (`prlimit --nofile=40`), keeping its pid.
    /// - Parameter environment: variables added to the test's own (`NOTIFY_SOCKET`).
    /// - Parameter debug: `-D`, the debug lines in the log; without it, what an operator's log holds.
    func start(
        workers: Int = 2, extra: [String] = [], wrapper: [String] = [], environment: [String: String] = [:],
        debug: Bool = true
    ) throws {
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let vigild = builtProducts.appendingPathComponent("vigild")
        let command = wrapper + [vigild.path, "-n", "-l"] + (debug ? ["-D"] : []) + extra + self.arguments
        if let namespace {
            // `ip netns exec` execs vigild: the process's pid is vigild's.
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace] + command
        } else {
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: logFile)
        process.standardError = FileHandle(forWritingAtPath: logFile)
        try process.run()
        try waitFor("\(workers) workers to say hello", seconds: 10) {
            guard let status = self.status() else { return false }
            // Configured: each worker has answered a heartbeat and reported its state.
            return status.workers.count == workers
                && status.workers.allSatisfy { $0.lastHeartbeatSecondsAgo != nil && $0.ready == true }
        }
    }

    func status() -> DaemonStatus? {
        guard case .status(let status)? = try? ControlClient.send(.status, to: socket, timeoutMilliseconds: 2000)
        else { return nil }
        return status
    }

    func worker(_ role: WorkerRole) -> WorkerStatus? {
        status()?.workers.first { $0.role == role }
    }

    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Stops the daemon and every process it started, whatever state the test left them in.
    func tearDown() {
        let workerPids = [vrrpPidFile, checkersPidFile, bfdPidFile].compactMap { readPid($0) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for pid in workerPids where pid > 1 {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
        }
        if let namespace { _ = try? runCommand("/usr/sbin/ip", ["netns", "del", namespace]) }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { tearDown() }
}

func readPid(_ path: String) -> pid_t? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return pid_t(text.filter(\.isNumber))
}

struct WaitTimeout: Error, CustomStringConvertible {
    var description: String
}

/// Polls `condition` every 2 ms until it holds, for at most `seconds`.
func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(2000)
    }
    throw WaitTimeout(description: "timed out after \(seconds) s waiting for \(what)")
}

func milliseconds(since start: Int) -> Int { monotonicMilliseconds() - start }

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs a command to completion with stdout and stderr together in a file (bounded by `timeout`).
/// posix_spawn and waitpid directly: Foundation's Process did not always notice the exit of a shell
/// whose grandchild detached.
func runCommand(_ path: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 30)
    throws -> CommandResult
{
    let output = "/tmp/vigil-out-\(UUID().uuidString)"
    defer { unlink(output) }
    let pid = try spawnCommand(path, arguments, environment: environment, output: output)
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw WaitTimeout(description: "\(path) \(arguments) did not finish in \(timeout) s")
        }
        usleep(2000)
    }
    let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return CommandResult(status: exitStatus, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

/// Starts a command with stdin from /dev/null and stdout and stderr together in `output`; the caller waits for
/// it (or kills it) by pid.
func spawnCommand(_ path: String, _ arguments: [String], environment: [String: String] = [:], output: String)
    throws -> pid_t
{
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = variables.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard spawned == 0 else { throw WaitTimeout(description: "cannot run \(path): error \(spawned)") }
    return pid
}
