import Config
import Foundation
import Netlink
import Testing
import VRRPWorker

#if canImport(Glibc)
    import Glibc
#endif

private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

/// Against the host kernel, in namespaces `vio-*` the tests create and delete (veth vio0 ⇄ vio1, documentation
/// addresses only).
@Suite(.serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(1)))
struct RouteNetlinkSocketTests {
    @Test func linksAreFoundByNameAndIndex() throws {
        let namespace = try TestNamespace("links")
        defer { namespace.close() }
        let shown = namespace.ip("-o", "link", "show", "vio0")
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            let index = try #require(try socket.interfaceIndex(named: "vio0"))
            #expect(shown.hasPrefix("\(index): vio0@"))
            #expect(try socket.interfaceName(index: index) == "vio0")
            #expect(try socket.interfaceIndex(named: "vio-nosuch") == nil)
            #expect(try socket.interfaceName(index: 99999) == nil)
            #expect(try socket.isLinkUp(named: "vio-nosuch") == nil)
            let mac = try #require(try socket.hardwareAddress(named: "vio0"))
            let text = mac.map { String(format: "%02x", $0) }.joined(separator: ":")
            #expect(shown.contains("link/ether \(text) "))
            #expect(try socket.isLinkUp(named: "vio0") == true)
            #expect(try socket.isLinkUp(named: "lo") == true)
            _ = namespace.ip("link", "set", "vio1", "down")  // vio0 stays up but loses carrier
            #expect(try socket.isLinkUp(named: "vio0") == false)
        }
    }

    @Test func ipv4VirtualAddressWithLabel() throws {
        let namespace = try TestNamespace("addr4")
        defer { namespace.close() }
        let vip = InterfaceAddress(
            address: ip("192.0.2.100"), prefixLength: 32, interface: "vio0", label: "vio0:vip")
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            #expect(try socket.addAddress(vip))
            let shown = namespace.ip("-o", "-4", "addr", "show", "dev", "vio0")
            #expect(shown.contains("inet 192.0.2.100/32 scope global vio0:vip"), "\(shown)")
            #expect(try socket.addresses(interface: "vio0").contains(vip))
            #expect(try socket.addAddress(vip) == false)  // already there
            let withBroadcast = InterfaceAddress(
                address: ip("198.51.100.7"), prefixLength: 24, interface: "vio0", scope: 253,
                broadcast: ip("198.51.100.255"))
            #expect(try socket.addAddress(withBroadcast))
            let shownBroadcast = namespace.ip("-o", "-4", "addr", "show", "dev", "vio0")
            #expect(shownBroadcast.contains("inet 198.51.100.7/24 brd 198.51.100.255 scope link"), "\(shownBroadcast)")
            let listed = try socket.addresses(interface: "vio0").first { $0.address == ip("198.51.100.7") }
            #expect(listed?.broadcast == ip("198.51.100.255") && listed?.scope == 253 && listed?.label == "vio0")
            #expect(try socket.deleteAddress(vip))
            #expect(!namespace.ip("-o", "addr", "show", "dev", "vio0").contains("192.0.2.100"))
            #expect(try socket.deleteAddress(vip) == false)  // not there
        }
    }

    @Test func ipv6VirtualAddressWithoutDAD() throws {
        let namespace = try TestNamespace("addr6")
        defer { namespace.close() }
        let vip = InterfaceAddress(address: ip("2001:db8::100"), prefixLength: 64, interface: "vio0", noDAD: true)
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            #expect(try socket.addAddress(vip))
            let shown = namespace.ip("-o", "-6", "addr", "show", "dev", "vio0")
            #expect(shown.contains("inet6 2001:db8::100/64 scope global nodad"), "\(shown)")
            #expect(!shown.contains("2001:db8::100/64 scope global tentative"))
            #expect(try socket.addresses(interface: "vio0").contains(vip))
            #expect(try socket.addAddress(vip) == false)
            #expect(try socket.deleteAddress(vip))
            #expect(!namespace.ip("-o", "addr", "show", "dev", "vio0").contains("2001:db8::100"))
            #expect(try socket.deleteAddress(vip) == false)
        }
    }

    @Test func errorsNameTheAddressAndInterface() throws {
        let namespace = try TestNamespace("errors")
        defer { namespace.close() }
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            let missing = InterfaceAddress(address: ip("192.0.2.100"), prefixLength: 32, interface: "vio-nosuch")
            let error = #expect(throws: NetlinkError.self) { try socket.addAddress(missing) }
            #expect(error?.message == "cannot add 192.0.2.100/32 to vio-nosuch: no such interface vio-nosuch")
            let route = RouteSpec(destination: ip("198.51.100.0"), prefixLength: 24, interface: "vio-nosuch")
            let routeError = #expect(throws: NetlinkError.self) { try socket.addRoute(route) }
            #expect(routeError?.message.hasPrefix("cannot add route 198.51.100.0/24 dev vio-nosuch: ") == true)
            // The kernel's own refusal comes back as libnl's text: a gateway that is not on any link.
            let unreachable = RouteSpec(
                destination: ip("198.51.100.0"), prefixLength: 24, gateway: ip("203.0.113.1"), interface: "vio0")
            let kernelError = #expect(throws: NetlinkError.self) { try socket.addRoute(unreachable) }
            #expect(
                kernelError?.message.hasPrefix("cannot add route 198.51.100.0/24 via 203.0.113.1 dev vio0: ") == true)
            let tooLong = InterfaceAddress(address: ip("192.0.2.1"), prefixLength: 33, interface: "vio0")
            #expect(throws: NetlinkError.self) { try socket.addAddress(tooLong) }
        }
    }

    @Test func routesAreAddedAndDeleted() throws {
        let namespace = try TestNamespace("routes")
        defer { namespace.close() }
        _ = namespace.ip("addr", "add", "192.0.2.1/24", "dev", "vio0")
        _ = namespace.ip("addr", "add", "2001:db8::1/64", "dev", "vio0", "nodad")
        try namespace.enter {
            let socket = try RouteNetlinkSocket()
            let via = RouteSpec(
                destination: ip("198.51.100.0"), prefixLength: 24, gateway: ip("192.0.2.254"), source: ip("192.0.2.1"),
                interface: "vio0", metric: 7)
            #expect(try socket.addRoute(via))
            let main = namespace.ip("-4", "route", "show")
            // iproute2 names protocol 18 "keepalived" when its rt_protos file says so.
            let added = ["keepalived", "18"].map {
                "198.51.100.0/24 via 192.0.2.254 dev vio0 proto \($0) src 192.0.2.1 metric 7"
            }
            #expect(added.contains { main.contains($0) }, "\(main)")
            #expect(try socket.addRoute(via) == false)

            let blackhole = RouteSpec(destination: ip("203.0.113.0"), prefixLength: 24, table: 100, blackhole: true)
            #expect(try socket.addRoute(blackhole))
            let table = namespace.ip("-4", "route", "show", "table", "100")
            #expect(table.contains("blackhole 203.0.113.0/24"), "\(table)")

            let device = RouteSpec(
                destination: ip("203.0.113.64"), prefixLength: 26, interface: "vio0", scope: 253, protocolNumber: 4)
            #expect(try socket.addRoute(device))
            #expect(namespace.ip("-4", "route", "show").contains("203.0.113.64/26 dev vio0 proto static scope link"))

            let v6 = RouteSpec(
                destination: ip("2001:db8:1::"), prefixLength: 48, gateway: ip("2001:db8::fe"), interface: "vio0")
            #expect(try socket.addRoute(v6))
            let main6 = namespace.ip("-6", "route", "show")
            #expect(main6.contains("2001:db8:1::/48 via 2001:db8::fe dev vio0"), "\(main6)")

            for route in [via, blackhole, device, v6] {
                #expect(try socket.deleteRoute(route), "\(route)")
                #expect(try socket.deleteRoute(route) == false, "\(route)")
            }
            let after = namespace.ip("route", "show", "table", "all")
            for gone in ["198.51.100.0/24", "203.0.113.0/24", "203.0.113.64/26", "2001:db8:1::/48"] {
                #expect(!after.contains(gone), "\(after)")
            }
        }
    }
}
