import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// `use_ipvlan` and an instance's `vrf`: which ipvlan the engine asks for, and where the socket, the adverts, their
/// source and the addresses go.
@Suite("VRRP engine: ipvlan and vrf")
struct EngineIPVLANTests {
    static func ipvlanInstance(_ ipvlan: IPVLAN) -> VRRPInstance {
        var instance = engineInstance(excluded: ["2001:db8::5/64"])
        instance.useIPVLAN = ipvlan
        return instance
    }

    @Test func useIPVLANPutsTheSocketAndAdvertsOnTheIPVLANAndTheAddressesOnTheInterface() throws {
        let harness = EngineHarness()
        let ipvlan = IPVLAN(address: IPPrefix("192.0.2.10/24"), mode: .private)
        harness.core.apply(engineConfiguration([Self.ipvlanInstance(ipvlan)]), isReload: false)
        let link = try #require(harness.system.virtualMACs["vrrp.51"])
        #expect(link.kind == .ipvlan(.private) && link.base == "eth0" && link.hardwareAddress.isEmpty)
        #expect(link.address == IPPrefix("192.0.2.10/24"))
        #expect(harness.system.addCalls.first == "vmac vrrp.51 (ipvlan l2 private on eth0, 192.0.2.10/24)")
        #expect(harness.system.openedSockets == ["ipv4 vrrp.51 224.0.0.18"])
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        // keepalived 2.2.7: the adverts leave from the ipvlan with its address as their source; the VIPs stay on the
        // interface (only a VMAC carries them).
        #expect(harness.system.addresses == ["192.0.2.100/24 dev eth0", "2001:db8::5/64 dev eth0"])
        #expect(!harness.system.sent.isEmpty && harness.system.sent.allSatisfy { $0.interface == "vrrp.51" })
        #expect(harness.core.dumpText.contains("Source = 192.0.2.10,"))
        #expect(
            harness.core.dumpText.contains(
                "IPVLAN = vrrp.51 (ipvlan l2 private on eth0, 192.0.2.10/24), adverts sent here"))
        harness.core.stop(release: true)
        #expect(harness.system.virtualMACs.isEmpty && harness.system.addresses.isEmpty)
        #expect(harness.system.removeCalls.last == "vmac vrrp.51 (ipvlan l2 private on eth0, 192.0.2.10/24)")
    }

    @Test func aConfiguredSourceWinsAndAConfiguredNameIsUsed() throws {
        let harness = EngineHarness()
        var instance = Self.ipvlanInstance(IPVLAN(interfaceName: "vip0", address: IPPrefix("192.0.2.10/24")))
        instance.multicastSourceIP = ip("192.0.2.1")
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        #expect(harness.system.virtualMACs["vip0"]?.kind == .ipvlan(.bridge))
        #expect(harness.core.dumpText.contains("Source = 192.0.2.1,"))
    }

    @Test func anIPv4IPVLANWithoutAnAddressStaysInFault() {
        let harness = EngineHarness()
        var logs: [String] = []
        harness.core.onLog = { logs.append($0) }
        harness.core.apply(engineConfiguration([Self.ipvlanInstance(IPVLAN())]), isReload: false)
        harness.system.advance(seconds: 5)
        #expect(harness.system.virtualMACs.isEmpty)
        #expect(harness.last?.state != .master)
        #expect(logs.contains { $0.contains("IPv4 ipvlan vrrp.51 (ipvlan l2 bridge on eth0) has no address") })
    }

    @Test func aKernelWithoutIPVLANFailsTheInstanceNamingTheLink() {
        let harness = EngineHarness()
        var logs: [String] = []
        harness.core.onLog = { logs.append($0) }
        harness.system.failingVirtualMACs = ["vrrp.51"]
        let ipvlan = IPVLAN(address: IPPrefix("192.0.2.10/24"))
        harness.core.apply(engineConfiguration([Self.ipvlanInstance(ipvlan)]), isReload: false)
        harness.system.advance(seconds: 5)
        #expect(harness.last?.state != .master)
        #expect(logs.contains { $0.contains("cannot set up VMAC vrrp.51 (ipvlan l2 bridge on eth0, 192.0.2.10/24)") })
        #expect(harness.core.dumpText.contains("State = FAULT (cannot set up vrrp.51 (see the log))"))
    }

    @Test func vrfBindsAUnicastInstanceWithoutInterfaceToTheVRFDevice() {
        let harness = EngineHarness()
        var instance = engineInstance()
        instance.interface = nil
        instance.unicastPeers = [UnicastPeer(address: ip("192.0.2.2"), location: instance.location)]
        instance.unicastSourceIP = ip("192.0.2.1")
        instance.vrf = "blue"
        var configuration = engineConfiguration([instance])
        configuration.globalDefs.defaultInterface = "eth0"
        harness.core.apply(configuration, isReload: false)
        #expect(harness.system.openedSockets == ["ipv4 blue unicast"])
        harness.system.advance(seconds: 3.7)
        #expect(!harness.system.sent.isEmpty && harness.system.sent.allSatisfy { $0.interface == "blue" })
        #expect(harness.system.addresses == ["192.0.2.100/24 dev eth0"])
        #expect(harness.core.dumpText.contains("Interface = eth0 (sockets in VRF blue)"))
    }

    @Test func aVRFThatCannotBeBoundIsTheFaultReason() {
        let harness = EngineHarness()
        var instance = engineInstance()
        instance.interface = nil
        instance.unicastPeers = [UnicastPeer(address: ip("192.0.2.2"), location: instance.location)]
        instance.vrf = "nosuch"
        harness.system.failingSocketInterfaces = ["nosuch"]
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        harness.system.advance(seconds: 5)
        #expect(harness.last?.state != .master)
        #expect(harness.core.dumpText.contains("State = FAULT (cannot open the VRRP socket on nosuch (see the log))"))
    }
}
