import Foundation
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// A connected, unbound client of the control socket at `path` (nil when it cannot connect).
func controlConnection(_ path: String) -> MessageSocket? {
    let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    let connection = MessageSocket(fd: fd, version: controlProtocolVersion)
    guard withUnixSocketAddress(path, { connect(fd, $0, $1) }) == 0 else { return nil }
    return connection
}

/// The CPU seconds (user + system) a process has used, from /proc/PID/stat.
func cpuSeconds(_ pid: pid_t) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15 (1-based): indices 11 and 12 here.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The control socket against a second daemon, an impostor, a shared directory and misbehaving clients
/// (issue 19, items 4, 5 and 7).
@Suite("control socket", .serialized, .enabled(if: isRoot), .timeLimit(.minutes(3)))
struct ControlSocketTests {
    /// A second vigild (another pid file, the same socket) refuses to start, in the foreground and detaching, and
    /// leaves the first daemon's socket alone; so does one started when a process answers on the socket without
    /// vigild's lock (an older vigild, another program).
    @Test func aSecondDaemonDoesNotStealALiveSocket() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let vigild = builtProducts.appendingPathComponent("vigild").path
        let other = daemon.arguments.map { $0 == daemon.pidFile ? daemon.pidFile + "2" : $0 }
        for foreground in [true, false] {
            let result = try runCommand(vigild, (foreground ? ["-n"] : []) + other, timeout: 10)
            #expect(result.status == 1)
            #expect(
                result.output.contains(
                    "another vigild (pid \(daemon.process.processIdentifier)) owns the control socket \(daemon.socket)"),
                "\(result.output)")
        }
        #expect(daemon.status() != nil)

        // A listener without the lock.
        let path = daemon.directory.appendingPathComponent("run/foreign.sock").path
        let foreign = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(foreign) }
        #expect(withUnixSocketAddress(path, { bind(foreign, $0, $1) }) == 0)
        #expect(listen(foreign, 4) == 0)
        let withForeign = other.map { $0 == daemon.socket ? path : $0 }
        let result = try runCommand(vigild, ["-n"] + withForeign, timeout: 10)
        #expect(result.status == 1)
        #expect(result.output.contains("a live process answers on the control socket \(path)"), "\(result.output)")
        #expect(access(path, F_OK) == 0)
    }

    /// A control-socket directory another user may write is refused (they could swap in their own socket).
    @Test func aDirectoryWritableByOthersIsRefused() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        let shared = daemon.directory.appendingPathComponent("shared").path
        #expect(mkdir(shared, 0o777) == 0 && chmod(shared, 0o777) == 0)
        let arguments = daemon.arguments.map { $0 == daemon.socket ? shared + "/vigild.sock" : $0 }
        let vigild = builtProducts.appendingPathComponent("vigild").path
        for foreground in [true, false] {
            let result = try runCommand(vigild, (foreground ? ["-n"] : []) + arguments, timeout: 10)
            #expect(result.status == 1)
            #expect(
                result.output.contains(
                    "\(shared) is writable by group and others (mode 777), who could replace the control socket"),
                "\(result.output)")
        }
        #expect(chmod(shared, 0o1777) == 0)
        let sticky = try runCommand(vigild, ["-n"] + arguments, timeout: 10)
        #expect(sticky.status == 1 && sticky.output.contains("(mode 1777)"), "\(sticky.output)")
    }

    /// vigilctl sends nothing to a socket served by another user, or by another process than the pid file names:
    /// it fails, and the daemon goes on running.
    @Test func vigilctlRefusesAnImpostor() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        // The genuine daemon, with its pid file.
        var result = try runCommand(vigilctl, ["status", "--control-socket", daemon.socket, "--pid", daemon.pidFile])
        #expect(result.status == 0, "\(result.output)")

        // An impostor run by nobody, listening where a user could have put it, and logging what it receives.
        let lair = daemon.directory.appendingPathComponent("lair").path
        #expect(mkdir(lair, 0o777) == 0 && chmod(lair, 0o777) == 0)
        let impostor = lair + "/vigild.sock"
        let received = lair + "/received"
        let script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.bind(sys.argv[1]); s.listen(4); open(sys.argv[1] + ".ready", "w").close()
            while True:
                c, _ = s.accept()
                c.settimeout(2)
                try:
                    data = c.recv(65536)
                except OSError:
                    data = b""
                with open(sys.argv[2], "ab") as f:
                    f.write(data)
                c.close()
            """
        let python = try spawnCommand(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, impostor, received],
            output: lair + "/python.log")
        defer {
            kill(python, SIGKILL)
            waitpid(python, nil, 0)
        }
        try waitFor("the impostor to listen", seconds: 10) { access(impostor + ".ready", F_OK) == 0 }
        result = try runCommand(vigilctl, ["stop", "--control-socket", impostor])
        #expect(result.status == 1)
        #expect(result.output.contains("\(impostor) is served by uid 65534"), "\(result.output)")
        #expect(!result.output.contains("is stopping"))

        // Served by root, but not by the pid the pid file names: a foreign root listener.
        let rootImpostor = daemon.directory.appendingPathComponent("run/other.sock").path
        let listener = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(listener) }
        #expect(withUnixSocketAddress(rootImpostor, { bind(listener, $0, $1) }) == 0 && listen(listener, 4) == 0)
        result = try runCommand(vigilctl, ["stop", "--control-socket", rootImpostor, "--pid", daemon.pidFile])
        #expect(result.status == 1)
        #expect(
            result.output.contains(
                "is served by pid \(getpid()), but \(daemon.pidFile) names vigild pid \(daemon.process.processIdentifier)"
            ),
            "\(result.output)")
        // Nothing reached either impostor; the daemon runs on.
        let stolen = (try? Data(contentsOf: URL(fileURLWithPath: received))) ?? Data()
        #expect(stolen.isEmpty)
        _ = fcntl(listener, F_SETFL, O_NONBLOCK)
        let pending = accept(listener, nil, nil)
        if pending >= 0 {
            var byte: UInt8 = 0
            #expect(recv(pending, &byte, 1, Int32(MSG_DONTWAIT)) <= 0)
            close(pending)
        }
        #expect(daemon.process.isRunning && daemon.status() != nil)
    }

    /// Out of descriptors, the watchdog stops accepting for a moment instead of spinning on a listener that
    /// stays readable (it spun at 100% CPU), and serves again once clients go.
    @Test func acceptOutOfDescriptorsDoesNotSpin() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start(wrapper: ["/usr/bin/prlimit", "--nofile=28"])
        var clients: [MessageSocket] = []
        for _ in 0..<40 {
            if let client = controlConnection(daemon.socket) { clients.append(client) }
        }
        try waitFor("accept to fail", seconds: 5) {
            daemon.log.contains("control socket: accept: Too many open files")
        }
        let pid = daemon.process.processIdentifier
        let before = try #require(cpuSeconds(pid))
        usleep(3_000_000)
        let used = try #require(cpuSeconds(pid)) - before
        #expect(used < 0.5, "the watchdog used \(used) s of CPU in 3 s")
        clients = []
        try waitFor("vigild to answer again", seconds: 10) { daemon.status() != nil }
        #expect(daemon.process.isRunning)
    }

    /// At most 32 connections are kept: one more is refused with a reason; idle ones are closed after 5 s; a
    /// request announcing more than 64 KiB is refused. The daemon answers throughout.
    @Test func connectionsAreBoundedInNumberIdleTimeAndSize() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        var idle: [MessageSocket] = []
        for _ in 0..<32 { idle.append(try #require(controlConnection(daemon.socket))) }
        let extra = try #require(controlConnection(daemon.socket))
        guard case .message(.refused(let busy)) = extra.receive(ControlResponse.self, timeoutMilliseconds: 2000) else {
            Issue.record("the 33rd connection was not refused")
            return
        }
        #expect(busy.contains("32 control connections are open"), "\(busy)")

        let start = monotonicMilliseconds()
        guard case .message(.refused(let why)) = idle[0].receive(ControlResponse.self, timeoutMilliseconds: 10_000)
        else {
            Issue.record("an idle connection was not closed")
            return
        }
        #expect(why.hasPrefix("no request within 5"), "\(why)")
        #expect(milliseconds(since: start) < 8000)
        for connection in idle.dropFirst() {
            if case .closed = connection.receive(ControlResponse.self, timeoutMilliseconds: 2000) { continue }
        }
        #expect(daemon.status() != nil)

        let oversized = try #require(controlConnection(daemon.socket))
        try oversized.sendDatagram(WorkerFrame.magic + [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3] + Array("{".utf8))
        guard case .message(.refused(let large)) = oversized.receive(ControlResponse.self, timeoutMilliseconds: 2000)
        else {
            Issue.record("an oversized request was not refused")
            return
        }
        #expect(large.contains("more than 65536 bytes"), "\(large)")
        #expect(daemon.status() != nil)
    }
}
