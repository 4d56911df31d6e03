import Testing

@testable import Watchdog

@Suite("Supervision decisions")
struct SupervisionPolicyTests {
    let policy = SupervisionPolicy(
        stableUptime: .seconds(1), initialBackoff: .milliseconds(100), maximumBackoff: .seconds(30))

    @Test func aHealthyWorkerIsRestartedAtOnceEveryTime() {
        var quick = 0
        for _ in 0..<50 {
            #expect(
                policy.decide(role: "vrrp", exit: .signaled(9), uptime: .seconds(2), quickDeaths: &quick)
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
                    role: "checker", exit: .signaled(11), uptime: .milliseconds(20), quickDeaths: &quick)
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
        // One healthy run resets the loop.
        #expect(
            policy.decide(role: "checker", exit: .exited(1), uptime: .seconds(5), quickDeaths: &quick)
                == .restart(after: .zero))
        #expect(quick == 0)
        #expect(
            policy.decide(role: "checker", exit: .exited(1), uptime: .zero, quickDeaths: &quick)
                == .restart(after: .zero))
    }

    @Test(arguments: [WorkerExitCode.badConfig, WorkerExitCode.missingPermission, WorkerExitCode.fatal])
    func configurationAndPermissionFailuresStopTheDaemon(_ status: Int32) {
        var quick = 0
        guard
            case .stopDaemon(let line) = policy.decide(
                role: "vrrp", exit: .exited(status), uptime: .seconds(100), quickDeaths: &quick)
        else {
            Issue.record("expected the daemon to stop")
            return
        }
        #expect(
            line.contains("vrrp worker") && line.contains("exit status \(status)") && line.hasSuffix("vigild stops"))
    }

    @Test func heartbeatsDeclareAWorkerHungAfterTwoSilentPeriods() {
        var heartbeat = HeartbeatPolicy(interval: .milliseconds(200))
        heartbeat.startupTimeout = .seconds(5)
        #expect(!heartbeat.isHung(silence: .milliseconds(400), helloReceived: true))
        #expect(heartbeat.isHung(silence: .milliseconds(401), helloReceived: true))
        // Before the hello, the (longer) start-up timeout applies.
        #expect(!heartbeat.isHung(silence: .seconds(4), helloReceived: false))
        #expect(heartbeat.isHung(silence: .milliseconds(5001), helloReceived: false))
        // While a configuration is being applied (no state report since it was sent), the engine's loop may be
        // busy for seconds: only the configure timeout applies.
        #expect(!heartbeat.isHung(silence: .seconds(30), helloReceived: true, configuring: true))
        #expect(heartbeat.isHung(silence: .milliseconds(60_001), helloReceived: true, configuring: true))
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
