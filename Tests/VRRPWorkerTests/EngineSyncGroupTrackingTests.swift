import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// A `vrrp_sync_group`'s own `track_script` / `track_interface` / `track_file`, lower-priority adverts heard by a
/// group member, `vrrp_garp_interval` / `vrrp_gna_interval` pacing (fake system, virtual time).
@Suite("VRRP engine: sync group tracking and announcements")
struct EngineSyncGroupTrackingTests {
    static let location = SourceLocation(file: "test.conf", line: 1)

    /// VI_1 (eth0, VRID 51) and VI_2 (eth1, VRID 52) in group G, which tracks script S (weight `weight`).
    static func configuration(weight: Int) -> WorkerConfiguration {
        var group = SyncGroup(name: "G", location: location)
        group.members = [
            NameReference(name: "VI_1", location: location), NameReference(name: "VI_2", location: location),
        ]
        group.trackScripts = [TrackReference(name: "S", location: location)]
        group.trackInterfaces = [TrackedInterface(name: "eth9")]
        var configuration = engineConfiguration(
            [
                engineInstance(), engineInstance("VI_2", interface: "eth1", vrid: 52, addresses: ["198.51.100.100/24"]),
            ], syncGroups: [group])
        var script = VRRPScript(name: "S", location: location)
        script.script = Config.ScriptCommand(text: "/bin/true")
        script.weight = weight
        configuration.vrrp?.scripts = [script]
        return configuration
    }

    @Test func aGroupsScriptFailingMovesEveryMemberToFault() {
        let harness = EngineHarness()
        harness.system.links["eth9"] = true
        harness.core.apply(Self.configuration(weight: 0), isReload: false)
        harness.system.advance(seconds: 3.7)
        #expect(harness.report("VI_1")?.state == .master && harness.report("VI_2")?.state == .master)
        harness.core.trackedItemChanged("script S", isUp: false, reason: "script S failed")
        #expect(harness.report("VI_1")?.state == .fault && harness.report("VI_2")?.state == .fault)
        #expect(harness.system.addresses.isEmpty)
        harness.core.trackedItemChanged("script S", isUp: true, reason: "script S succeeded")
        #expect(harness.report("VI_1")?.state == .backup && harness.report("VI_2")?.state == .backup)
        // The group's track_interface too: eth9 going down faults both.
        harness.system.advance(seconds: 3.7)
        harness.core.linkChanged(interface: "eth9", isUp: false)
        #expect(harness.report("VI_1")?.state == .fault && harness.report("VI_2")?.state == .fault)
    }

    @Test func aGroupsWeightedScriptLowersEveryMember() {
        let harness = EngineHarness()
        harness.system.links["eth9"] = true
        harness.core.apply(Self.configuration(weight: -30), isReload: false)
        harness.core.trackedItemChanged("script S", isUp: false, reason: "script S failed")
        #expect(harness.report("VI_1")?.effectivePriority == 70 && harness.report("VI_2")?.effectivePriority == 70)
    }

    @Test func aMemberHearingALowerPriorityMakesTheOtherMastersReannounce() {
        let harness = EngineHarness()
        harness.system.links["eth9"] = true
        harness.core.apply(Self.configuration(weight: 0), isReload: false)
        harness.system.advance(seconds: 3.7)
        let before = harness.system.announcements.count
        harness.receive(priority: 50)
        let bursts = harness.system.announcements[before...].map { "\($0.1) x\($0.2)" }
        // keepalived's defaults: garp_lower_prio_repeat = vrrp_garp_master_repeat (5), for both members.
        #expect(bursts == ["192.0.2.100/24 dev eth0 x5", "198.51.100.100/24 dev eth1 x5"])
        // And again garp_lower_prio_delay (vrrp_garp_master_delay, 5 s) later.
        harness.system.advance(seconds: 5)
        let later = harness.system.announcements.filter { $0.0 == harness.system.now }.map { "\($0.1) x\($0.2)" }
        #expect(later.sorted() == ["192.0.2.100/24 dev eth0 x5", "198.51.100.100/24 dev eth1 x5"])
    }

    @Test func garpIntervalsReachTheSystem() {
        let harness = EngineHarness()
        var configuration = engineConfiguration([engineInstance()])
        configuration.globalDefs.vrrpGarpInterval = .milliseconds(100)
        configuration.globalDefs.vrrpGnaInterval = .milliseconds(20)
        harness.core.apply(configuration, isReload: false)
        #expect(harness.system.announcementIntervals == (.milliseconds(100), .milliseconds(20)))
    }

    @Test func thePacerSpacesFramesPerInterfaceAndKind() {
        var pacer = AnnouncementPacer<VirtualInstant>(
            AnnouncementPacing(arpInterval: .milliseconds(100), neighborInterval: .zero))
        let location = Self.location
        func held(_ prefix: String, _ interface: String) -> VRRPHeldAddress {
            VRRPHeldAddress(
                address: VirtualAddress(prefix: IPPrefix(prefix)!, location: location), interface: interface)
        }
        let addresses = [
            held("192.0.2.100/24", "eth0"), held("192.0.2.101/24", "eth0"), held("2001:db8::1/64", "eth0"),
        ]
        let slots = pacer.schedule(addresses, count: 2, at: at(0)).map { "\($0.address.address.prefix) \($0.at)" }
        // ARPs on eth0 100 ms apart; the NAs (no gna interval) at once.
        #expect(
            slots == [
                "192.0.2.100/24 \(at(0))", "192.0.2.101/24 \(at(100_000))", "2001:db8::1/64 \(at(0))",
                "192.0.2.100/24 \(at(200_000))", "192.0.2.101/24 \(at(300_000))", "2001:db8::1/64 \(at(0))",
            ])
        // The next burst queues behind the last; another interface does not.
        #expect(pacer.schedule([held("192.0.2.100/24", "eth0")], count: 1, at: at(50_000)).first?.at == at(400_000))
        #expect(pacer.schedule([held("192.0.2.100/24", "eth1")], count: 1, at: at(50_000)).first?.at == at(50_000))
    }

    static func held(_ prefix: String, _ interface: String) -> VRRPHeldAddress {
        VRRPHeldAddress(address: VirtualAddress(prefix: IPPrefix(prefix)!, location: location), interface: interface)
    }

    @Test func garpGroupsPaceTheirInterfacesTogetherAndVMACsWithTheirBase() {
        // eth1 and eth2 share one switch (garp_interval 0.1, no gna_interval); eth0 has the global 50 ms; vmac1 is on
        // eth1.
        var group = GARPGroup(location: Self.location)
        group.garpInterval = .milliseconds(100)
        group.interfaces = ["eth1", "eth2"]
        let groups = [group]
        var globals = GlobalDefs()
        globals.vrrpGarpInterval = .milliseconds(50)
        globals.vrrpGnaInterval = .milliseconds(50)
        var pacer = AnnouncementPacer<VirtualInstant>(
            AnnouncementPacing(globals: globals, garpGroups: groups, bases: ["vmac1": "eth1"]))
        let slots = pacer.schedule(
            [
                Self.held("192.0.2.1/24", "eth1"), Self.held("198.51.100.1/24", "eth2"),
                Self.held("203.0.113.1/24", "vmac1"), Self.held("192.0.2.9/24", "eth0"),
                Self.held("192.0.2.10/24", "eth0"), Self.held("2001:db8::1/64", "eth1"),
                Self.held("2001:db8::2/64", "eth2"),
            ], count: 1, at: at(0)
        ).map(\.at)
        #expect(slots == [at(0), at(100_000), at(200_000), at(0), at(50_000), at(0), at(0)])
    }

    @Test func garpExtraIfSendsOnePerOtherInterfaceAsKeepalived() throws {
        let harness = EngineHarness()
        var instance = engineInstance()
        for (prefix, device) in [("198.51.100.1/24", "eth1"), ("198.51.100.2/24", "eth1"), ("203.0.113.1/24", "eth2")] {
            var address = VirtualAddress(prefix: IPPrefix(prefix)!, location: Self.location)
            address.device = device
            instance.virtualAddresses.append(address)
        }
        instance.garpExtraIf = GARPExtraInterfaces(interval: .seconds(10), all: true)
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        harness.system.advance(seconds: 3.7)
        let mastered = harness.system.announcements.count
        #expect(mastered > 0)
        harness.system.advance(seconds: 10)
        let extra = harness.system.announcements[mastered...].filter { $0.2 == 1 }.map { "\($0.1)" }
        // Not eth0 (the adverts keep its MAC known); one address per other interface.
        #expect(extra == ["198.51.100.1/24 dev eth1", "203.0.113.1/24 dev eth2"])
        harness.system.advance(seconds: 10)
        #expect(harness.system.announcements.filter { $0.2 == 1 }.count == 4)
        // Without `all`, only VMACs count: none here, so no timer at all.
        let plain = EngineHarness()
        instance.garpExtraIf = GARPExtraInterfaces(interval: .seconds(10))
        plain.core.apply(engineConfiguration([instance]), isReload: false)
        plain.system.advance(seconds: 30)
        #expect(plain.system.announcements.filter { $0.2 == 1 }.isEmpty)
        // The global setting applies; an instance's 0 turns it off.
        let global = EngineHarness()
        var configuration = engineConfiguration([instance])
        configuration.globalDefs.vrrpGarpExtraIf = GARPExtraInterfaces(interval: .seconds(10), all: true)
        instance.garpExtraIf = nil
        configuration.vrrp?.instances = [instance]
        global.core.apply(configuration, isReload: false)
        global.system.advance(seconds: 14)
        #expect(global.system.announcements.filter { $0.2 == 1 }.count == 2)
        let off = EngineHarness()
        instance.garpExtraIf = GARPExtraInterfaces(interval: .zero, all: true)
        configuration.vrrp?.instances = [instance]
        off.core.apply(configuration, isReload: false)
        off.system.advance(seconds: 30)
        #expect(off.system.announcements.filter { $0.2 == 1 }.isEmpty)
    }
}
