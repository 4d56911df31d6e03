import Config
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

private let isRoot = geteuid() == 0
private let hasUseradd = access("/usr/sbin/useradd", X_OK) == 0

/// Creates the test user `name` (one per suite: suites run in parallel) for the duration of `body`.
private func withScriptUser<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
    shell("userdel \(name) >/dev/null 2>&1")
    try #require(shell("useradd --system --no-create-home --shell /usr/sbin/nologin \(name)") == 0)
    defer { shell("userdel \(name) >/dev/null 2>&1") }
    return try await body()
}

@Suite(.serialized) struct ScriptIdentityTests {
    @Test func resolvesRootAndDefault() throws {
        let root = try ScriptIdentity.resolve(user: "root", group: nil)
        #expect(root == .root)
        // No keepalived_script user here (checked), so the default is root.
        if ScriptIdentity.lookUpUser(ScriptIdentity.defaultScriptUser) == nil {
            #expect(try ScriptIdentity.resolve(user: nil, group: nil) == .root)
        }
        #expect(try ScriptIdentity.resolve(user: "root", group: "daemon").gid == 1)
    }

    @Test func aScriptsOwnUserWins() throws {
        let own = Config.ScriptCommand(text: "/bin/x", user: "root", group: "daemon")
        #expect(try ScriptIdentity.resolve(for: own, scriptUser: ScriptUser(user: "ntf-nobody-here")).gid == 1)
        let plain = Config.ScriptCommand(text: "/bin/x")
        #expect(throws: ScriptError.self) {
            try ScriptIdentity.resolve(for: plain, scriptUser: ScriptUser(user: "ntf-nobody-here"))
        }
        #expect(try ScriptIdentity.resolve(for: plain, scriptUser: ScriptUser(user: "root")) == .root)
    }

    @Test func unknownNamesAreErrors() {
        #expect { try ScriptIdentity.resolve(user: "ntf-nobody-here", group: nil) } throws: {
            ($0 as? ScriptError)?.code == .unknownUser && "\($0)".contains("ntf-nobody-here")
        }
        #expect { try ScriptIdentity.resolve(user: "root", group: "ntf-no-group") } throws: {
            ($0 as? ScriptError)?.code == .unknownGroup
        }
    }

    @Test(.enabled(if: isRoot && hasUseradd)) func resolvesACreatedUser() async throws {
        try await withScriptUser("ntf-script") {
            let identity = try ScriptIdentity.resolve(user: "ntf-script", group: nil)
            #expect(identity.uid != 0)
            #expect(identity.userName == "ntf-script")
            #expect(try ScriptIdentity.resolve(user: "ntf-script", group: "root").gid == 0)
            #expect(try ScriptIdentity.resolve(user: String(identity.uid), group: nil) == identity)
        }
    }
}

@Suite struct ScriptSecurityTests {
    @Test func pureCheckWalksEveryParent() {
        let safe = ScriptSecurity.FileStatus(uid: 0, gid: 0, mode: 0o40755)
        let table: [String: ScriptSecurity.FileStatus] = [
            "/": safe, "/etc": safe, "/etc/ka": .init(uid: 0, gid: 50, mode: 0o40775),
            "/etc/ka/ok.sh": .init(uid: 0, gid: 0, mode: 0o100755),
            "/etc/ka/mine.sh": .init(uid: 1000, gid: 0, mode: 0o100755),
            "/etc/ka/grp.sh": .init(uid: 0, gid: 0, mode: 0o100775),
        ]
        let status = { (path: String) in table[path] }
        #expect(ScriptSecurity.problem(withProgramAt: "/etc/ka/ok.sh", status: status)?.contains("'/etc/ka'") == true)
        #expect(ScriptSecurity.problem(withProgramAt: "/etc/ka/ok.sh", status: status)?.contains("group 50") == true)
        #expect(
            ScriptSecurity.problem(
                withProgramAt: "/etc/ok.sh", status: { $0 == "/etc/ok.sh" ? table["/etc/ka/ok.sh"] : table[$0] }) == nil
        )
        #expect(
            ScriptSecurity.problem(
                withProgramAt: "/etc/mine.sh", status: { $0 == "/etc/mine.sh" ? table["/etc/ka/mine.sh"] : table[$0] })?
                .contains("owned by uid 1000") == true)
        // Group-writable by root's group is fine.
        #expect(
            ScriptSecurity.problem(
                withProgramAt: "/etc/grp.sh", status: { $0 == "/etc/grp.sh" ? table["/etc/ka/grp.sh"] : table[$0] })
                == nil)
        #expect(ScriptSecurity.problem(withProgramAt: "/nowhere", status: status)?.contains("cannot stat") == true)
    }

    @Test(.enabled(if: isRoot)) func worldWritableDirectoryIsReported() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        shell("mkdir '\(directory.path)/open' && chmod 777 '\(directory.path)/open'")
        let script = directory.path + "/open/check.sh"
        shell("printf '#!/bin/sh\\nexit 0\\n' > '\(script)' && chmod 755 '\(script)'")
        let problem = ScriptSecurity.problem(with: try Notifier.ScriptCommand(script), runningAs: .root)
        #expect(problem?.contains("world-writable") == true)
        #expect(problem?.contains("/open") == true)
        // Running as another user is not checked.
        #expect(
            ScriptSecurity.problem(
                with: try Notifier.ScriptCommand(script), runningAs: .init(uid: 65534, gid: 65534, userName: "nobody"))
                == nil)
        // A missing program: a problem only where someone else could create it.
        let planted = try Notifier.ScriptCommand(directory.path + "/open/later/check.sh")
        #expect(ScriptSecurity.problem(with: planted, runningAs: .root)?.contains("does not exist and anyone") == true)
        let missing = try Notifier.ScriptCommand(directory.path + "/missing/check.sh")
        #expect(ScriptSecurity.problem(with: missing, runningAs: .root) == nil)
        // A root-owned program in root-owned directories is fine.
        #expect(ScriptSecurity.problem(with: try Notifier.ScriptCommand("true"), runningAs: .root) == nil)
    }
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct ScriptRunnerTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let log = CapturedLog()

    func run(_ line: String, timeout: Duration? = .seconds(10), environment: [String: String] = [:]) async throws
        -> ScriptResult
    {
        let runner = ScriptRunner(identity: .init(uid: geteuid(), gid: getegid(), userName: "self"), logger: log.logger)
        return try await runner.run(
            try Notifier.ScriptCommand(line), environment: environment, timeout: timeout, on: loop
        ).get()
    }

    @Test func exitStatuses() async throws {
        #expect(try await run("/bin/true") == .exited(0))
        #expect(try await run("false") == .exited(1))
        #expect(try await run("sh -c 'exit 7'") == .exited(7))
        #expect(try await run("sh -c 'kill -USR1 $$'") == .signalled(SIGUSR1))
        guard case .failedToStart(let reason) = try await run("/nonexistent/ntf-script") else {
            Issue.record("expected failedToStart")
            return
        }
        #expect(reason.contains("/nonexistent/ntf-script"))
    }

    @Test func environmentAndNullStdio() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let out = directory.file("out")
        #expect(
            try await run(
                "sh -c 'echo \"$NTF_VALUE\" > \(out); read line; echo \"read=$?\" >> \(out)'",
                environment: ["NTF_VALUE": "hello"])
                == .exited(0))
        // stdin is /dev/null: read hits end of file at once.
        #expect(directory.read("out") == "hello\nread=1\n")
    }

    @Test func timeoutKillsTheProcessGroup() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let pids = directory.file("pids")
        let clock = ContinuousClock()
        let start = clock.now
        // The shell ignores TERM, so only the KILL one second later ends it; its child sleep is in the group.
        let result = try await run(
            "sh -c 'trap \"\" TERM; sleep 10 & echo $$ $! > \(pids); wait'", timeout: .milliseconds(200))
        let elapsed = clock.now - start
        // Ended by the timeout, not by the sleep (10 s): TERM at 0.2 s is ignored, KILL follows one second later (no
        // upper bound on the time: a loaded machine may be slow; the processes' fate below is what matters).
        #expect(result == .timedOut)
        #expect(elapsed >= .seconds(1))
        let recorded = (directory.read("pids") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" })
        #expect(recorded.count == 2)
        try await Task.sleep(for: .milliseconds(100))
        for pid in recorded {
            // The shell was reaped by us; the sleep (reparented to init) was killed with the group.
            let state = TemporaryDirectory.procState(String(pid))
            #expect(state == nil || state == "Z", "process \(pid) still running")
        }
        #expect(log.all.contains { $0.contains("timed out") })
    }

    @Test func plainTimeoutWithTerm() async throws {
        // A sleep that ended by itself would say `.exited(0)`; `.timedOut` is the TERM at 0.2 s.
        #expect(try await run("sleep 30", timeout: .milliseconds(200)) == .timedOut)
    }

    @Test func fiftyConcurrentScripts() async throws {
        let runner = ScriptRunner(identity: .init(uid: geteuid(), gid: getegid(), userName: "self"), logger: log.logger)
        let futures = try (0..<50).map { index in
            runner.run(
                try Notifier.ScriptCommand("sh -c 'sleep 0.$((\(index) % 3)); exit \(index % 5)'"),
                timeout: .seconds(20),
                on: loop)
        }
        var results: [ScriptResult] = []
        for future in futures { results.append(try await future.get()) }
        #expect(results == (0..<50).map { .exited(Int32($0 % 5)) })
    }

    @Test func shutdownKillsWhatRuns() async throws {
        let runner = ScriptRunner(identity: .init(uid: geteuid(), gid: getegid(), userName: "self"), logger: log.logger)
        let future = runner.run(try Notifier.ScriptCommand("sleep 30"), timeout: nil, on: loop)
        try await Task.sleep(for: .milliseconds(100))
        runner.shutdown()
        #expect(try await future.get() == .signalled(SIGKILL))
        guard
            case .failedToStart = try await runner.run(try Notifier.ScriptCommand("true"), timeout: nil, on: loop).get()
        else {
            Issue.record("a shut-down runner must not start programs")
            return
        }
    }

    @Test(.enabled(if: isRoot && hasUseradd)) func runsAsAnotherUser() async throws {
        try await withScriptUser("ntf-script-run") {
            let identity = try ScriptIdentity.resolve(user: "ntf-script-run", group: nil)
            #expect(identity.uid != 0)
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            chmod(directory.path, 0o777)
            let out = directory.file("id")
            // The runner's own identity is ours; the call overrides it.
            let runner = ScriptRunner(identity: .root, logger: log.logger)
            let result = try await runner.run(
                try Notifier.ScriptCommand("sh -c 'id -u > \(out); id -g >> \(out); id -G >> \(out)'"), as: identity,
                timeout: .seconds(10), on: loop
            ).get()
            #expect(result == .exited(0))
            #expect(directory.read("id") == "\(identity.uid)\n\(identity.gid)\n\(identity.gid)\n")
        }
    }
}

extension TemporaryDirectory {
    /// The state letter of /proc/PID/stat, or nil when the process is gone.
    static func procState(_ pid: String) -> String? {
        guard let handle = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(handle) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), handle) != nil else { return nil }
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }
}

@Suite(.serialized) struct NotifyFIFOTests {
    @Test func withoutAReaderLinesAreDroppedAtOnce() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = CapturedLog()
        let fifo = Notifier.NotifyFIFO(path: directory.file("fifo"), logger: log.logger)
        var info = stat()
        #expect(stat(directory.file("fifo"), &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        fifo.write(NotifyFIFOLine.instance(name: "VI_1", state: .master, priority: 100))
        fifo.write("GROUP \"G1\" BACKUP 0")
        #expect(fifo.droppedLines == 2)
        #expect(fifo.writtenLines == 0)
    }

    @Test func keptForALateReaderLinesWaitInThePipe() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fifo = Notifier.NotifyFIFO(
            path: directory.file("fifo"), keepsLinesForALateReader: true, logger: CapturedLog().logger)
        fifo.write(NotifyFIFOLine.instance(name: "VI_1", state: .backup, priority: 100))
        fifo.write(NotifyFIFOLine.instance(name: "VI_1", state: .master, priority: 100))
        #expect(fifo.writtenLines == 2 && fifo.droppedLines == 0)
        let reader = open(directory.file("fifo"), O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(reader, &buffer, buffer.count)
        #expect(
            String(decoding: buffer[0..<max(count, 0)], as: UTF8.self)
                == "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n")
    }

    /// A FIFO in a fresh directory with a non-blocking reader already open.
    func withReader(_ body: (Notifier.NotifyFIFO, Int32, String) throws -> Void) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("fifo")
        let fifo = Notifier.NotifyFIFO(path: path, logger: CapturedLog().logger)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        try body(fifo, reader, path)
    }

    @Test(.enabled(if: isRoot)) func createdFIFOBelongsToItsOwner() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let owner = ScriptIdentity(uid: 65534, gid: 65534, userName: "nobody")
        _ = Notifier.NotifyFIFO(path: directory.file("fifo"), owner: owner, logger: CapturedLog().logger)
        var info = stat()
        #expect(stat(directory.file("fifo"), &info) == 0)
        #expect(info.st_uid == 65534 && info.st_gid == 65534)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func withAReaderLinesArrive() throws { try withReader(linesArrive) }

    func linesArrive(fifo: Notifier.NotifyFIFO, reader: Int32, path: String) {
        fifo.write(NotifyFIFOLine.instance(name: "VI_1", state: .master, priority: 100))
        fifo.write("VS [192.0.2.100]:tcp:80 UP")
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(reader, &buffer, buffer.count)
        #expect(
            String(decoding: buffer[0..<max(count, 0)], as: UTF8.self)
                == "INSTANCE \"VI_1\" MASTER 100\nVS [192.0.2.100]:tcp:80 UP\n")
        #expect(fifo.writtenLines == 2)
        // The reader goes away: EPIPE, reopen finds no reader, the line is dropped — nothing blocks.
        close(reader)
        fifo.write("RS [198.51.100.11]:tcp:80 [192.0.2.100]:tcp:80 DOWN")
        #expect(fifo.droppedLines == 1)
        // A new reader gets the next line.
        let again = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(again) }
        fifo.write("GROUP \"G1\" FAULT 0")
        let second = read(again, &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(second, 0)], as: UTF8.self) == "GROUP \"G1\" FAULT 0\n")
    }

    @Test func aFullPipeDropsInsteadOfBlocking() throws { try withReader(fullPipeDrops) }

    func fullPipeDrops(fifo: Notifier.NotifyFIFO, reader: Int32, path: String) {
        defer { close(reader) }
        let line = String(repeating: "x", count: 999)
        for _ in 0..<200 { fifo.write(line) }  // 200 kB into a 64 kB pipe nobody reads
        #expect(fifo.writtenLines + fifo.droppedLines == 200)
        #expect(fifo.droppedLines > 0)
    }
}
