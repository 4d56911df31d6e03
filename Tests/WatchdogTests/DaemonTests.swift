import Foundation
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The real `vigild` with real workers, as root, each daemon in a network namespace of its own.
@Suite("vigild supervision", .serialized, .enabled(if: isRoot), .timeLimit(.minutes(3)))
struct DaemonTests {
    /// kill -9 each worker 20 times: every restart is logged and counted, and the new worker says hello
    /// well under 100 ms after the old one died.
    @Test func killedWorkersAreRestartedAtOnce() throws {
        let daemon = try DaemonUnderTest(config: threeWorkerConfig)
        defer { daemon.tearDown() }
        try daemon.start(workers: 3)
        var latencies: [WorkerRole: [Double]] = [:]
        var observed: [Double] = []
        for round in 1...20 {
            let before = try #require(daemon.status())
            let start = monotonicMilliseconds()
            for worker in before.workers { kill(try #require(worker.pid), SIGKILL) }
            try waitFor("restart \(round)", seconds: 5) {
                guard let status = daemon.status() else { return false }
                return status.workers.allSatisfy { worker in
                    let old = before.workers.first { $0.role == worker.role }?.pid
                    return worker.restartCount == round && worker.pid != old && worker.lastHeartbeatSecondsAgo != nil
                        && worker.ready == true
                }
            }
            observed.append(Double(milliseconds(since: start)))
            for worker in try #require(daemon.status()).workers {
                latencies[worker.role, default: []].append(try #require(worker.lastRestartMilliseconds))
            }
            // Each worker had applied its configuration (reported its state): however soon it is killed
            // again, that is not a crash loop, and the next kill also restarts at once.
        }
        // The watchdog's log is written by a thread of its own: the last round's lines may reach the file just after
        // the status shows the workers ready.
        try? waitFor("the last restart in the log", seconds: 5) {
            let log = daemon.log
            return WorkerRole.allCases.allSatisfy {
                log.components(separatedBy: "\($0) worker restarted").count - 1 == 20
            }
        }
        let log = daemon.log
        for role in WorkerRole.allCases {
            let values = try #require(latencies[role])
            #expect(values.count == 20)
            let median = percentile(values, 0.5)
            print(
                "\(role) worker: death to hello over 20 kills: median \(String(format: "%.1f", median)) ms, "
                    + "p99 \(String(format: "%.1f", percentile(values, 0.99))) ms, "
                    + "max \(String(format: "%.1f", values.max()!)) ms; each: \(values.map { Int($0) })")
            // At once, not backed off (a crash-loop backoff starts at 100 ms and doubles): the watchdog's own
            // decision, from its log. The times above are the figure, printed, not asserted: a loaded machine
            // slows the exec and the hello, not the decision.
            let atOnce = log.components(separatedBy: "\n").filter {
                $0.contains("\(role) worker (pid") && $0.contains("restarting at once")
            }
            #expect(atOnce.count == 20, "restarts at once: \(atOnce.count) of 20")
            #expect(log.components(separatedBy: "\(role) worker restarted").count - 1 == 20)
            #expect(daemon.worker(role)?.restartCount == 20)
        }
        print("kill to new worker visible in vigilctl status (polling): median \(percentile(observed, 0.5)) ms")
        #expect(!log.contains("crash loop"))
    }

    /// Deaths before the first state report are a crash loop: the restarts back off (0, 100 ms, 200 ms …).
    @Test func aCrashLoopBacksOff() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        var killed: Set<pid_t> = [try #require(daemon.worker(.vrrp)?.pid)]
        kill(killed.first!, SIGKILL)
        // Kill each successor as soon as its pid file names it, before it can apply its configuration, until the
        // second backoff is logged. On a loaded host a successor can report its state before it is killed: that
        // run ends the loop (its death restarts at once) and the next deaths start a new one, so the test goes on
        // killing rather than counting five deaths.
        let backoff = "restarting in 0.2 seconds (crash loop)"
        // The pid file is read every 0.5 ms, the whole log only every 20 ms (not 2,000 reads of a growing file a
        // second).
        let deadline = monotonicMilliseconds() + 20_000
        var nextLogRead = 0
        while monotonicMilliseconds() < deadline {
            if let pid = readPid(daemon.vrrpPidFile), pid > 1, !killed.contains(pid) {
                kill(pid, SIGKILL)
                killed.insert(pid)
            }
            if monotonicMilliseconds() >= nextLogRead {
                if daemon.log.contains(backoff) { break }
                nextLogRead = monotonicMilliseconds() + 20
            }
            usleep(500)
        }
        // The first worker had reported its state: its death restarts at once. Its successors died before
        // theirs: the first of them restarts at once too, then 100 ms, 200 ms.
        let log = daemon.log
        #expect(log.contains("restarting at once (restart 2)"), "\(log)")
        let first = try #require(log.range(of: "restarting in 0.1 seconds (crash loop)"), "\(log)")
        let second = try #require(log.range(of: backoff), "\(log)")
        #expect(first.upperBound < second.lowerBound, "\(log)")
    }

    /// When the watchdog is killed outright, its workers follow (PR_SET_PDEATHSIG).
    @Test func workersDieWithTheWatchdog() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let workers = try #require(daemon.status()).workers.compactMap(\.pid)
        kill(daemon.process.processIdentifier, SIGKILL)
        try waitFor("the workers to exit", seconds: 3) {
            workers.allSatisfy { pid in
                let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                    .split(separator: " ").dropFirst(2).first
                return state == nil || state == "Z"
            }
        }
    }

    /// vigild reads its file once at start: the check of the file and the daemon share one parse (every start read
    /// it twice). Counted by inotify: the opens of the file until the workers have their configurations.
    @Test func theFileIsReadOnceAtStart() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        try #require(watch >= 0)
        defer { close(watch) }
        // The closes too: identical events in a row are merged into one, an open and its close are not.
        try #require(inotify_add_watch(watch, daemon.config, UInt32(IN_OPEN | IN_CLOSE)) >= 0)
        try daemon.start()
        var opens = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            // Each event: an inotify_event, then `len` bytes of name.
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
                if event.mask & UInt32(IN_OPEN) != 0 { opens += 1 }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
        #expect(opens == 1, "\(daemon.config) opened \(opens) times")
    }

    /// Footprint: after the load the watchdog and each worker give back the heap and the start-up code they touched
    /// (their resident size falls, as each logs; the real-time VRRP worker then locks); none of them maps Foundation
    /// or ICU.
    @Test func processesTrimAfterTheLoadAndMapNoFoundation() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        // Without -D: the trim runs (and says so) in an operator's log level.
        try daemon.start(debug: false)
        let trims = [
            "watchdog: [Watchdog] memory given back after the load", "vrrp-worker: [Watchdog] memory given back",
        ]
        try waitFor("the watchdog and the VRRP worker to trim", seconds: 10) {
            trims.allSatisfy { daemon.log.contains($0) }
        }
        // The first trim of each process makes vigild's constants (`.rodata`, which the linker leaves writable) read-only,
        // for this and later trims to give them back with the code.
        for process in ["watchdog", "vrrp-worker"] {
            let protected = daemon.log.split(separator: "\n").filter {
                $0.contains("\(process): [Watchdog] memory given back")
                    && $0.contains("KiB of read-only data protected")
            }
            #expect(protected.count == 1, "\(process): \(protected)")
        }
        // And once more when the load's follow-up is over (MemoryTrim.settleDelay): the first transitions' and reports'
        // code goes back too, and the VRRP worker is locked again.
        let settled = ["watchdog", "vrrp-worker"].map { "\($0): [Watchdog] memory given back once settled" }
        try waitFor("the watchdog and the VRRP worker to trim once settled", seconds: 25) {
            settled.allSatisfy { daemon.log.contains($0) }
        }
        for line in daemon.log.split(separator: "\n") where line.contains("memory given back") {
            let numbers = line.split(separator: ": ").last!.split(separator: "(").first!.split(separator: " ")
                .compactMap { Int($0) }
            // Resident before, after, and the heap in use (then how long the heap's trim took, "0.4 ms").
            #expect(numbers.count == 3, "\(line)")
            print(line)
            // The VRRP worker too: real-time by default, but with a 10 s RLIMIT_RTTIME it drops its start-up
            // mappings, then locks.
            #expect(numbers[1] < numbers[0], "\(line)")
            if line.contains("vrrp-worker") { #expect(line.contains("memory locked"), "\(line)") }
        }
        let status = try #require(daemon.status())
        let pids = [daemon.process.processIdentifier] + status.workers.compactMap(\.pid)
        #expect(pids.count == 3)
        // What `ps` shows, in vigilctl status: the watchdog's and each worker's resident memory.
        try waitFor("the resident sizes in the status", seconds: 5) {
            guard let status = daemon.status() else { return false }
            return (status.residentKiB ?? 0) > 0 && status.workers.allSatisfy { ($0.residentKiB ?? 0) > 0 }
        }
        let rendered = try #require(daemon.status()).rendered
        #expect(rendered.components(separatedBy: " MiB resident").count == 4, "\(rendered)")
        for pid in pids {
            let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
            for library in ["/libFoundation.so", "/libFoundationInternationalization.so", "_FoundationICU", "libicu"] {
                #expect(!maps.contains(library), "process \(pid) maps \(library)")
            }
        }
        // A restarted worker's whole configuration is encoded again: the watchdog gives that heap back too (with
        // 1,000 x 10 real servers its resident size stayed 7 MiB higher after a checker's restart).
        let vrrp = try #require(daemon.worker(.vrrp)?.pid)
        kill(vrrp, SIGKILL)
        try waitFor("the watchdog to trim after the VRRP worker's restart", seconds: 20) {
            daemon.log.contains(
                "watchdog: [Watchdog] memory given back after sending the vrrp worker its configuration")
        }
    }

    /// Transparent huge pages are off in the watchdog and each worker (on a kernel that backs memory with them
    /// wherever it can, Debian's, a thread's stack or a malloc arena holds 2 MiB pages for kilobytes in use), and a
    /// script vigild starts runs with them as vigild itself was started, as under keepalived.
    @Test func processesRunWithoutHugePagesAndTheirScriptsAsStarted() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        let script = daemon.directory.appendingPathComponent("thp.sh").path
        let output = daemon.directory.appendingPathComponent("thp.out").path
        try "#!/bin/sh\ngrep THP_enabled /proc/$$/status > \(output).new && mv \(output).new \(output)\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        #expect(chmod(script, 0o755) == 0)
        let config = twoWorkerConfig.replacingOccurrences(
            of: "    priority 100\n", with: "    priority 100\n    notify_master \(script)\n")
        #expect(config.contains("notify_master"))
        try config.write(toFile: daemon.config, atomically: true, encoding: .utf8)
        try daemon.start()
        func thp(_ process: String) throws -> String {
            let status = try String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8)
            return try #require(status.split(separator: "\n").first { $0.hasPrefix("THP_enabled:") }).description
        }
        let status = try #require(daemon.status())
        let pids = [daemon.process.processIdentifier] + status.workers.compactMap(\.pid)
        #expect(pids.count == 3)
        for pid in pids { #expect(try thp("\(pid)") == "THP_enabled:\t0", "process \(pid)") }
        // The lone BACKUP becomes MASTER once no advert came for its master-down interval (about 3.6 s).
        try waitFor("the notify_master script to run", seconds: 20) {
            FileManager.default.fileExists(atPath: output)
        }
        let scripts = try String(contentsOfFile: output, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(scripts == (try thp("self")), "the script's setting is the one vigild was started with (this test's)")
    }

    /// A stopped worker (SIGSTOP) answers nothing and is replaced within two heartbeats (the default, 1 s).
    @Test func aStoppedWorkerIsReplaced() throws {
        let daemon = try DaemonUnderTest(config: threeWorkerConfig)
        defer { daemon.tearDown() }
        try daemon.start(workers: 3)
        for role in WorkerRole.allCases {
            let old = try #require(daemon.worker(role)?.pid)
            let start = monotonicMilliseconds()
            kill(old, SIGSTOP)
            try waitFor("the stopped \(role) worker to be replaced", seconds: 30) {
                guard let worker = daemon.worker(role) else { return false }
                return worker.pid != old && worker.lastHeartbeatSecondsAgo != nil
            }
            let elapsed = milliseconds(since: start)
            print("SIGSTOPped \(role) worker replaced after \(elapsed) ms (heartbeat 1000 ms)")
            // Two heartbeats and a quarter of judging granularity is the policy (SupervisionPolicyTests, on a virtual
            // clock); here the time is printed, not asserted: a loaded machine delays the watchdog and this poll.
            #expect(kill(old, 0) != 0, "the hung worker must be gone")
            #expect(daemon.worker(role)?.lastKillReason?.contains("answered no heartbeat") == true)
        }
    }

    /// Starved is not hung. Every worker's threads are put on one CPU at SCHED_IDLE beside a CPU-bound process at
    /// nice -20 for six heartbeats: the kernel gives them no CPU at all (measured here: a SCHED_IDLE process under
    /// such a neighbour did not run for 25 s), so none answers a ping. The watchdog reads from the kernel that their
    /// threads were waiting for a CPU, not stopped or spinning: it says so once, counts it, and kills none; once the
    /// neighbour is gone they answer again. (A stopped one is still replaced: `aStoppedWorkerIsReplaced`.)
    @Test func aStarvedWorkerIsNotReplaced() throws {
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        try #require(cpus >= 2, "needs two CPUs: one to starve the workers on, one for the watchdog")
        let daemon = try DaemonUnderTest(config: threeWorkerConfig)
        defer { daemon.tearDown() }
        try daemon.start(workers: 3)
        let watchdog = daemon.process.processIdentifier
        let pids = try WorkerRole.allCases.map { try #require(daemon.worker($0)?.pid) }
        let starvedCPU = "\(cpus - 1)"
        // The watchdog and this test stay on the other CPUs; the workers (every thread) go to the last one, at the
        // lowest scheduling class.
        #expect(try runCommand("/usr/bin/taskset", ["-a", "-p", "-c", "0-\(cpus - 2)", "\(watchdog)"]).status == 0)
        for pid in pids {
            let pinned = try runCommand("/usr/bin/taskset", ["-a", "-p", "-c", starvedCPU, "\(pid)"])
            #expect(pinned.status == 0, "\(pinned.output)")
            let idle = try runCommand("/usr/bin/chrt", ["-a", "-i", "-p", "0", "\(pid)"])
            #expect(idle.status == 0, "\(idle.output)")
        }
        let hogOutput = daemon.directory.appendingPathComponent("hog.out").path
        let hog = try spawnCommand(
            "/usr/bin/taskset",
            ["-c", starvedCPU, "/usr/bin/nice", "-n", "-20", "/bin/sh", "-c", "while :; do :; done"],
            output: hogOutput)
        defer {
            kill(hog, SIGKILL)
            var status: Int32 = 0
            waitpid(hog, &status, 0)
        }
        let start = monotonicMilliseconds()
        // Six heartbeats (three times the limit) without CPU.
        while monotonicMilliseconds() - start < 6000 { usleep(100_000) }
        let during = try #require(daemon.status())
        kill(hog, SIGKILL)
        // Once the neighbour is gone the workers run, and answer.
        try waitFor("the workers to answer again", seconds: 30) {
            guard let status = daemon.status() else { return false }
            return status.workers.allSatisfy { ($0.lastHeartbeatSecondsAgo ?? 99) < 1 && $0.starvedNow == false }
        }
        let status = try #require(daemon.status())
        let log = daemon.log
        let verdicts = log.split(separator: "\n").filter { $0.contains("starved") || $0.contains("killing it") }
        print("starved for 6 s:\n" + verdicts.joined(separator: "\n"))
        #expect(status.workers.map(\.pid) == pids, "\(verdicts.joined(separator: "\n"))")
        #expect(status.workers.allSatisfy { $0.restartCount == 0 })
        #expect(!log.contains("killing it"))
        // SCHED_IDLE beside a nice -20 spinner gets a few slices a second from the kernel, not none: a worker may answer
        // in one of them and never be silent past the limit (1 run in about 20 on this host: the checker). Each worker
        // was either judged starved, and said to run again, or never judged at all; and at least one was judged.
        var judged = 0
        for role in WorkerRole.allCases {
            let worker = try #require(status.workers.first { $0.role == role })
            let name = "\(role) worker (pid \(worker.pid ?? 0)) "
            let lines = verdicts.filter { $0.contains(name) && !$0.contains("runs again") }
            guard (worker.starvedCount ?? 0) >= 1 || !lines.isEmpty else { continue }
            judged += 1
            // Silent (or its loop without progress) for more than the limit: the verdict was taken, and it was
            // "starved" — whichever of its two threads the watchdog found behind first.
            #expect((worker.starvedCount ?? 0) >= 1, "\(role) worker: \(String(describing: worker.starvedCount))")
            #expect(lines.allSatisfy { $0.contains("but it is starved, not hung") }, "\(lines)")
            #expect(log.contains(name + "runs again after being starved"))
        }
        #expect(judged >= 1)
        #expect(log.contains("but it is starved, not hung"))
        #expect(during.workers.contains { $0.starvedNow == true }, "vigilctl status shows the starvation as it happens")
        let rendered = during.rendered
        #expect(rendered.contains("starved of CPU"), "\(rendered)")
    }

    /// A worker stopped before its hello has no IPC thread to answer pings: the watchdog sees from `/proc` that it
    /// does not run and replaces it within two heartbeats, as after the hello (the start-up timeout is for a worker
    /// that keeps running). The debug build's fault injection stops the successor of a SIGSTOPped worker itself.
    @Test func aWorkerStoppedBeforeItsHelloIsReplaced() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        let trigger = daemon.directory.appendingPathComponent("stop-before-hello").path
        try daemon.start(environment: ["VIGIL_DEBUG_STOP_BEFORE_HELLO": trigger])
        let first = try #require(daemon.worker(.checker)?.pid)
        #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
        kill(first, SIGSTOP)
        let start = monotonicMilliseconds()
        try waitFor("the stopped checker worker and its successor stopped before its hello to be replaced", seconds: 30)
        {
            guard let worker = daemon.worker(.checker) else { return false }
            return worker.restartCount >= 2 && worker.lastHeartbeatSecondsAgo != nil
        }
        print("two stopped checker workers (one before its hello) replaced after \(milliseconds(since: start)) ms")
        #expect(!FileManager.default.fileExists(atPath: trigger), "the successor must have found the trigger")
        #expect(daemon.worker(.checker)?.lastKillReason?.contains("has not run for") == true)
        #expect(daemon.log.contains("did not say hello and has not run for"))
        #expect(kill(first, 0) != 0)
    }

    /// A worker whose engine's loop is stuck in one task still answers on its IPC thread, but shows no progress:
    /// replaced within two heartbeats, whichever worker and whatever it was doing.
    @Test func aWorkerStuckInOneTaskIsReplaced() throws {
        let daemon = try DaemonUnderTest(config: threeWorkerConfig)
        defer { daemon.tearDown() }
        try daemon.start(workers: 3)
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        for role in WorkerRole.allCases {
            let old = try #require(daemon.worker(role)?.pid)
            let start = monotonicMilliseconds()
            let result = try runCommand(
                vigilctl, ["debug-stall", role.rawValue, "20000", "--control-socket", daemon.socket])
            #expect(result.status == 0, "\(result.output)")
            try waitFor("the stuck \(role) worker to be replaced", seconds: 30) {
                guard let worker = daemon.worker(role) else { return false }
                return worker.pid != old && worker.lastHeartbeatSecondsAgo != nil
            }
            let elapsed = milliseconds(since: start)
            print("\(role) worker stuck in one task replaced after \(elapsed) ms (heartbeat 1000 ms)")
            #expect(daemon.worker(role)?.lastKillReason?.contains("made no progress") == true)
        }
        #expect(daemon.log.contains("stuck in one task); killing it"))
    }

    /// A worker whose loop runs at full CPU for six heartbeats but keeps turning (many tasks in a row) is busy, not
    /// hung: never replaced; its loop lag shows in `vigilctl status`.
    @Test func aBusyWorkerIsNeverReplaced() throws {
        let daemon = try DaemonUnderTest(config: threeWorkerConfig)
        defer { daemon.tearDown() }
        try daemon.start(workers: 3)
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        let pids = try WorkerRole.allCases.map { try #require(daemon.worker($0)?.pid) }
        for role in WorkerRole.allCases {
            let result = try runCommand(
                vigilctl, ["debug-stall", role.rawValue, "6000", "--slices", "120", "--control-socket", daemon.socket])
            #expect(result.status == 0, "\(result.output)")
        }
        // The beacon waits behind the 120 tasks, so the lag shows in the first answer after them: keep watching a
        // few seconds past the stall (a loaded machine runs it late).
        var lag = 0.0
        let deadline = monotonicMilliseconds() + 10_000
        while monotonicMilliseconds() < deadline {
            lag = max(lag, daemon.status()?.workers.compactMap(\.loopLagMilliseconds).max() ?? 0)
            usleep(50_000)
        }
        let status = try #require(daemon.status())
        let restarts = daemon.log.split(separator: "\n").filter { $0.contains("restart") || $0.contains("SIGXCPU") }
        #expect(status.workers.map(\.pid) == pids, "\(restarts.joined(separator: "\n"))")
        #expect(status.workers.allSatisfy { $0.restartCount == 0 })
        print("busy workers' largest loop lag seen: \(lag) ms")
        #expect(lag >= 30, "each 50 ms task delays the beacon")
        #expect(!daemon.log.contains("killing it"))
    }

    /// SIGTERM: every process exits within 5 s; pid files and the control socket are removed.
    @Test func sigtermStopsEverything() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let workers = try #require(daemon.status()).workers.compactMap(\.pid)
        #expect(workers.count == 2)
        let start = monotonicMilliseconds()
        kill(daemon.process.processIdentifier, SIGTERM)
        try waitFor("vigild to exit", seconds: 5) { !daemon.process.isRunning }
        let elapsed = milliseconds(since: start)
        print("SIGTERM to exit of every process: \(elapsed) ms")
        #expect(daemon.process.terminationStatus == 0)
        for pid in workers { #expect(kill(pid, 0) != 0) }
        for path in [daemon.pidFile, daemon.vrrpPidFile, daemon.checkersPidFile, daemon.socket] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) left behind")
        }
        let log = daemon.log
        #expect(log.contains("vigild stopped"))
        #expect(log.contains("releasing what this worker owns"))
    }

    /// `-V` and `-I` reach the workers, which then leave VIPs and rules in place.
    @Test func dontReleaseFlagsReachTheWorkers() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start(extra: ["-V", "-I"])
        kill(daemon.process.processIdentifier, SIGTERM)
        try waitFor("vigild to exit", seconds: 5) { !daemon.process.isRunning }
        #expect(daemon.log.components(separatedBy: "leaving VIPs and rules").count - 1 == 2)
    }

    @Test func aSecondInstanceWithTheSamePidFileRefusesToStart() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let vigild = builtProducts.appendingPathComponent("vigild").path
        let other = daemon.arguments.map { $0 == daemon.socket ? daemon.socket + "2" : $0 }
        for foreground in [true, false] {
            let result = try runCommand(vigild, (foreground ? ["-n"] : []) + other, timeout: 10)
            #expect(result.status == 1)
            #expect(
                result.output.contains(
                    "another vigild (pid \(daemon.process.processIdentifier)) is running with pid file \(daemon.pidFile)"
                ), "\(result.output)")
        }
        #expect(daemon.process.isRunning)
        #expect(daemon.status() != nil)
    }

    /// SIGHUP and `vigilctl reload` re-validate; an invalid file is refused with FILE:LINE and the daemon
    /// keeps running; SIGUSR1/SIGUSR2 write dumps beside the control socket, mode 0600.
    @Test func reloadAndDumps() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        var result = try runCommand(vigilctl, ["reload", "--control-socket", daemon.socket])
        #expect(result.status == 0 && result.output.contains("reloaded"), "\(result.output)")

        try Data((twoWorkerConfig + "vrrp_instance VI_2 {\n    priorty 5\n}\n").utf8)
            .write(to: URL(fileURLWithPath: daemon.config))
        result = try runCommand(vigilctl, ["reload", "--control-socket", daemon.socket])
        #expect(result.status == 1)
        #expect(result.output.contains("still running the previous configuration"), "\(result.output)")
        kill(daemon.process.processIdentifier, SIGHUP)
        try waitFor("the refused SIGHUP reload in the log", seconds: 5) {
            daemon.log.components(separatedBy: "reload refused").count - 1 == 2
        }
        #expect(daemon.log.contains("\(daemon.config):21: error: unknown keyword 'priorty'"))
        #expect(daemon.process.isRunning)
        #expect(daemon.status()?.workers.count == 2)

        kill(daemon.process.processIdentifier, SIGUSR1)
        kill(daemon.process.processIdentifier, SIGUSR2)
        let directory = daemon.directory.appendingPathComponent("run")
        for name in ["vigild.data", "vigild.stats"] {
            let path = directory.appendingPathComponent(name).path
            try waitFor(name, seconds: 5) { FileManager.default.fileExists(atPath: path) }
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
        let data = try String(contentsOfFile: directory.appendingPathComponent("vigild.data").path, encoding: .utf8)
        #expect(data.contains("vrrp_instance VI_1: "))
        // The workers' own dumps follow the watchdog's view.
        #expect(data.contains("vrrp worker:\nVRRP Instance = VI_1"), "\(data)")
        #expect(data.contains("virtual_server 192.0.2.10 80 quorum"), "\(data)")
        // SIGUSR2: the watchdog's counters, then each worker's own, prefixed with its role.
        let stats = try String(contentsOfFile: directory.appendingPathComponent("vigild.stats").path, encoding: .utf8)
        #expect(stats.contains("vrrp.restarts 0"), "\(stats)")
        #expect(stats.contains("checker.checks_run "), "\(stats)")
        #expect(stats.contains("vrrp.VI_1"), "\(stats)")
    }

    /// `vigilctl status` text and JSON; `vigilctl stop`; then vigilctl fails at once with a clear message.
    @Test func vigilctlStatusStopAndMissingSocket() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        var result = try runCommand(vigilctl, ["status", "--control-socket", daemon.socket])
        #expect(result.status == 0)
        #expect(result.output.contains("vrrp worker: pid "), "\(result.output)")
        #expect(result.output.contains("vrrp_instance VI_1: "))
        #expect(result.output.contains("virtual_server 192.0.2.10 80: "))
        result = try runCommand(vigilctl, ["status", "--json", "--control-socket", daemon.socket])
        let status = try JSONDecoder().decode(DaemonStatus.self, from: Data(result.output.utf8))
        #expect(status.workers.map(\.role) == [.vrrp, .checker])

        result = try runCommand(vigilctl, ["stop", "--control-socket", daemon.socket])
        #expect(result.status == 0 && result.output.contains("is stopping"))
        let start = monotonicMilliseconds()
        result = try runCommand(vigilctl, ["status", "--control-socket", daemon.socket])
        #expect(result.status == 1)
        #expect(result.output.contains("cannot reach vigild at \(daemon.socket)"), "\(result.output)")
        #expect(milliseconds(since: start) < 2000)
        try waitFor("vigild to exit", seconds: 5) { !daemon.process.isRunning }
    }
}

@Suite("vigilctl without a daemon", .timeLimit(.minutes(1)))
struct VigilctlWithoutDaemonTests {
    @Test func aMissingSocketFailsFast() throws {
        let vigilctl = builtProducts.appendingPathComponent("vigilctl").path
        let start = monotonicMilliseconds()
        let result = try runCommand(vigilctl, ["status", "--control-socket", "/tmp/vigil-missing-\(getpid()).sock"])
        #expect(result.status == 1)
        #expect(
            result.output
                == "vigilctl: cannot reach vigild at /tmp/vigil-missing-\(getpid()).sock: no such socket; is vigild running?\n"
        )
        #expect(milliseconds(since: start) < 2000)
    }
}
