import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// `accept` / `no_accept` and strict mode's default: the no-accept filter follows mastership (fake system).
@Suite("VRRP engine: Accept_Mode")
struct EngineAcceptModeTests {
    static func instance(accept: Bool?, priority: Int = 100) -> VRRPInstance {
        var instance = engineInstance(priority: priority, excluded: ["2001:db8::5/64"])
        instance.accept = accept
        return instance
    }

    @Test func noAcceptBlocksTheAddressesWhileMasterAndBeforeAddingThem() {
        let harness = EngineHarness()
        var configuration = engineConfiguration([Self.instance(accept: false)])
        configuration.globalDefs.nftablesTable = "kad"
        configuration.globalDefs.nftablesCounters = true
        harness.core.apply(configuration, isReload: false)
        #expect(harness.system.filterSettings?.table == "kad" && harness.system.filterSettings?.counters == true)
        #expect(harness.system.blocked.isEmpty)
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        #expect(harness.system.blocked == [ip("192.0.2.100"), ip("2001:db8::5")])
        #expect(
            harness.system.addCalls.first { $0.hasPrefix("block") || $0.contains("192.0.2.100/24") }?.hasPrefix("block")
                == true)
        // Back to backup: addresses go, then the filter lets traffic through.
        harness.receive(priority: 150)
        #expect(harness.system.blocked.isEmpty)
        #expect(harness.system.removeCalls.last == "unblock 192.0.2.100 2001:db8::5")
        harness.system.advance(seconds: 3.7)
        harness.core.stop(release: true)
        #expect(harness.system.filterRemoved)
    }

    @Test func acceptAndTheOwnerNeverFilter() {
        for instance in [
            Self.instance(accept: true), Self.instance(accept: nil), Self.instance(accept: false, priority: 255),
        ] {
            let harness = EngineHarness()
            harness.core.apply(engineConfiguration([instance]), isReload: false)
            harness.system.advance(seconds: 3.7)
            #expect(harness.last?.state == .master)
            #expect(harness.system.blocked.isEmpty)
            harness.core.stop(release: true)
            #expect(!harness.system.filterRemoved)
        }
    }

    @Test func aReloadAddingAnAddressToANoAcceptMasterBlocksItToo() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.instance(accept: false)]), isReload: false)
        harness.system.advance(seconds: 3.7)
        var changed = Self.instance(accept: false)
        changed.virtualAddresses.append(
            VirtualAddress(prefix: IPPrefix("192.0.2.101/24")!, location: SourceLocation(file: "t", line: 1)))
        harness.core.apply(engineConfiguration([changed]), isReload: true)
        #expect(harness.system.blocked.contains(ip("192.0.2.101")))
        // accept on reload: the filter goes, the addresses stay.
        harness.core.apply(engineConfiguration([Self.instance(accept: true)]), isReload: true)
        #expect(harness.system.blocked.isEmpty)
        #expect(harness.system.addresses.contains("192.0.2.100/24 dev eth0"))
    }
}

/// `static_ipaddress`, `static_routes`, `static_rules` and `virtual_rules` (fake system).
@Suite("VRRP engine: static and virtual rules")
struct EngineStaticTests {
    static func configuration(_ text: String) -> WorkerConfiguration {
        let loaded = ConfigLoader.load(text: text)
        return WorkerConfiguration(globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, savedState: nil)
    }

    @Test func staticsAreAddedAtStartFollowReloadsAndGoAtStop() {
        let harness = EngineHarness()
        harness.core.apply(
            Self.configuration(
                "static_ipaddress {\n192.0.2.50/24\n198.51.100.1/24 dev eth1\n}\nstatic_routes {\n203.0.113.0/24 via 192.0.2.254\n}\n"
                    + "static_rules {\nfrom 192.0.2.50 table 100\n}\n"), isReload: false)
        #expect(harness.system.addresses == ["192.0.2.50/24 dev eth0", "198.51.100.1/24 dev eth1"])
        #expect(harness.system.routes == ["203.0.113.0/24 via 192.0.2.254"])
        #expect(harness.system.rules == ["from 192.0.2.50 table 100"])
        harness.core.apply(
            Self.configuration("static_ipaddress {\n192.0.2.50/24\n}\nstatic_rules {\nfrom 192.0.2.51 table 100\n}\n"),
            isReload: true)
        #expect(harness.system.addresses == ["192.0.2.50/24 dev eth0"])
        #expect(harness.system.routes.isEmpty)
        #expect(harness.system.rules == ["from 192.0.2.51 table 100"])
        harness.core.stop(release: false)
        #expect(harness.system.addresses.isEmpty && harness.system.rules.isEmpty)
    }

    @Test func virtualRulesFollowMastershipAfterTheRoutes() {
        let harness = EngineHarness()
        harness.core.apply(
            Self.configuration(
                "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\nvirtual_ipaddress {\n192.0.2.100/24\n}\n"
                    + "virtual_routes {\n203.0.113.0/24 via 192.0.2.254\n}\nvirtual_rules {\nfrom 192.0.2.100 table 100\n}\n}\n"
            ),
            isReload: false)
        #expect(harness.system.rules.isEmpty)
        harness.system.advance(seconds: 3.7)
        #expect(harness.system.rules == ["from 192.0.2.100 table 100"])
        #expect(
            harness.system.addCalls.suffix(2) == [
                "route 203.0.113.0/24 via 192.0.2.254", "rule from 192.0.2.100 table 100",
            ])
        harness.receive(priority: 150, password: nil)
        #expect(harness.system.rules.isEmpty)
        #expect(harness.system.removeCalls.first == "rule from 192.0.2.100 table 100")
    }
}
