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
