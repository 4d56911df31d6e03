import Config
import Foundation
import Netlink
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// macvlans, link flags and device settings against the host kernel, in namespaces `vio-*` the tests create.
@Suite(.serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(1)))
struct LinkOperationTests {
    @Test func macvlanIsCreatedDescribedConfiguredAndDeleted() throws {
        let namespace = try TestNamespace("macvlan")
        defer { namespace.close() }
        let mac: [UInt8] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            try socket.addMacvlan(named: "vio-vm", lower: "vio0", hardwareAddress: mac, mode: .private)
            let shown = namespace.ip("-d", "link", "show", "vio-vm")
            #expect(shown.contains("vio-vm@vio0"), "\(shown)")
            #expect(shown.contains("link/ether 00:00:5e:00:01:33"), "\(shown)")
            #expect(shown.contains("macvlan mode private"), "\(shown)")
            #expect(!shown.contains("UP,"), "created down: \(shown)")
            let described = try #require(try socket.linkDescription(named: "vio-vm"))
            #expect(described.kind == "macvlan" && described.macvlanMode == .private)
            #expect(described.hardwareAddress == mac && described.isUp == false)
            #expect(described.lowerIndex == (try socket.interfaceIndex(named: "vio0")))
            #expect(try socket.linkDescription(named: "vio0")?.kind == "veth")
            #expect(try socket.linkDescription(named: "vio-nosuch") == nil)
            // A second create of the same name is refused.
            #expect(throws: NetlinkError.self) {
                try socket.addMacvlan(named: "vio-vm", lower: "vio0", hardwareAddress: mac, mode: .private)
            }

            try socket.setIPv6AddressGenerationMode(named: "vio-vm", "none")
            #expect(namespace.ip("-d", "link", "show", "vio-vm").contains("addrgenmode none"))
            try socket.setIPv4DeviceConfiguration(
                named: "vio-vm", [("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0)])
            #expect(try socket.ipv4DeviceConfiguration(named: "vio-vm", "arp_ignore") == 1)
            #expect(try socket.ipv4DeviceConfiguration(named: "vio-vm", "accept_local") == 1)
            try socket.setIPv4DeviceConfiguration(named: "vio0", [("arp_filter", 1)])
            #expect(try socket.ipv4DeviceConfiguration(named: "vio0", "arp_filter") == 1)
            let sysctl = run(["ip", "netns", "exec", namespace.name, "sysctl", "-n", "net.ipv4.conf.vio-vm.arp_ignore"])
            #expect(sysctl.output.trimmingCharacters(in: .whitespacesAndNewlines) == "1")

            try socket.setLink(named: "vio-vm", up: true)
            #expect(try socket.linkDescription(named: "vio-vm")?.isUp == true)
            // No link-local address was made (addrgenmode none).
            #expect(!namespace.ip("-6", "addr", "show", "dev", "vio-vm").contains("fe80"))
            try socket.setLink(named: "vio-vm", up: false)
            #expect(try socket.linkDescription(named: "vio-vm")?.isUp == false)

            #expect(try socket.deleteLink(named: "vio-vm"))
            #expect(try socket.deleteLink(named: "vio-vm") == false)
            #expect(!namespace.ip("link", "show").contains("vio-vm"))
        }
    }

    @Test func linkMonitorReportsDeletion() throws {
        let namespace = try TestNamespace("linkdel")
        defer { namespace.close() }
        try namespace.enter {
            let monitor = try LinkMonitor()
            _ = namespace.ip("link", "add", "vio-gone", "link", "vio0", "type", "macvlan")
            _ = namespace.ip("link", "del", "vio-gone")
            var events: [LinkEvent] = []
            for _ in 0..<50 where !events.contains(where: \.isDeleted) {
                events += monitor.drain()
                usleep(20_000)
            }
            #expect(events.contains { $0.name == "vio-gone" && $0.isDeleted && !$0.isUp }, "\(events)")
            #expect(events.contains { $0.name == "vio-gone" && !$0.isDeleted })
            // Addresses coming and going (track_src_ip).
            _ = namespace.ip("addr", "add", "192.0.2.44/24", "dev", "vio0")
            _ = namespace.ip("addr", "del", "192.0.2.44/24", "dev", "vio0")
            var addresses: [AddressEvent] = []
            for _ in 0..<50 where !addresses.contains(where: { !$0.added }) {
                addresses += monitor.drainAll().addresses
                usleep(20_000)
            }
            let index = try #require(try RouteNetlinkSocket().interfaceIndex(named: "vio0"))
            #expect(addresses.contains(AddressEvent(index: index, address: IPAddress("192.0.2.44")!, added: true)))
            #expect(addresses.contains(AddressEvent(index: index, address: IPAddress("192.0.2.44")!, added: false)))
        }
    }
}

/// Route types, multipath, metrics, rules and address options against the host kernel (`ip route`, `ip rule`,
/// `ip addr` read them back).
@Suite(.serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(1)))
struct RouteRuleAddressOptionTests {
    @Test func routesRulesAndAddressOptionsLandAsIpShowsThem() throws {
        let namespace = try TestNamespace("rules")
        defer { namespace.close() }
        _ = namespace.ip("addr", "add", "192.0.2.1/24", "dev", "vio0")
        _ = namespace.ip("addr", "add", "198.51.100.1/24", "dev", "vio1")
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            let v4 = { (text: String) in IPAddress(text)! }
            let unreachable = RouteSpec(destination: v4("203.0.113.0"), prefixLength: 25, type: .unreachable)
            let multipath = RouteSpec(
                destination: v4("203.0.113.128"), prefixLength: 25, protocolNumber: 12,
                nextHops: [
                    RouteNextHopSpec(gateway: v4("192.0.2.254"), interface: "vio0", weight: 2),
                    RouteNextHopSpec(gateway: v4("198.51.100.254"), interface: "vio1", weight: 1),
                ], metrics: [2: 1400], lockedMetrics: [2])
            let onlink = RouteSpec(
                destination: v4("198.51.100.128"), prefixLength: 25, gateway: v4("203.0.113.1"), interface: "vio0",
                onlink: true)
            for route in [unreachable, multipath, onlink] { #expect(try socket.addRoute(route), "\(route)") }
            let routes = namespace.ip("route", "show")
            #expect(routes.contains("unreachable 203.0.113.0/25 proto keepalived"), "\(routes)")
            #expect(routes.contains("203.0.113.128/25 proto bird mtu lock 1400"), "\(routes)")
            #expect(routes.contains("nexthop via 192.0.2.254 dev vio0 weight 2"), "\(routes)")
            #expect(routes.contains("nexthop via 198.51.100.254 dev vio1 weight 1"), "\(routes)")
            #expect(routes.contains("198.51.100.128/25 via 203.0.113.1 dev vio0 proto keepalived onlink"), "\(routes)")
            for route in [unreachable, multipath, onlink] { #expect(try socket.deleteRoute(route), "\(route)") }

            let rule = RuleSpec(
                family: .ipv4, source: v4("192.0.2.0"), sourcePrefixLength: 24, table: 100, preference: 300,
                firewallMark: 16, firewallMask: 255, inputInterface: "vio0", ipProtocol: 6, destinationPorts: 80...90)
            #expect(try socket.addRule(rule))
            #expect(try socket.addRule(rule) == false)
            let rules = namespace.ip("rule", "show")
            #expect(
                rules.contains("300:\tfrom 192.0.2.0/24 fwmark 0x10/0xff iif vio0 ipproto tcp dport 80-90 lookup 100"),
                "\(rules)")
            #expect(try socket.deleteRule(rule))
            #expect(try socket.deleteRule(rule) == false)
            let blackhole = RuleSpec(
                family: .ipv6, destination: IPAddress("2001:db8::"), destinationPrefixLength: 32, preference: 301,
                action: 6)
            #expect(try socket.addRule(blackhole))
            #expect(namespace.ip("-6", "rule", "show").contains("301:\tfrom all to 2001:db8::/32 blackhole"))
            #expect(try socket.deleteRule(blackhole))

            // home and preferred lifetimes are IPv6's (the kernel ignores them on IPv4, as ip warns).
            let address = InterfaceAddress(
                address: IPAddress("2001:db8::77")!, prefixLength: 64, interface: "vio0", noDAD: true,
                extraFlags: InterfaceAddress.noPrefixRouteFlag | InterfaceAddress.homeAddressFlag, preferredLifetime: 30
            )
            #expect(try socket.addAddress(address))
            let shown = namespace.ip("-6", "addr", "show", "dev", "vio0")
            #expect(shown.contains("inet6 2001:db8::77/64 scope global nodad home noprefixroute"), "\(shown)")
            #expect(shown.contains("preferred_lft 30sec") || shown.contains("preferred_lft 29sec"), "\(shown)")
            let broadcast = InterfaceAddress(
                address: v4("192.0.2.77"), prefixLength: 24, interface: "vio0", broadcast: v4("192.0.2.255"),
                extraFlags: InterfaceAddress.noPrefixRouteFlag)
            #expect(try socket.addAddress(broadcast))
            #expect(
                namespace.ip("addr", "show", "dev", "vio0").contains(
                    "inet 192.0.2.77/24 brd 192.0.2.255 scope global secondary noprefixroute vio0"))
            let peer = InterfaceAddress(
                address: v4("192.0.2.78"), prefixLength: 32, interface: "vio1", peer: v4("192.0.2.79"),
                peerPrefixLength: 32)
            #expect(try socket.addAddress(peer))
            #expect(namespace.ip("addr", "show", "dev", "vio1").contains("inet 192.0.2.78 peer 192.0.2.79/32"))
        }
    }
}
