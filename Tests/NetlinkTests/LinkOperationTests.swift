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
        }
    }
}
