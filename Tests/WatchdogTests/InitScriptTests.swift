import Foundation
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `packaging/init.d/vigil` against the built binaries, every path in a temporary directory.
@Suite("init script", .serialized, .enabled(if: isRoot), .timeLimit(.minutes(2)))
struct InitScriptTests {
    static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("packaging/init.d/vigil").path
    }()

    @Test func startStatusReloadStopAreIdempotent() throws {
        let daemon = try DaemonUnderTest()
        defer {
            if let pid = readPid(daemon.pidFile) { kill(pid, SIGKILL) }
            daemon.tearDown()
        }
        let environment = [
            "VIGILD": builtProducts.appendingPathComponent("vigild").path,
            "VIGILCTL": builtProducts.appendingPathComponent("vigilctl").path,
            "VIGIL_CONFIG": daemon.config,
            "VIGIL_PIDFILE": daemon.pidFile,
            "VIGIL_CONTROL_SOCKET": daemon.socket,
            "VIGIL_OPTS": "-r \(daemon.vrrpPidFile) -c \(daemon.checkersPidFile)",
        ]
        // In the daemon's network namespace: its workers advertise and check there, not on the host.
        func initScript(_ action: String) throws -> CommandResult {
            guard let namespace = daemon.namespace else {
                return try runCommand("/bin/sh", [Self.script, action], environment: environment)
            }
            return try runCommand(
                "/usr/sbin/ip", ["netns", "exec", namespace, "/bin/sh", Self.script, action], environment: environment)
        }

        var result = try initScript("status")
        #expect(result.status == 3 && result.output.contains("vigild is not running"), "\(result.output)")
        result = try initScript("stop")
        #expect(result.status == 0 && result.output.contains("vigild is not running"), "\(result.output)")

        result = try initScript("start")
        #expect(result.status == 0 && result.output.contains("vigild started"), "\(result.output)")
        let pid = try #require(readPid(daemon.pidFile))
        // vigild returns once the detached daemon is ready: the control socket answers at once.
        #expect(daemon.status()?.pid == pid)
        try waitFor("both workers", seconds: 10) {
            daemon.status()?.workers.allSatisfy { $0.lastHeartbeatSecondsAgo != nil } ?? false
        }

        result = try initScript("start")
        #expect(result.status == 0 && result.output.contains("already running (pid \(pid))"), "\(result.output)")
        #expect(readPid(daemon.pidFile) == pid)

        result = try initScript("status")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("vigild is running (pid \(pid))"))
        #expect(result.output.contains("vrrp_instance VI_1"))

        result = try initScript("reload")
        #expect(result.status == 0 && result.output.contains("reloading"), "\(result.output)")
        #expect(daemon.status()?.pid == pid)

        result = try initScript("stop")
        #expect(result.status == 0 && result.output.contains("vigild stopped"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: daemon.pidFile))
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))

        result = try initScript("stop")
        #expect(result.status == 0 && result.output.contains("not running"), "\(result.output)")
        result = try initScript("status")
        #expect(result.status == 3)
    }
}
