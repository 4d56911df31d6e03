import Config
import Netlink
import Testing

@testable import VRRPWorker

/// The configuration's addresses, routes and rules as rtnetlink objects (pure).
@Suite("Kernel objects from the configuration")
struct KernelObjectsTests {
    static let location = SourceLocation(file: "test.conf", line: 1)

    static func loaded(_ block: String) -> VRRPInstance {
        let text = "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\n\(block)\n}\n"
        return ConfigLoader.load(text: text).config.vrrp.instances[0]
    }

    @Test func addressOptions() {
        let instance = Self.loaded(
            "virtual_ipaddress {\n192.0.2.10/24 brd +\n192.0.2.11/24 brd -\n192.0.2.12 peer 192.0.2.99/32 home\n"
                + "192.0.2.14/24 mngtmpaddr noprefixroute autojoin preferred_lft 30\n192.0.2.13/24 preferred_lft forever\n}"
        )
        let addresses = instance.virtualAddresses.map {
            KernelObjects.interfaceAddress(VRRPHeldAddress(address: $0, interface: "eth0"))
        }
        #expect(addresses[0].broadcast == IPAddress("192.0.2.255"))
        #expect(addresses[1].broadcast == IPAddress("192.0.2.0"))
        #expect(addresses[2].peer == IPAddress("192.0.2.99") && addresses[2].peerPrefixLength == 32)
        #expect(addresses[2].extraFlags == InterfaceAddress.homeAddressFlag)
        #expect(
            addresses[3].extraFlags
                == InterfaceAddress.manageTemporaryAddressFlag | InterfaceAddress.noPrefixRouteFlag
                | InterfaceAddress.multicastAutoJoinFlag)
        #expect(addresses[3].preferredLifetime == 30 && !addresses[3].noDAD)
        #expect(addresses[4].preferredLifetime == UInt32.max)
    }

    @Test func routeTypesMultipathMetricsAndProtocol() throws {
        let instance = Self.loaded(
            "virtual_routes {\nunreachable 198.51.100.0/24\nlocal 192.0.2.50 dev eth0\n"
                + "203.0.113.0/24 proto bird mtu lock 1400 rtt 10 onlink via 192.0.2.254 dev eth0\n"
                + "198.51.100.128/25 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth0 onlink\n}")
        let specs = try instance.virtualRoutes.map { try KernelObjects.routeSpec($0).get() }
        #expect(specs[0].type == .unreachable)
        #expect(specs[1].type == .local)
        #expect(specs[2].protocolNumber == 12 && specs[2].onlink)
        #expect(specs[2].metrics == [2: 1400, 4: 80] && specs[2].lockedMetrics == [2])
        #expect(
            specs[3].nextHops == [
                RouteNextHopSpec(gateway: IPAddress("192.0.2.1"), interface: "eth0", weight: 2),
                RouteNextHopSpec(gateway: IPAddress("192.0.2.2"), interface: "eth0", weight: 1, onlink: true),
            ])
        var unknownTable = instance.virtualRoutes[0]
        unknownTable.table = "isp1"
        #expect(throws: RouteProblem.self) { try KernelObjects.routeSpec(unknownTable).get() }
    }

    @Test func ruleOptions() throws {
        let instance = Self.loaded(
            "virtual_rules {\nfrom 192.0.2.0/24 table 100 preference 200\n"
                + "to 2001:db8::/32 fwmark 0x10/0xff iif eth0 oif eth1 lookup main protocol bird ip_proto tcp dport 80-90\n"
                + "from all priority 5 goto 10\nfrom 192.0.2.9 blackhole\n}")
        let specs = try instance.virtualRules.map { try KernelObjects.ruleSpec($0).get() }
        #expect(
            specs[0].family == .ipv4 && specs[0].source == IPAddress("192.0.2.0") && specs[0].sourcePrefixLength == 24)
        #expect(specs[0].table == 100 && specs[0].preference == 200)
        #expect(specs[1].family == .ipv6 && specs[1].firewallMark == 16 && specs[1].firewallMask == 255)
        #expect(specs[1].inputInterface == "eth0" && specs[1].outputInterface == "eth1" && specs[1].table == 254)
        #expect(specs[1].protocolNumber == 12 && specs[1].ipProtocol == 6 && specs[1].destinationPorts == 80...90)
        #expect(specs[2].action == 2 && specs[2].gotoTarget == 10 && specs[2].source == nil)
        #expect(specs[3].action == 6)
    }
}
