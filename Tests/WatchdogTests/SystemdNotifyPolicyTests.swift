import Testing

@testable import Watchdog

@Suite("What vigild tells systemd")
struct SystemdNotifyPolicyTests {
    let second: Int64 = 1_000_000_000

    @Test("READY=1 once every worker reported, with STATUS=; not before")
    func ready() {
        var policy = SystemdNotifyPolicy(watchdogPeriod: nil)
        #expect(
            policy.update(now: 0, allReported: false, workersAlive: true, status: "starting") == ["STATUS=starting"])
        #expect(policy.update(now: second / 2, allReported: false, workersAlive: true, status: "starting") == [])
        #expect(
            policy.update(now: second, allReported: true, workersAlive: true, status: "VI_1 MASTER") == [
                "READY=1\nSTATUS=VI_1 MASTER"
            ])
        #expect(policy.update(now: 2 * second, allReported: true, workersAlive: true, status: "VI_1 MASTER") == [])
    }

    @Test("STATUS= follows changes at most once a second")
    func status() {
        var policy = SystemdNotifyPolicy(watchdogPeriod: nil)
        _ = policy.update(now: 0, allReported: true, workersAlive: true, status: "a")
        #expect(policy.update(now: second / 10, allReported: true, workersAlive: true, status: "b") == [])
        #expect(policy.wakeAt(now: second / 10) == second)
        #expect(policy.update(now: second, allReported: true, workersAlive: true, status: "b") == ["STATUS=b"])
    }

    @Test("A reload: RELOADING=1 with MONOTONIC_USEC, READY=1 once the workers reported on the new file")
    func reload() {
        var policy = SystemdNotifyPolicy(watchdogPeriod: nil)
        _ = policy.update(now: 0, allReported: true, workersAlive: true, status: "s")
        #expect(
            policy.reloading(roles: ["vrrp", "checker"], now: second, monotonicMicroseconds: 1_000_000)
                == "RELOADING=1\nMONOTONIC_USEC=1000000")
        policy.reported(role: "vrrp")
        #expect(policy.update(now: second + 1, allReported: true, workersAlive: true, status: "s") == [])
        policy.reported(role: "checker")
        #expect(
            policy.update(now: second + 2, allReported: true, workersAlive: true, status: "s") == ["READY=1\nSTATUS=s"])
        // A worker that never reports does not keep systemd waiting forever.
        _ = policy.reloading(roles: ["vrrp"], now: 5 * second, monotonicMicroseconds: 5_000_000)
        #expect(policy.wakeAt(now: 5 * second) == 15 * second)
        #expect(
            policy.update(now: 15 * second, allReported: true, workersAlive: true, status: "s") == [
                "READY=1\nSTATUS=s"
            ])
    }

    @Test("WATCHDOG=1 every period while the workers are alive, none while one is not, none once stopping")
    func watchdog() {
        var policy = SystemdNotifyPolicy(watchdogPeriod: 2 * second)
        #expect(policy.update(now: 0, allReported: true, workersAlive: true, status: "s").last == "WATCHDOG=1")
        #expect(policy.update(now: second, allReported: true, workersAlive: true, status: "s") == [])
        #expect(policy.wakeAt(now: second) == 2 * second)
        #expect(policy.update(now: 2 * second, allReported: true, workersAlive: true, status: "s") == ["WATCHDOG=1"])
        #expect(policy.watchdogWithheld == 0)
        #expect(SystemdNotifyPolicy(watchdogPeriod: nil).watchdogWithheld == nil)
        #expect(policy.update(now: 4 * second, allReported: true, workersAlive: false, status: "s") == [])
        #expect(policy.update(now: 5 * second, allReported: true, workersAlive: false, status: "s") == [])
        // One held back for the period it was due in, not one per turn of the loop.
        #expect(policy.watchdogWithheld == 1)
        _ = policy.update(now: 6 * second, allReported: true, workersAlive: false, status: "s")
        #expect(policy.watchdogWithheld == 2)
        // What is overdue is not a reason to spin: the watchdog's own ticks come back to it.
        #expect(policy.wakeAt(now: 6 * second) == nil)
        #expect(
            policy.update(now: 6 * second + 1, allReported: true, workersAlive: true, status: "s") == ["WATCHDOG=1"])
        #expect(policy.stop(status: "stopping") == "STOPPING=1\nSTATUS=stopping")
        #expect(policy.update(now: 9 * second, allReported: true, workersAlive: true, status: "s") == [])
    }
}
