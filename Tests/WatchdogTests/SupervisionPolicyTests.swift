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

    static func span(onCPU: Int64, waited: Int64, _ state: Character) -> ThreadSpan {
        ThreadSpan(onCPU: .milliseconds(onCPU), waited: .milliseconds(waited), state: state)
    }

    @Test("a main thread asleep behind a loop thread that waits for a CPU is starved; behind a running one, hung")
    func answerBehindAStarvedLoop() {
        let heartbeat = HeartbeatPolicy(interval: .seconds(1))
        func judge(_ silence: Int64, _ answering: ThreadSpan, _ loop: ThreadSpan?) -> LivenessVerdict {
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .milliseconds(silence),
                oldestUnanswered: .milliseconds(silence - 100), lastHeartbeat: Self.answer(progressAge: 10),
                answering: answering, loopSinceLastAnswer: loop)
        }
        // The main thread asleep on the socket's lock, which the loop thread took before the machine's load kept it
        // off the CPU. A likely cause of the checker replaced once in DaemonTests.aStarvedWorkerIsNotReplaced (one
        // full run of the unit tests in five; its log was not kept).
        let asleep = Self.span(onCPU: 0, waited: 0, "S")
        let starvedLoop = Self.span(onCPU: 0, waited: 0, "R")
        #expect(
            judge(2200, asleep, starvedLoop)
                == .answerBehindStarvedLoop(for: .milliseconds(2200), answering: asleep, loop: starvedLoop))
        #expect(!judge(2200, asleep, starvedLoop).kills)
        #expect(judge(2200, asleep, starvedLoop).isStarved)
        #expect(!judge(3000, asleep, Self.span(onCPU: 700, waited: 0, "D")).kills)
        // The loop got a quarter of the silence or more on a CPU (it ran, and would have let go of any lock), or
        // sleeps, or is stopped with the rest: the main thread is hung, as before.
        #expect(judge(2200, asleep, Self.span(onCPU: 550, waited: 0, "R")).kills)
        #expect(judge(2200, asleep, Self.span(onCPU: 0, waited: 0, "S")).kills)
        #expect(judge(2200, asleep, Self.span(onCPU: 0, waited: 0, "T")).kills)
        #expect(judge(2200, asleep, nil) == .unanswered(for: .milliseconds(2200), activity: asleep))
        // A main thread that spins is hung whatever the loop does.
        #expect(judge(2200, Self.span(onCPU: 2100, waited: 0, "S"), starvedLoop).kills)
        #expect(
            judge(2200, asleep, starvedLoop).reason
                == "answered no heartbeat for 2200.0 ms (0.0 ms on a CPU, 0.0 ms in finished waits for one, now "
                + "asleep), but it is starved, not hung: its engine's loop, whose socket the answers share, waits for a "
                + "CPU (0.0 ms on a CPU, 0.0 ms in finished waits for one, now runnable)")
    }

    @Test("a silent main thread that was waiting for a CPU is starved, not hung; stopped, asleep or spinning is hung")
    func starvedIsNotHung() {
        let heartbeat = HeartbeatPolicy(interval: .seconds(1))
        let fresh = Self.answer(progressAge: 10)
        func judge(_ silence: Int64, _ answering: ThreadSpan?) -> LivenessVerdict {
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .milliseconds(silence),
                oldestUnanswered: .milliseconds(silence - 100), lastHeartbeat: fresh, answering: answering)
        }
        // Runnable for 5 s, on a CPU for 40 ms of them: a loaded machine kept it off the CPU.
        let starved = Self.span(onCPU: 40, waited: 4900, "R")
        #expect(judge(5000, starved) == .starved(for: .seconds(5), activity: starved, loop: false))
        #expect(!judge(5000, starved).kills)
        // Asleep now, but it waited for a CPU most of the silence: less than the limit is left unexplained.
        #expect(judge(3000, Self.span(onCPU: 5, waited: 1500, "S")).kills == false)
        // In the kernel's uninterruptible wait (a lock the kernel holds, swap): not hung yet.
        #expect(judge(3000, Self.span(onCPU: 5, waited: 0, "D")).kills == false)
        // SIGSTOP: stopped, no waiting for a CPU: replaced after the limit, as without the kernel's word.
        let stopped = Self.span(onCPU: 0, waited: 0, "T")
        #expect(judge(2001, stopped) == .unanswered(for: .milliseconds(2001), activity: stopped))
        // A deadlock: asleep the whole time.
        #expect(judge(2100, Self.span(onCPU: 1, waited: 2, "S")).kills)
        // An endless loop in the answering thread: it used the limit's worth of CPU, runnable or not.
        #expect(judge(2500, Self.span(onCPU: 2000, waited: 400, "R")).kills)
        // On a loaded machine an endless loop gets its share: killed once that share reaches the limit, not before.
        #expect(!judge(4000, Self.span(onCPU: 1900, waited: 2100, "R")).kills)
        #expect(judge(4500, Self.span(onCPU: 2050, waited: 2400, "R")).kills)
        // Within the limit nothing is judged, whatever the kernel says.
        #expect(judge(1900, stopped) == .alive)
        #expect(
            LivenessVerdict.starved(for: .seconds(5), activity: starved, loop: false).reason
                == "answered no heartbeat for 5000.0 ms, but it is starved, not hung (40.0 ms on a CPU, 4900.0 ms in "
                + "finished waits for one, now runnable)")
        #expect(
            LivenessVerdict.unanswered(for: .milliseconds(2001), activity: stopped).reason
                == "answered no heartbeat for 2001.0 ms (0.0 ms on a CPU, 0.0 ms in finished waits for one, now "
                + "stopped) (stopped, or its IPC thread is stuck)")
    }

    @Test("an engine loop without progress that was waiting for a CPU is starved; one that spun is stuck")
    func starvedLoops() {
        let heartbeat = HeartbeatPolicy(interval: .seconds(1))
        func judge(_ progressAge: Int64, _ loop: ThreadSpan?) -> LivenessVerdict {
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .zero, oldestUnanswered: nil,
                lastHeartbeat: Self.answer(progressAge: progressAge), loop: loop)
        }
        let starved = Self.span(onCPU: 300, waited: 2700, "R")
        #expect(judge(3000, starved) == .starved(for: .seconds(3), activity: starved, loop: true))
        let spinning = Self.span(onCPU: 2100, waited: 0, "R")
        #expect(judge(2100, spinning) == .stuck(for: .milliseconds(2100), activity: spinning))
        #expect(judge(2100, Self.span(onCPU: 0, waited: 0, "S")).kills)
        // Unknown thread (no beacon ran yet, no schedstat): the plain limit.
        #expect(judge(2001, nil) == .stuck(for: .milliseconds(2001)))
    }

    @Test("schedstat and stat give a thread's CPU time, its wait for a CPU and its state")
    func threadActivityParses() throws {
        let stat = "4243 (checker (w)) R 1 4242 4242 0 -1 4194560 900 0 0 0 17 5 0 0 20 0 3 0 12345 1 2 3\n"
        let earlier = try #require(ThreadActivity(stat: stat, schedstat: "1000000 2000000 7\n"))
        #expect(earlier == ThreadActivity(state: "R", onCPU: 1_000_000, waited: 2_000_000))
        let later = ThreadActivity(state: "S", onCPU: 41_000_000, waited: 1_902_000_000)
        #expect(later.since(earlier) == Self.span(onCPU: 40, waited: 1900, "S"))
        #expect(ThreadActivity(stat: stat, schedstat: "") == nil)
        #expect(ThreadActivity(stat: "garbage", schedstat: "1 2 3") == nil)
    }

    @Test("the ledger measures a span from the last reading at or before its start; a new thread starts anew")
    func activityLedger() {
        var ledger = ActivityLedger()
        ledger.capacity = 3
        #expect(ledger.answeringSpan(since: 0) == nil)
        for (index, at) in [100, 200, 300, 400].enumerated() {
            let answering = ThreadActivity(state: "R", onCPU: Int64(index) * 10, waited: Int64(index) * 1000)
            ledger.record(at: Int64(at), answering: (7, answering), loop: (8, answering))
        }
        // Readings at 200, 300, 400 kept: since 250 counts from 200, less the 50 ns before 250; since 50 from the
        // oldest kept, 200.
        #expect(
            ledger.answeringSpan(since: 250)
                == ThreadSpan(onCPU: .zero, waited: .nanoseconds(1950), state: "R"))
        #expect(
            ledger.answeringSpan(since: 200)
                == ThreadSpan(onCPU: .nanoseconds(20), waited: .nanoseconds(2000), state: "R"))
        #expect(ledger.answeringSpan(since: 50) == ledger.answeringSpan(since: 200))
        #expect(ledger.answeringSpan(since: 400) == ThreadSpan(onCPU: .zero, waited: .zero, state: "R"))
        // Until 390: the last reading (400) is 10 ns past it.
        #expect(ledger.answeringSpan(since: 200, until: 390)?.waited == .nanoseconds(1990))
        // The engine's loop moved to another thread (a restarted loop): its old readings say nothing of it.
        ledger.record(at: 500, answering: nil, loop: (9, ThreadActivity(state: "S", onCPU: 5, waited: 5)))
        #expect(ledger.loopSpan(since: 100) == ThreadSpan(onCPU: .zero, waited: .zero, state: "S"))
        #expect(ledger.answeringSpan(since: 250)?.waited == .nanoseconds(1950))
    }

    @Test("sparse readings (a late watchdog) do not blame a loop for the CPU it used before its last progress")
    func sparseReadings() {
        let heartbeat = HeartbeatPolicy(interval: .seconds(1))
        let second: Int64 = 1_000_000_000
        func judge(_ ledger: ActivityLedger, _ answer: WorkerHeartbeat) -> LivenessVerdict {
            heartbeat.judge(
                sinceStart: .seconds(60), helloReceived: true, sinceLastAnswer: .zero, oldestUnanswered: nil,
                lastHeartbeat: answer,
                loop: ledger.loopSpan(since: answer.progressAt, until: answer.answeredAt))
        }
        // A loaded machine: the watchdog read the loop thread at 0 s and next at 5.5 s, 4.5 s of CPU between. The loop
        // made progress at 3 s (busy until then) and answered at 5.2 s: 2.2 s without progress, of which at most
        // 4.5 - 3 - 0.3 = 1.2 s were on a CPU. Runnable: starved, not stuck (it was judged stuck, with 4.5 s of CPU).
        var busy = ActivityLedger()
        busy.record(at: 0, answering: nil, loop: (8, ThreadActivity(state: "R", onCPU: 0, waited: 0)))
        busy.record(
            at: 55 * second / 10, answering: nil,
            loop: (8, ThreadActivity(state: "R", onCPU: 45 * second / 10, waited: 0)))
        let late = WorkerHeartbeat(sequence: 1, answeredAt: 52 * second / 10, progressAt: 3 * second, maxLoopLag: 0)
        let span = ThreadSpan(onCPU: .milliseconds(1200), waited: .zero, state: "R")
        #expect(judge(busy, late) == .starved(for: .milliseconds(2200), activity: span, loop: true))
        // An endless loop on an idle machine, read every 250 ms: all its silence on a CPU, still stuck.
        var spinning = ActivityLedger()
        for tick: Int64 in 0...13 {
            let at = tick * second / 4
            spinning.record(at: at, answering: nil, loop: (8, ThreadActivity(state: "R", onCPU: at, waited: 0)))
        }
        let stuck = WorkerHeartbeat(sequence: 1, answeredAt: 31 * second / 10, progressAt: second, maxLoopLag: 0)
        #expect(judge(spinning, stuck).kills)
        #expect(spinning.loopSpan(since: second, until: 31 * second / 10)?.onCPU == .milliseconds(2100))
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
