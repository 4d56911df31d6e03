import Testing
import WorkerIPC

@testable import Watchdog

@Suite("Supervision decisions")
struct SupervisionPolicyTests {
    let policy = SupervisionPolicy(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(30))

    @Test("a worker that reported its state is restarted at once, however soon it died (killed every 2 s)")
    func aHealthyWorkerIsRestartedAtOnceEveryTime() {
        var quick = 0
        for _ in 0..<50 {
            #expect(
                policy.decide(role: "vrrp", exit: .signaled(9), reportedState: true, quickDeaths: &quick)
                    == .restart(after: .zero))
        }
        #expect(quick == 0)
    }

    @Test func aCrashLoopBacksOffExponentiallyUpToTheCap() {
        var quick = 0
        var delays: [Duration] = []
        for _ in 0..<12 {
            guard
                case .restart(let delay) = policy.decide(
                    role: "checker", exit: .signaled(11), reportedState: false, quickDeaths: &quick)
            else {
                Issue.record("expected a restart")
                return
            }
            delays.append(delay)
        }
        #expect(
            delays == [
                .zero, .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .milliseconds(3200), .milliseconds(6400), .milliseconds(12800),
                .milliseconds(25600), .seconds(30), .seconds(30),
            ])
        // One run that reached its steady state resets the loop.
        #expect(
            policy.decide(role: "checker", exit: .exited(1), reportedState: true, quickDeaths: &quick)
                == .restart(after: .zero))
        #expect(quick == 0)
        #expect(
            policy.decide(role: "checker", exit: .exited(1), reportedState: false, quickDeaths: &quick)
                == .restart(after: .zero))
    }

    @Test(arguments: [WorkerExitCode.badConfig, WorkerExitCode.missingPermission, WorkerExitCode.fatal])
    func configurationAndPermissionFailuresStopTheDaemon(_ status: Int32) {
        var quick = 0
        guard
            case .stopDaemon(let line) = policy.decide(
                role: "vrrp", exit: .exited(status), reportedState: true, quickDeaths: &quick)
        else {
            Issue.record("expected the daemon to stop")
            return
        }
        #expect(
            line.contains("vrrp worker") && line.contains("exit status \(status)") && line.hasSuffix("vigild stops"))
    }

    static func answer(progressAge milliseconds: Int64) -> WorkerHeartbeat {
        WorkerHeartbeat(
            sequence: 1, answeredAt: 10_000_000_000, progressAt: 10_000_000_000 - milliseconds * 1_000_000,
            maxLoopLag: 0)
    }

    @Test("a ping unanswered for two heartbeats means a stopped worker or a stuck IPC thread")
    func unansweredPings() {
        let heartbeat = HeartbeatPolicy(interval: .milliseconds(200))
        let fresh = Self.answer(progressAge: 10)
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .milliseconds(400),
                oldestUnanswered: .milliseconds(350), lastHeartbeat: fresh) == .alive)
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .milliseconds(401),
                oldestUnanswered: .milliseconds(350), lastHeartbeat: fresh) == .unanswered(for: .milliseconds(401)))
        // All answered: however long ago the last answer came (a watchdog busy with a reload sent no ping).
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .seconds(8), oldestUnanswered: nil,
                lastHeartbeat: fresh) == .alive)
        // A ping sent just now (the watchdog is back from a long reload) has not had its chance yet.
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .seconds(8),
                oldestUnanswered: .milliseconds(150), lastHeartbeat: fresh) == .alive)
    }

    @Test("answers without engine progress for two heartbeats mean a loop stuck in one task; a busy loop is alive")
    func stuckLoops() {
        let heartbeat = HeartbeatPolicy(interval: .milliseconds(200))
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .zero, oldestUnanswered: nil,
                lastHeartbeat: Self.answer(progressAge: 400)) == .alive)
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .zero, oldestUnanswered: nil,
                lastHeartbeat: Self.answer(progressAge: 401)) == .stuck(for: .milliseconds(401)))
        // In every phase: a worker applying a configuration gets no more time than any other.
        #expect(
            heartbeat.judge(
                sinceStart: .milliseconds(900), helloReceived: true, sinceLastAnswer: .zero, oldestUnanswered: nil,
                lastHeartbeat: Self.answer(progressAge: 500)) == .stuck(for: .milliseconds(500)))
    }

    @Test("before its hello a worker that keeps running has the start-up timeout")
    func startup() {
        let heartbeat = HeartbeatPolicy(interval: .milliseconds(200))
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(29), helloReceived: false, sinceLastAnswer: .seconds(29), oldestUnanswered: nil,
                lastHeartbeat: nil, startupIdle: .milliseconds(50))
                == .alive)
        #expect(
            heartbeat.judge(
                sinceStart: .milliseconds(30001), helloReceived: false, sinceLastAnswer: .milliseconds(30001),
                oldestUnanswered: nil, lastHeartbeat: nil, startupIdle: .zero)
                == .noHello(silence: .milliseconds(30001)))
        // Unreadable /proc: only the timeout judges.
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(4), helloReceived: false, sinceLastAnswer: .seconds(4), oldestUnanswered: nil,
                lastHeartbeat: nil)
                == .alive)
        #expect(
            LivenessVerdict.stuck(for: .milliseconds(2350)).reason
                == "its engine's loop made no progress for 2350.0 ms (stuck in one task)")
    }

    @Test("before its hello a worker that does not run (SIGSTOP) is replaced after two intervals")
    func startupStalled() {
        let heartbeat = HeartbeatPolicy(interval: .milliseconds(200))
        #expect(
            heartbeat.judge(
                sinceStart: .milliseconds(401), helloReceived: false, sinceLastAnswer: .milliseconds(401),
                oldestUnanswered: nil, lastHeartbeat: nil, startupIdle: .milliseconds(401))
                == .startupStalled(for: .milliseconds(401)))
        #expect(
            heartbeat.judge(
                sinceStart: .milliseconds(399), helloReceived: false, sinceLastAnswer: .milliseconds(399),
                oldestUnanswered: nil, lastHeartbeat: nil, startupIdle: .milliseconds(399))
                == .alive)
        #expect(
            heartbeat.judge(
                sinceStart: .seconds(3), helloReceived: false, sinceLastAnswer: .seconds(3),
                oldestUnanswered: nil, lastHeartbeat: nil, startupIdle: .milliseconds(300))
                == .alive)
    }

    @Test("/proc/PID/stat gives the state and the CPU time, whatever the command name holds")
    func startupProgressParses() throws {
        let text = "4242 (vigild (x) y) T 1 4242 4242 0 -1 4194560 900 0 0 0 17 5 0 0 20 0 3 0 12345 1 2 3\n"
        let progress = try #require(StartupProgress(procStat: text))
        #expect(progress == StartupProgress(state: "T", cpuTicks: 22))
        #expect(!progress.progressed(since: progress))
        #expect(progress.progressed(since: StartupProgress(state: "S", cpuTicks: 21)))
        #expect(StartupProgress(state: "R", cpuTicks: 22).progressed(since: progress))
        #expect(StartupProgress(state: "D", cpuTicks: 0).progressed(since: nil))
        #expect(!StartupProgress(state: "S", cpuTicks: 9).progressed(since: nil))
        #expect(StartupProgress(procStat: "4242 (vigild) T 1") == nil)
        #expect(StartupProgress(procStat: "garbage") == nil)
    }

    @Test func durationsConvertToNanoseconds() {
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.nanoseconds(7).nanoseconds == 7)
    }

    @Test func directoryNames() {
        #expect(directoryName("/run/vigil/vigild.sock") == "/run/vigil")
        #expect(directoryName("/vigild.sock") == "/")
        #expect(directoryName("vigild.sock") == ".")
    }
}
