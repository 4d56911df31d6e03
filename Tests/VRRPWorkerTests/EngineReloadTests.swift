import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// Reloads that change what a running state machine cannot take in place: the instance restarts, a MASTER
/// resuming as MASTER without dropping its addresses.
@Suite("VRRP engine reload restarts")
struct EngineReloadTests {
    static let vip = "192.0.2.100/24 dev eth0"

    @Test func aMasterWithANewAdvertIntervalKeepsItsAddressesAndAdvertisesAtTheNewRate() {
        let harness = EngineTests.master()
        let reloadedAt = harness.system.now
        var changed = engineInstance()
        changed.advertInterval = .seconds(2)
        harness.core.apply(engineConfiguration([changed]), isReload: true)
        #expect(harness.last?.state == .master)
        #expect(harness.last?.reason == "restarted by reload")
        #expect(harness.system.removeCalls.isEmpty)
        #expect(harness.system.addresses == [Self.vip])
        harness.system.advance(seconds: 4.5)
        let after = harness.system.sent.filter { $0.time >= reloadedAt }
        #expect(
            after.map(\.time) == [
                reloadedAt, reloadedAt.advanced(by: .seconds(2)), reloadedAt.advanced(by: .seconds(4)),
            ])
        #expect(after.allSatisfy { $0.advertisement.advertisementInterval == .seconds(2) })
        #expect(harness.system.removeCalls.isEmpty)
    }

    @Test func aMasterWithNewAuthAndNopreemptStaysMasterAndAcceptsOnlyTheNewPassword() {
        let harness = EngineTests.master()
        var changed = engineInstance()
        changed.nopreempt = true
        changed.authentication = Authentication(type: .pass, password: "other")
        harness.core.apply(engineConfiguration([changed]), isReload: true)
        #expect(harness.last?.state == .master)
        #expect(harness.system.removeCalls.isEmpty)
        // The old password is now wrong: dropped, still master.
        harness.receive(priority: 150, password: "secret")
        #expect(harness.last?.state == .master)
        harness.receive(priority: 150, password: "other")
        #expect(harness.last?.state == .backup)
        #expect(harness.system.addresses.isEmpty)
    }

    @Test func aBackupRestartsAsBackupAndTrackedFaultsSurviveTheRestart() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([engineInstance()]), isReload: false)
        harness.core.linkChanged(interface: "eth0", isUp: false)
        #expect(harness.last?.state == .fault)
        var changed = engineInstance()
        changed.advertInterval = .seconds(3)
        harness.core.apply(engineConfiguration([changed]), isReload: true)
        #expect(harness.last?.state == .fault)
        harness.core.linkChanged(interface: "eth0", isUp: true)
        #expect(harness.last?.state == .backup)
        // Master_Down_Interval at advert_int 3: 3 × 3 + skew.
        harness.system.advance(seconds: 8.9)
        #expect(harness.last?.state == .backup)
        harness.system.advance(seconds: 1)
        #expect(harness.last?.state == .master)
    }

    @Test func onlyPriorityOrTrackingChangesDoNotRestart() {
        let harness = EngineTests.master()
        var changed = engineInstance(priority: 120)
        changed.trackInterfaces = [TrackedInterface(name: "eth1", weight: 5)]
        harness.core.apply(engineConfiguration([changed]), isReload: true)
        #expect(harness.last?.reason == "priority changed by reload")
    }
}
