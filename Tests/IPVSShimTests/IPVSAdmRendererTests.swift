import Config
import Testing

@testable import IPVSShim

@Suite("ipvsadm -Ln rendering")
struct IPVSAdmRendererTests {
    @Test("Columns, flag words, sorting and IPv6 brackets match ipvsadm")
    func listing() {
        var web = IPVSVirtualServer(
            service: IPVSService(
                key: .address(ip("192.0.2.100"), port: 80, protocol: .tcp), scheduler: "wlc",
                flags: [.persistent, .hashed], timeout: 50),
            destinations: [
                IPVSDestination(address: ip("192.0.2.12"), port: 80, forwarding: .directRouting, weight: 0),
                IPVSDestination(address: ip("192.0.2.11"), port: 80, forwarding: .directRouting, weight: 1),
            ])
        web.destinations[1].activeConnections = 3
        web.destinations[1].inactiveConnections = 12
        let dns = IPVSVirtualServer(
            service: IPVSService(key: .address(ip("2001:db8::1"), port: 53, protocol: .udp), scheduler: "rr"),
            destinations: [IPVSDestination(address: ip("2001:db8::53"), port: 53)])
        let marked = IPVSVirtualServer(
            service: IPVSService(
                key: .firewallMark(7, family: .ipv4), scheduler: "sh", flags: [.shFallback, .shPort, .onePacket]),
            destinations: [IPVSDestination(address: ip("10.0.0.1"), port: 0, forwarding: .tunnel, weight: 5)])
        let sip = IPVSVirtualServer(
            service: IPVSService(
                key: .address(ip("192.0.2.101"), port: 5060, protocol: .udp), scheduler: "wrr", flags: .persistent,
                timeout: 300, netmask: 0xffff_ff00, persistenceEngine: "sip"))
        let six = IPVSVirtualServer(
            service: IPVSService(
                key: .address(ip("2001:db8::2"), port: 443, protocol: .sctp), scheduler: "mh",
                flags: [.persistent, .mhPort], timeout: 360, netmask: 64))

        // ipvsadm writes "FWM  7 IPv6" for an IPv6 mark (seen against the kernel lab's 6.1 kernel).
        let sixMark = IPVSVirtualServer(service: IPVSService(key: .firewallMark(7, family: .ipv6), scheduler: "rr"))

        let text = IPVSAdmRenderer.render(IPVSTable([sixMark, marked, dns, sip, six, web]))
        let expected = [
            "IP Virtual Server version 1.2.1 (size=4096)",
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
            "TCP  192.0.2.100:80 wlc persistent 50",
            "  -> 192.0.2.11:80                Route   1      3          12        ",
            "  -> 192.0.2.12:80                Route   0      0          0         ",
            "UDP  192.0.2.101:5060 wrr persistent 300 mask 255.255.255.0 pe sip",
            "UDP  [2001:db8::1]:53 rr",
            "  -> [2001:db8::53]:53            Masq    1      0          0         ",
            "SCTP [2001:db8::2]:443 mh (mh-port) persistent 360 mask 64",
            "FWM  7 sh (sh-fallback,sh-port) ops",
            "  -> 10.0.0.1:0                   Tunnel  5      0          0         ",
            "FWM  7 IPv6 rr",
        ]
        #expect(text == expected.joined(separator: "\n") + "\n")
    }

    @Test("An optional checker column and a custom header")
    func checkerColumn() {
        let server = IPVSVirtualServer(
            service: IPVSService(key: .address(ip("192.0.2.100"), port: 80, protocol: .tcp), scheduler: "rr"),
            destinations: [
                IPVSDestination(address: ip("192.0.2.11"), port: 80),
                IPVSDestination(address: ip("192.0.2.12"), port: 80),
            ])
        let text = IPVSAdmRenderer.render(
            IPVSTable([server]), info: IPVSInfo(version: 0x01_0201, connectionTableSize: 1_048_576)
        ) { _, destination in destination.address == ip("192.0.2.11") ? "up" : nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "IP Virtual Server version 1.2.1 (size=1048576)")
        #expect(lines[2] == "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn  Checker")
        #expect(lines[4] == "  -> 192.0.2.11:80                Masq    1      0          0          up")
        #expect(lines[5] == "  -> 192.0.2.12:80                Masq    1      0          0          -")
    }
}
