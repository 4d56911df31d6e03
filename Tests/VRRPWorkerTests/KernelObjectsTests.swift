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
                + "203.0.113.0/24 proto bird mtu lock 1400 rtt 10 onlink via 192.0.2.254 dev eth0 no_track\n"
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
                + "to 2001:db8::/32 fwmark 0x10/0xff iif eth0 oif eth1 lookup main protocol bird ip_proto tcp dport 80-90 "
                + "no_track\n"
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

    @Test func ruleSelectorsAndTracking() throws {
        let instance = Self.loaded(
            "virtual_rules {\nnot from 192.0.2.0/24 table 100 preference 10 suppress_prefixlength 0 "
                + "suppress_ifgroup 3 uidrange 1000-1999 tunnel-id 7 realms 3/5\n"
                + "from 192.0.2.0/24 type unreachable preference 11 no_track\n}")
        let specs = try instance.virtualRules.map { try KernelObjects.ruleSpec($0).get() }
        #expect(specs[0].invert && specs[0].suppressPrefixLength == 0 && specs[0].suppressInterfaceGroup == 3)
        #expect(specs[0].uidRange == 1000...1999 && specs[0].tunnelID == 7 && specs[0].realms == 3 << 16 | 5)
        // Tracked: protocol keepalived, how its deletion is recognised.
        #expect(specs[0].protocolNumber == 18 && specs[0].description.hasPrefix("not from 192.0.2.0/24"))
        #expect(specs[1].action == 7 && specs[1].protocolNumber == nil)
    }

    @Test func routeEncapReachesTheSpec() throws {
        let instance = Self.loaded("virtual_routes {\n203.0.113.0/24 encap mpls 100/200 dev eth0\n}")
        let spec = try KernelObjects.routeSpec(instance.virtualRoutes[0]).get()
        #expect(spec.encap == RouteEncap(kind: .mpls, labels: [100, 200]))
        // Label 100, then label 200 with the bottom-of-stack bit: big-endian words.
        #expect(RouteNetlinkSocket.mplsLabelStack([100, 200]) == [0x00, 0x06, 0x40, 0x00, 0x00, 0x0c, 0x81, 0x00])
    }

    @Test func deletionsMatchTheLinesAsTheKernelHeldThem() {
        let instance = Self.loaded(
            "virtual_routes {\n198.51.100.0/24 via 192.0.2.254 dev eth0\n2001:db8:9::/64 dev eth0 table 7\n"
                + "203.0.113.0/24 dev eth0 metric 5 tos 0x10\n}\nvirtual_rules {\nfrom 192.0.2.0/24 table 100 "
                + "preference 100\nto 198.51.100.0/24 prohibit preference 101\n}")
        let (v4, v6, metric) = (instance.virtualRoutes[0], instance.virtualRoutes[1], instance.virtualRoutes[2])
        let gone = RouteDeletion(destination: IPAddress("198.51.100.0")!, prefixLength: 24, table: 254)
        #expect(KernelObjects.route(v4, matches: gone, interface: "eth0"))
        #expect(!KernelObjects.route(v4, matches: gone, interface: "eth1"))
        #expect(
            !KernelObjects.route(
                v4,
                matches: RouteDeletion(
                    destination: IPAddress("198.51.100.0")!, prefixLength: 25, table: 254), interface: "eth0"))
        // IPv6: the kernel's metric 1024 when none was given.
        let v6Gone = RouteDeletion(destination: IPAddress("2001:db8:9::")!, prefixLength: 64, table: 7, metric: 1024)
        #expect(KernelObjects.route(v6, matches: v6Gone, interface: "eth0"))
        let metricGone = RouteDeletion(
            destination: IPAddress("203.0.113.0")!, prefixLength: 24, table: 254, metric: 5, tos: 16)
        #expect(KernelObjects.route(metric, matches: metricGone, interface: "eth0"))
        #expect(!KernelObjects.route(v4, matches: metricGone, interface: "eth0"))
        let (lookup, prohibit) = (instance.virtualRules[0], instance.virtualRules[1])
        let ruleGone = RuleDeletion(
            family: .ipv4, preference: 100, table: 100, source: IPAddress("192.0.2.0"), sourcePrefixLength: 24)
        #expect(KernelObjects.rule(lookup, matches: ruleGone))
        #expect(!KernelObjects.rule(prohibit, matches: ruleGone))
        let prohibitGone = RuleDeletion(
            family: .ipv4, preference: 101, table: 0, action: 8, destination: IPAddress("198.51.100.0"),
            destinationPrefixLength: 24)
        #expect(KernelObjects.rule(prohibit, matches: prohibitGone))
    }
}
