import Config
import Netlink
import Testing
import WorkerIPC

@testable import VRRPWorker

/// `track_file` values and `weight … reverse` on the engine core (fake system, virtual time).
@Suite("VRRP engine tracking")
struct EngineTrackingTests {
    static let location = SourceLocation(file: "test.conf", line: 1)

    /// One instance (priority 100) tracking `track_file F` (file weight `weight`), and a `vrrp_script S`.
    static func configuration(
        fileWeight: Int, reference: TrackReference? = nil, scriptWeight: Int = 20, scriptReverse: Bool = false
    ) -> WorkerConfiguration {
        var instance = engineInstance()
        instance.trackFiles = [reference ?? TrackReference(name: "F", location: location)]
        instance.trackScripts = [TrackReference(name: "S", location: location)]
        var configuration = engineConfiguration([instance])
        var file = Config.TrackFile(name: "F", location: location)
        file.file = "/run/vigil-test/F"
        file.weight = fileWeight
        var script = VRRPScript(name: "S", location: location)
        script.script = Config.ScriptCommand(text: "/bin/true")
        script.weight = scriptWeight
        script.reverse = scriptReverse
        configuration.vrrp?.trackFiles = [file]
        configuration.vrrp?.scripts = [script]
        return configuration
    }

    @Test func aTrackFileValueTimesItsWeightMovesTheEffectivePriority() {
        let harness = EngineHarness()
        harness.core.apply(Self.configuration(fileWeight: 10), isReload: false)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        #expect(harness.last?.effectivePriority == 120)  // the script (weight 20) is up
        harness.core.trackFileRead("F", contents: "-9\n")
        #expect(harness.last?.effectivePriority == 30)
        #expect(harness.last?.reason == "track_file F adds -90")
        // The next advert carries it, so a peer at 50 takes over.
        harness.system.advance(seconds: 1)
        #expect(harness.system.sent.last?.advertisement.priority == 30)
        harness.receive(priority: 50)
        #expect(harness.last?.state == .backup)
        // Missing or garbage counts as 0.
        harness.core.trackFileRead("F", contents: nil)
        #expect(harness.last?.effectivePriority == 120)
        harness.core.trackFileRead("F", contents: "x")
        #expect(harness.last?.effectivePriority == 120)
    }

    @Test func aTrackFileBelowMinus253OrNonZeroAtWeightZeroIsAFault() {
        let harness = EngineHarness()
        harness.core.apply(Self.configuration(fileWeight: 0), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.core.trackFileRead("F", contents: "1")
        #expect(harness.last?.state == .fault)
        #expect(harness.system.addresses.isEmpty)
        harness.core.trackFileRead("F", contents: "0")
        #expect(harness.last?.state == .backup)
        // The reference's weight and reverse win over the file's.
        let reversed = EngineHarness()
        let reference = TrackReference(name: "F", weight: 100, reverse: true, location: Self.location)
        reversed.core.apply(Self.configuration(fileWeight: 0, reference: reference), isReload: false)
        reversed.core.trackFileRead("F", contents: "3")
        #expect(reversed.last?.state == .fault)
        reversed.core.trackFileRead("F", contents: "-1")
        #expect(reversed.last?.effectivePriority == 220)
    }

    @Test func reverseNegatesAScriptsWeight() {
        let harness = EngineHarness()
        harness.core.apply(Self.configuration(fileWeight: 1, scriptReverse: true), isReload: false)
        // Up with weight 20 reverse: −20.
        #expect(harness.last?.effectivePriority == 80)
        harness.core.trackedItemChanged("script S", isUp: false, reason: "script S failed")
        #expect(harness.last?.effectivePriority == 100)
    }

    @Test func aMasterThatLosesAnAddressGoesBackupAndTakesOverAgainUnlessNoTrack() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([engineInstance()]), isReload: false)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        // Someone else's address going, or one of ours while still present (our own removal seen late): nothing.
        harness.core.addressChanged(IPAddress("192.0.2.7")!, interface: "eth0", present: false)
        harness.system.interfaceAddresses.insert("192.0.2.100 eth0")
        harness.core.addressChanged(IPAddress("192.0.2.100")!, interface: "eth0", present: false)
        #expect(harness.last?.state == .master)
        harness.system.interfaceAddresses.remove("192.0.2.100 eth0")
        harness.core.addressChanged(IPAddress("192.0.2.100")!, interface: "eth0", present: false)
        #expect(harness.last?.state == .backup)
        #expect(harness.last?.reason == "192.0.2.100/24 dev eth0 was deleted (no_track not set)")
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)

        let untracked = EngineHarness()
        var instance = engineInstance()
        instance.virtualAddresses[0].noTrack = true
        untracked.core.apply(engineConfiguration([instance]), isReload: false)
        untracked.system.advance(seconds: 3.7)
        untracked.core.addressChanged(IPAddress("192.0.2.100")!, interface: "eth0", present: false)
        #expect(untracked.last?.state == .master)
    }

    /// An instance holding the route `198.51.100.0/24 via 192.0.2.254 dev eth0` and the rule
    /// `from 192.0.2.0/24 table 100 preference 100`, both tracked unless `noTrack`.
    static func routedInstance(noTrack: Bool = false) -> VRRPInstance {
        var instance = engineInstance()
        var route = VirtualRoute(words: ["198.51.100.0/24", "via", "192.0.2.254", "dev", "eth0"], location: location)
        route.destination = IPPrefix("198.51.100.0/24")
        route.gateway = IPAddress("192.0.2.254")
        route.device = "eth0"
        route.noTrack = noTrack
        var rule = VirtualRule(
            words: ["from", "192.0.2.0/24", "table", "100", "preference", "100"], location: location)
        rule.from = IPPrefix("192.0.2.0/24")
        rule.table = "100"
        rule.preference = 100
        rule.noTrack = noTrack
        instance.virtualRoutes = [route]
        instance.virtualRules = [rule]
        return instance
    }

    static let routeGone = RouteDeletion(destination: IPAddress("198.51.100.0")!, prefixLength: 24, table: 254)
    static let ruleGone = RuleDeletion(
        family: .ipv4, preference: 100, table: 100, source: IPAddress("192.0.2.0"), sourcePrefixLength: 24)

    @Test func aMasterThatLosesARouteOrRuleGoesBackupUnlessNoTrackAndItsOwnRemovalsDoNotCount() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.routedInstance()]), isReload: false)
        #expect(harness.core.tracksRoutesOrRules)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        // Another table, another interface, another preference: not ours.
        var otherTable = Self.routeGone
        otherTable.table = 100
        harness.core.routeDeleted(otherTable, interface: "eth0")
        harness.core.routeDeleted(Self.routeGone, interface: "eth1")
        var otherRule = Self.ruleGone
        otherRule.preference = 101
        harness.core.ruleDeleted(otherRule)
        #expect(harness.last?.state == .master)
        harness.core.routeDeleted(Self.routeGone, interface: "eth0")
        #expect(harness.last?.state == .backup)
        #expect(
            harness.last?.reason == "route '198.51.100.0/24 via 192.0.2.254 dev eth0' was deleted (no_track not set)")
        // Going BACKUP, the worker deleted the rule and the route itself: their notices come later and do not count.
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        harness.core.ruleDeleted(Self.ruleGone)
        harness.core.routeDeleted(Self.routeGone, interface: "eth0")
        #expect(harness.last?.state == .master)
        harness.core.ruleDeleted(Self.ruleGone)
        #expect(harness.last?.state == .backup)
        #expect((harness.last?.reason ?? "").hasPrefix("rule 'from 192.0.2.0/24"))

        let untracked = EngineHarness()
        untracked.core.apply(engineConfiguration([Self.routedInstance(noTrack: true)]), isReload: false)
        #expect(!untracked.core.tracksRoutesOrRules)
        untracked.system.advance(seconds: 3.7)
        untracked.core.routeDeleted(Self.routeGone, interface: "eth0")
        untracked.core.ruleDeleted(Self.ruleGone)
        #expect(untracked.last?.state == .master)
    }
}
