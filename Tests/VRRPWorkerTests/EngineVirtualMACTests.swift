import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// `use_vmac`, `vmac_xmit_base`, `use_vmac_addr`, an address's `use_vmac`, `vmac_prefix`: which macvlans the engine
/// asks for, with which MAC and name, and where the socket, the adverts and the addresses go.
@Suite("VRRP engine: virtual MACs")
struct EngineVirtualMACTests {
    static func vmacInstance(_ configure: (inout VRRPInstance) -> Void = { _ in }) -> VRRPInstance {
        var instance = engineInstance(excluded: ["2001:db8::5/64"])
        instance.useVMAC = VirtualMAC()
        configure(&instance)
        return instance
    }

    @Test func useVMACPutsTheSocketAdvertsAndAddressesOnTheMacvlan() throws {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.vmacInstance()]), isReload: false)
        let link = try #require(harness.system.virtualMACs["vrrp.51"])
        #expect(link.base == "eth0" && link.family == .ipv4 && link.linkLocal == nil)
        #expect(link.hardwareAddress == [0, 0, 0x5e, 0, 1, 51])
        // The macvlan exists before the socket is opened on it.
        #expect(harness.system.addCalls.first == "vmac vrrp.51 (00:00:5e:00:01:33 on eth0)")
        #expect(harness.system.openedSockets == ["ipv4 vrrp.51 224.0.0.18"])
        harness.system.advance(seconds: 3.7)
        #expect(harness.last?.state == .master)
        // The VIP of the instance's family goes on the VMAC; the IPv6 eVIP stays on the base (no use_vmac_addr).
        #expect(harness.system.addresses == ["192.0.2.100/24 dev vrrp.51", "2001:db8::5/64 dev eth0"])
        #expect(harness.system.sent.allSatisfy { $0.interface == "vrrp.51" })
        #expect(harness.system.announcements.contains { $0.1 == "192.0.2.100/24 dev vrrp.51" })
        #expect(harness.core.dumpText.contains("VMAC = vrrp.51 (00:00:5e:00:01:33 on eth0), adverts sent here"))
        // Stopping releases the addresses, then the macvlan.
        harness.core.stop(release: true)
        #expect(harness.system.virtualMACs.isEmpty)
        #expect(harness.system.removeCalls.last == "vmac vrrp.51 (00:00:5e:00:01:33 on eth0)")
        #expect(harness.system.addresses.isEmpty)
    }

    @Test func stopWithoutReleaseKeepsTheMacvlanUnderTheKeptAddresses() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.vmacInstance()]), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.core.stop(release: false)
        #expect(harness.system.virtualMACs.keys.sorted() == ["vrrp.51"])
        #expect(harness.system.addresses.contains("192.0.2.100/24 dev vrrp.51"))
    }

    @Test func vmacXmitBaseKeepsAdvertsOnTheBase() {
        let harness = EngineHarness()
        harness.core.apply(
            engineConfiguration([Self.vmacInstance { $0.vmacXmitBase = true }]), isReload: false)
        #expect(harness.system.openedSockets == ["ipv4 eth0 224.0.0.18"])
        harness.system.advance(seconds: 3.7)
        #expect(harness.system.sent.allSatisfy { $0.interface == "eth0" })
        #expect(harness.system.addresses.contains("192.0.2.100/24 dev vrrp.51"))
    }

    @Test func ipv6UsesTheIPv6VirtualMACAndCarriesTheSourceLinkLocal() throws {
        let harness = EngineHarness()
        harness.system.primary["eth0"] = ip("fe80::1")
        var instance = engineInstance(addresses: ["2001:db8::100/64"], version: 3)
        instance.useVMAC = VirtualMAC()
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        let link = try #require(harness.system.virtualMACs["vrrp.51"])
        #expect(link.hardwareAddress == [0, 0, 0x5e, 0, 2, 51] && link.family == .ipv6)
        #expect(link.linkLocal == ip("fe80::1"))
        #expect(harness.system.openedSockets == ["ipv6 vrrp.51 ff02::12"])
    }

    @Test func configuredNameAndFiveOctetMAC() throws {
        let harness = EngineHarness()
        let instance = Self.vmacInstance {
            $0.useVMAC = VirtualMAC(interfaceName: "vip-mac", address: "02:11:22:33:44")
        }
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        let link = try #require(harness.system.virtualMACs["vip-mac"])
        #expect(link.hardwareAddress == [0x02, 0x11, 0x22, 0x33, 0x44, 51])
    }

    @Test func namesSkipForeignInterfacesAndOtherInstancesButReuseTheirOwnMacvlan() {
        let harness = EngineHarness()
        // vrrp.51 is someone's veth; a leftover macvlan of this instance is vrrp1.51 … no: vrrp2.51.
        harness.system.existingLinks["vrrp.51"] = VRRPLinkFacts(isMacvlan: false, lower: nil, hardwareAddress: [])
        harness.system.existingLinks["vrrp1.51"] = VRRPLinkFacts(
            isMacvlan: true, lower: "eth1", hardwareAddress: [0, 0, 0x5e, 0, 1, 51])
        let first = Self.vmacInstance()
        var second = Self.vmacInstance { $0.name = "VI_2" }
        second.interface = "eth1"
        harness.core.apply(engineConfiguration([first, second]), isReload: false)
        // VI_1 (on eth0) cannot have vrrp.51 (not a macvlan) nor vrrp1.51 (a macvlan on eth1): vrrp2.51.
        // VI_2 (on eth1) finds its own leftover vrrp1.51.
        #expect(harness.system.virtualMACs["vrrp2.51"]?.base == "eth0")
        #expect(harness.system.virtualMACs["vrrp1.51"]?.base == "eth1")
        // A configured name that is not a macvlan is refused with a log line, and a name is generated.
        let other = EngineHarness()
        var logs: [String] = []
        other.core.onLog = { logs.append($0) }
        other.system.existingLinks["eth9"] = VRRPLinkFacts(isMacvlan: false, lower: nil, hardwareAddress: [])
        other.core.apply(
            engineConfiguration([Self.vmacInstance { $0.useVMAC = VirtualMAC(interfaceName: "eth9") }]),
            isReload: false)
        #expect(other.system.virtualMACs.keys.sorted() == ["vrrp.51"])
        #expect(logs.contains { $0.contains("VMAC name eth9 is an existing interface that is not a macvlan") })
    }

    @Test func vmacPrefixAndAddressVMACs() throws {
        let harness = EngineHarness()
        var instance = Self.vmacInstance()
        instance.useVMACAddr = true
        let location = SourceLocation(file: "test.conf", line: 2)
        var onEth1 = VirtualAddress(prefix: IPPrefix("198.51.100.7/24")!, location: location)
        onEth1.device = "eth1"
        instance.excludedVirtualAddresses.append(onEth1)
        var configuration = engineConfiguration([instance])
        configuration.globalDefs.vmacPrefix = "vm"
        configuration.globalDefs.vmacAddrPrefix = "va"
        harness.core.apply(configuration, isReload: false)
        // In address order: the IPv6 eVIP on the instance's interface gets an IPv6 VMAC (use_vmac_addr, other
        // family) named first; the IPv4 eVIP on eth1 the next free name.
        #expect(harness.system.virtualMACs.keys.sorted() == ["va.51", "va1.51", "vm.51"])
        #expect(harness.system.virtualMACs["va.51"]?.hardwareAddress == [0, 0, 0x5e, 0, 2, 51])
        #expect(harness.system.virtualMACs["va.51"]?.base == "eth0")
        #expect(harness.system.virtualMACs["va1.51"]?.base == "eth1")
        harness.system.advance(seconds: 3.7)
        #expect(
            harness.system.addresses == [
                "192.0.2.100/24 dev vm.51", "2001:db8::5/64 dev va.51", "198.51.100.7/24 dev va1.51",
            ])
    }

    @Test func anAddressAsksForItsOwnVMAC() {
        let harness = EngineHarness()
        var instance = engineInstance()
        var address = VirtualAddress(
            prefix: IPPrefix("198.51.100.7/24")!, location: SourceLocation(file: "test.conf", line: 2))
        address.device = "eth1"
        address.useVMAC = true
        instance.excludedVirtualAddresses = [address]
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        #expect(harness.system.virtualMACs.keys.sorted() == ["vrrp.51"])
        #expect(harness.system.virtualMACs["vrrp.51"]?.base == "eth1")
        // The instance itself has no VMAC: its socket stays on eth0.
        #expect(harness.system.openedSockets == ["ipv4 eth0 224.0.0.18"])
    }

    @Test func aMacvlanThatCannotBeMadeLeavesTheInstanceInFault() {
        let harness = EngineHarness()
        harness.system.failingVirtualMACs = ["vrrp.51"]
        harness.core.apply(engineConfiguration([Self.vmacInstance()]), isReload: false)
        #expect(harness.last?.state == .fault)
        #expect(harness.system.openedSockets.isEmpty)
    }

    @Test func reloadThatDropsUseVMACDeletesTheMacvlan() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.vmacInstance()]), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.core.apply(engineConfiguration([engineInstance(excluded: ["2001:db8::5/64"])]), isReload: true)
        #expect(harness.system.virtualMACs.isEmpty)
        #expect(!harness.system.addresses.contains { $0.contains("vrrp.51") })
    }

    @Test func candidateNamesFollowKeepalived() {
        #expect(
            VRRPVirtualMAC.candidateNames(prefix: "vrrp", virtualRouterID: 5, family: .ipv4, count: 4) == [
                "vrrp.5", "vrrp1.5", "vrrp2.5", "vrrp3.5",
            ])
        #expect(
            VRRPVirtualMAC.candidateNames(prefix: "vrrp", virtualRouterID: 5, family: .ipv6, count: 9) == [
                "vrrp.5", "vrrp6.5", "vrrp1.5", "vrrp2.5", "vrrp3.5", "vrrp4.5", "vrrp5.5", "vrrp7.5", "vrrp8.5",
            ])
        #expect(
            VRRPVirtualMAC.candidateNames(prefix: "averyverylongprefix", virtualRouterID: 255, family: .ipv4, count: 2)
                == ["averyverylo.255", "averyveryl1.255"])
        #expect(VRRPVirtualMAC.configuredMAC("0:1:2:3:4", virtualRouterID: 9) == [0, 1, 2, 3, 4, 9])
        #expect(VRRPVirtualMAC.configuredMAC("zz:1:2:3:4", virtualRouterID: 9) == nil)
    }
}
