import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// The engine core on a fake kernel in virtual time: what it does to addresses, adverts, announcements and
/// reports as the state machine moves. v2, priority 100, advert_int 1: Master_Down_Interval = 3.609375 s.
@Suite("VRRP engine core")
struct EngineTests {
    static let vip = "192.0.2.100/24 dev eth0"

    /// A harness whose one instance became MASTER at 3.609375 s.
    static func master(_ instance: VRRPInstance = engineInstance()) -> EngineHarness {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        harness.system.advance(seconds: 3.7)
        return harness
    }

    @Test func startsAsBackupAndTakesOverAfterMasterDownInterval() throws {
        let harness = EngineHarness()
        harness.core.apply(
            engineConfiguration([engineInstance(excluded: ["2001:db8::5/64"])]), isReload: false)
        #expect(harness.system.openedSockets == ["ipv4 eth0 224.0.0.18"])
        #expect(harness.last?.state == .backup)
        #expect(harness.system.addresses.isEmpty)
        harness.system.advance(to: at(3_609_374))
        #expect(harness.system.sent.isEmpty)
        harness.system.advance(to: at(3_609_375))
        #expect(harness.last?.state == .master)
        #expect(harness.system.addresses == [Self.vip, "2001:db8::5/64 dev eth0"])
        #expect(harness.last?.heldAddresses == ["192.0.2.100/24", "2001:db8::5/64"])
        let advert = try #require(harness.system.sent.first)
        #expect(advert.time == at(3_609_375))
        #expect(advert.advertisement.priority == 100)
        #expect(advert.advertisement.addresses == [ip("192.0.2.100")])
        #expect(advert.advertisement.authentication == .password("secret"))
        #expect(advert.destination == vrrpIPv4MulticastGroup)
        #expect(harness.events.last == "VI_1: BACKUP -> MASTER (no advert for Master_Down_Interval)")
        // One advert a second after that.
        harness.system.advance(to: at(6_609_375))
        #expect(harness.system.sent.map(\.time) == [at(3_609_375), at(4_609_375), at(5_609_375), at(6_609_375)])
    }

    @Test func gratuitousARPBurstsAtBecomingMasterAndAfterTheDelay() {
        let harness = Self.master()
        harness.system.advance(seconds: 10)
        let bursts = harness.system.announcements.filter { $0.1 == Self.vip }
        // keepalived's defaults: 5 at once, 5 more vrrp_garp_master_delay (5 s) later, then none.
        #expect(bursts.map(\.0) == [at(3_609_375), at(8_609_375)])
        #expect(bursts.map(\.2) == [5, 5])
    }

    @Test func higherPriorityAdvertMakesTheMasterRemoveItsAddresses() {
        let harness = Self.master()
        harness.receive(priority: 150)
        #expect(harness.last?.state == .backup)
        #expect(harness.system.addresses.isEmpty)
        #expect(harness.system.removeCalls == [Self.vip])
        #expect(harness.events.last == "VI_1: MASTER -> BACKUP (advert with priority 150 from 192.0.2.2)")
        // A backup hearing the master keeps quiet; the down timer is reset by each advert.
        let sent = harness.system.sent.count
        for _ in 0..<5 {
            harness.system.advance(seconds: 1)
            harness.receive(priority: 150)
        }
        #expect(harness.system.sent.count == sent)
        #expect(harness.last?.state == .backup)
    }

    @Test func virtualRoutesFollowTheAddressesInAndOut() {
        var instance = engineInstance()
        let location = SourceLocation(file: "test.conf", line: 1)
        var route = VirtualRoute(words: ["203.0.113.0/24", "via", "192.0.2.254"], location: location)
        route.destination = IPPrefix("203.0.113.0/24")
        route.gateway = ip("192.0.2.254")
        instance.virtualRoutes = [route]
        let harness = Self.master(instance)
        // Added after the address (a route may use a VIP as src), removed before it.
        #expect(harness.system.addCalls == [Self.vip, "route 203.0.113.0/24 via 192.0.2.254"])
        #expect(harness.system.routes == ["203.0.113.0/24 via 192.0.2.254"])
        harness.receive(priority: 150)
        #expect(harness.system.removeCalls == ["route 203.0.113.0/24 via 192.0.2.254", Self.vip])
        #expect(harness.system.routes.isEmpty)
    }

    @Test func stopWithReleaseSendsPriorityZeroThenRemovesTheAddresses() {
        let harness = Self.master()
        harness.core.stop(release: true)
        #expect(harness.system.sent.last?.advertisement.priority == 0)
        #expect(harness.system.addresses.isEmpty)
        #expect(harness.last?.state == .stopped)
        #expect(harness.system.timers.isEmpty)
    }

    @Test func stopWithoutReleaseLeavesTheAddressesAndSendsNothing() {
        let harness = Self.master()
        let sent = harness.system.sent.count
        harness.core.stop(release: false)
        #expect(harness.system.sent.count == sent)
        #expect(harness.system.addresses == [Self.vip])
        #expect(harness.system.timers.isEmpty)
    }

    @Test func resumesAsMasterWhenTheSavedMasterStateIsYoung() throws {
        let harness = EngineHarness()
        harness.system.now = at(10_000_000)
        let since = harness.system.monotonicNanoseconds(at(8_000_000))
        let saved = WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, since: since)])
        harness.core.apply(engineConfiguration([engineInstance()], savedState: saved), isReload: false)
        #expect(harness.last?.state == .master)
        #expect(harness.system.addresses == [Self.vip])
        let advert = try #require(harness.system.sent.first)
        #expect(advert.time == at(10_000_000))
        #expect(advert.advertisement.priority == 100)
    }

    @Test func startsAsBackupWhenTheSavedMasterStateIsOlderThanMasterDownInterval() {
        let harness = EngineHarness()
        harness.system.now = at(10_000_000)
        let since = harness.system.monotonicNanoseconds(at(6_000_000))
        let saved = WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, since: since)])
        harness.core.apply(engineConfiguration([engineInstance()], savedState: saved), isReload: false)
        #expect(harness.last?.state == .backup)
        #expect(harness.system.addresses.isEmpty)
        #expect(harness.system.sent.isEmpty)
    }

    @Test func resumesFromTheWatchdogsAliveAtNotFromWhenItBecameMaster() {
        let harness = EngineHarness()
        harness.system.now = at(100_000_000)
        // MASTER for 90 s, and alive until 1 s ago: the backups cannot have taken over yet.
        let saved = WorkerState(
            vrrpInstances: [
                VRRPInstanceReport(
                    name: "VI_1", state: .master, since: harness.system.monotonicNanoseconds(at(10_000_000)))
            ],
            aliveAt: harness.system.monotonicNanoseconds(at(99_000_000)))
        harness.core.apply(engineConfiguration([engineInstance()], savedState: saved), isReload: false)
        #expect(harness.last?.state == .master)
        #expect(harness.system.sent.first?.time == at(100_000_000))
    }

    @Test func reloadAddsAndRemovesOnlyTheChangedAddresses() {
        let harness = Self.master()
        harness.core.apply(
            engineConfiguration([engineInstance(addresses: ["192.0.2.100/24", "192.0.2.101/24"])]), isReload: true)
        #expect(harness.system.addCalls == [Self.vip, "192.0.2.101/24 dev eth0"])
        #expect(harness.system.removeCalls.isEmpty)
        #expect(harness.last?.state == .master)
        harness.core.apply(engineConfiguration([engineInstance(addresses: ["192.0.2.101/24"])]), isReload: true)
        #expect(harness.system.removeCalls == [Self.vip])
        #expect(harness.system.addresses == ["192.0.2.101/24 dev eth0"])
        #expect(harness.last?.heldAddresses == ["192.0.2.101/24"])
        // The instance ran on: adverts continue once a second, now with the new address list.
        harness.system.advance(seconds: 1)
        #expect(harness.system.sent.last?.advertisement.addresses == [ip("192.0.2.101")])
    }

    @Test func reloadStopsRemovedInstancesAndStartsNewOnes() {
        let harness = Self.master()
        let other = engineInstance("VI_2", interface: "eth1", vrid: 52, addresses: ["198.51.100.100/24"])
        harness.core.apply(engineConfiguration([other]), isReload: true)
        // VI_1 resigned (priority 0) and released; VI_2 starts as backup.
        #expect(harness.system.sent.last?.advertisement.priority == 0)
        #expect(harness.system.sent.last?.advertisement.virtualRouterID == 51)
        #expect(harness.system.addresses.isEmpty)
        #expect(harness.reports.last?.vrrpInstances.map(\.name) == ["VI_2"])
        #expect(harness.report("VI_2")?.state == .backup)
        #expect(harness.system.timers.keys.allSatisfy { $0.hasPrefix("VI_2/") })
    }

    @Test func linkDownPutsTheMasterInFaultAndLinkUpBackToBackup() {
        let harness = Self.master()
        harness.core.linkChanged(interface: "eth0", isUp: false)
        #expect(harness.last?.state == .fault)
        #expect(harness.last?.reason == "interface eth0 down")
        #expect(harness.system.addresses.isEmpty)
        #expect(harness.system.sent.last?.advertisement.priority == 0)
        harness.core.linkChanged(interface: "eth0", isUp: true)
        #expect(harness.last?.state == .backup)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
    }

    @Test func badPacketsAreCountedAndDoNotChangeTheState() {
        let harness = Self.master()
        harness.receive(priority: 150, hopLimit: 64)
        harness.receive(priority: 150, password: "wrong")
        harness.receive(priority: 150, interval: .seconds(2))
        harness.core.receive(
            [0x21, 51, 0xff, 0x01][...],
            packet: VRRPPacketInfo(source: ip("192.0.2.2"), destination: vrrpIPv4MulticastGroup, hopLimit: 255),
            interface: "eth0")
        harness.receive(priority: 150, version: .v3, interval: .seconds(1))
        harness.receive(priority: 150, vrid: 9)
        #expect(harness.last?.state == .master)
        let counters = harness.core.instances["VI_1"]?.counters ?? [:]
        #expect(counters["dropped_hopLimit"] == 1)
        #expect(counters["dropped_authentication"] == 1)
        #expect(counters["dropped_advertisementInterval"] == 1)
        #expect(counters["dropped_length"] == 1)
        #expect(counters["dropped_version"] == 1)
        #expect(counters["dropped_virtualRouterID"] == 1)
        #expect(counters["adverts_received"] == 6)
        #expect(harness.core.statisticsText.contains("VI_1.dropped_hopLimit 1"))
    }

    @Test func aFailingTrackScriptLowersThePrioritySoAPeerTakesOver() {
        let harness = EngineHarness()
        var instance = engineInstance()
        let location = SourceLocation(file: "test.conf", line: 1)
        instance.trackScripts = [TrackReference(name: "chk", weight: -60, location: location)]
        var script = VRRPScript(name: "chk", location: location)
        script.script = Config.ScriptCommand(text: "/bin/true")
        var configuration = engineConfiguration([instance])
        configuration.vrrp?.scripts = [script]
        harness.core.apply(configuration, isReload: false)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        harness.core.trackedItemChanged("script chk", isUp: false, reason: "script chk failed")
        #expect(harness.last?.effectivePriority == 40)
        #expect(harness.last?.state == .master)
        harness.system.advance(seconds: 1)
        #expect(harness.system.sent.last?.advertisement.priority == 40)
        // A peer at 50 now wins.
        harness.receive(priority: 50)
        #expect(harness.last?.state == .backup)
        #expect(harness.system.addresses.isEmpty)
    }

    @Test func syncGroupMembersFailOverTogether() {
        let harness = EngineHarness()
        let first = engineInstance("VI_1")
        let second = engineInstance("VI_2", interface: "eth1", vrid: 52, addresses: ["198.51.100.100/24"])
        var group = SyncGroup(name: "G", location: SourceLocation(file: "test.conf", line: 1))
        group.members = ["VI_1", "VI_2"].map { NameReference(name: $0, location: group.location) }
        harness.core.apply(engineConfiguration([first, second], syncGroups: [group]), isReload: false)
        harness.system.advance(seconds: 3.7)
        #expect(harness.reports.last?.vrrpInstances.map(\.state) == [.master, .master])
        harness.core.linkChanged(interface: "eth1", isUp: false)
        #expect(harness.reports.last?.vrrpInstances.map(\.state) == [.fault, .fault])
        #expect(harness.system.addresses.isEmpty)
    }
}
