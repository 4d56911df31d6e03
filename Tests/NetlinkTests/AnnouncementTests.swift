import Config
import Netlink
import Testing
import VRRPWorker

/// RFC 1071 sum written out again (independently of `InternetChecksum`): a correct message sums to 0xffff.
func onesComplementSum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index])
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high << 8 | low
        index += 2
    }
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return UInt16(sum)
}

let testMAC: [UInt8] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]

@Suite struct AnnouncementTests {
    @Test func gratuitousARPIsKeepalivedsBroadcastRequest() {
        let frame = Announcement.gratuitousARP(address: [192, 0, 2, 100], hardwareAddress: testMAC)
        let expected: [UInt8] =
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + testMAC + [0x08, 0x06]  // Ethernet: broadcast, ARP
            + [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]  // Ethernet/IPv4, request
            + testMAC + [192, 0, 2, 100]  // sender
            + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + [192, 0, 2, 100]  // target
        #expect(frame == expected)
        #expect(frame.count == 42)
    }

    @Test func neighborAdvertisementFieldsAndChecksum() throws {
        let address = try #require(IPAddress("2001:db8::100")).bytes
        let frame = Announcement.unsolicitedNeighborAdvertisement(address: address, hardwareAddress: testMAC)
        #expect(frame.count == 14 + 40 + 32)
        #expect(Array(frame[0..<6]) == [0x33, 0x33, 0, 0, 0, 1])
        #expect(Array(frame[6..<12]) == testMAC)
        #expect(Array(frame[12..<14]) == [0x86, 0xdd])
        let ip = Array(frame[14..<54])
        #expect(ip[0] >> 4 == 6)
        #expect(Array(ip[4..<6]) == [0, 32])  // payload length
        #expect(ip[6] == 58)  // ICMPv6
        #expect(ip[7] == 255)  // RFC 4861 §7.1.2
        #expect(Array(ip[8..<24]) == address)
        let allNodes = try #require(IPAddress("ff02::1")).bytes
        #expect(Array(ip[24..<40]) == allNodes)
        let icmp = Array(frame[54...])
        #expect(icmp[0] == 136 && icmp[1] == 0)
        #expect(icmp[4] == 0x20)  // override only: not a router, not solicited
        #expect(Array(icmp[5..<8]) == [0, 0, 0])
        #expect(Array(icmp[8..<24]) == address)
        #expect(Array(icmp[24..<32]) == [2, 1] + testMAC)  // target link-layer address option
        // The checksum covers the RFC 8200 §8.1 pseudo-header.
        let pseudo = Array(ip[8..<40]) + [0, 0, 0, 32, 0, 0, 0, 58]
        #expect(onesComplementSum(pseudo + icmp) == 0xffff)
        #expect(Announcement.icmpv6Checksum(source: address, destination: Array(ip[24..<40]), message: icmp) == 0)
    }

    @Test func checksumMatchesAHandComputedValue() {
        // Zero addresses and a 4-byte message 0x8800 0000: sum = 32 (length) + 58 + 0x8800 = 0x885a.
        let checksum = Announcement.icmpv6Checksum(
            source: [UInt8](repeating: 0, count: 16), destination: [UInt8](repeating: 0, count: 16),
            message: [0x88, 0, 0, 0])
        #expect(checksum == ~UInt16(0x8800 + 4 + 58))
    }
}

@Suite struct LinkEventDecodingTests {
    /// An `RTM_NEWLINK`/`RTM_DELLINK` message: ifinfomsg (index, flags) and an optional IFLA_IFNAME.
    func message(type: UInt16, index: Int32, flags: UInt32, name: String?) -> NetlinkMessage {
        var payload: [UInt8] = [0, 0, 1, 0]  // AF_UNSPEC, pad, ARPHRD_ETHER
        payload += withUnsafeBytes(of: index.littleEndian) { Array($0) }
        payload += withUnsafeBytes(of: flags.littleEndian) { Array($0) }
        payload += [0xff, 0xff, 0xff, 0xff]
        if let name { payload += [NetlinkAttribute.string(3, name)].encoded() }
        let header = NetlinkHeader(length: UInt32(16 + payload.count), type: type, flags: [], sequence: 0)
        return NetlinkMessage(header: header, payload: payload[...])
    }

    @Test func newLinkUpNeedsUpAndRunning() throws {
        let up = try LinkEvent.decode(message(type: 16, index: 7, flags: 0x1 | 0x40, name: "eth1"))
        #expect(up == LinkEvent(name: "eth1", index: 7, isUp: true))
        let noCarrier = try LinkEvent.decode(message(type: 16, index: 7, flags: 0x1, name: "eth1"))
        #expect(noCarrier?.isUp == false)
        let deleted = try LinkEvent.decode(message(type: 17, index: 7, flags: 0x1 | 0x40, name: "eth1"))
        #expect(deleted?.isUp == false)
    }

    @Test func otherMessagesAreIgnored() throws {
        #expect(try LinkEvent.decode(message(type: 20, index: 1, flags: 0, name: "x")) == nil)  // RTM_NEWADDR
    }

    @Test func malformedNotificationsThrow() {
        #expect(throws: NetlinkError.self) { try LinkEvent.decode(message(type: 16, index: 2, flags: 1, name: nil)) }
        let short = NetlinkMessage(
            header: NetlinkHeader(length: 24, type: 16, flags: [], sequence: 0), payload: [1, 2, 3, 4, 5, 6, 7, 8][...])
        #expect(throws: NetlinkError.self) { try LinkEvent.decode(short) }
        var bad = message(type: 16, index: 2, flags: 1, name: "eth0")
        bad.payload = bad.payload.dropLast(4)  // attribute longer than what is left
        #expect(throws: NetlinkError.self) { try LinkEvent.decode(bad) }
    }
}

@Suite struct RouteAndRuleDeletionDecodingTests {
    func message(type: UInt16, header: [UInt8], _ attributes: [NetlinkAttribute]) -> NetlinkMessage {
        let payload = header + attributes.encoded()
        let netlinkHeader = NetlinkHeader(length: UInt32(16 + payload.count), type: type, flags: [], sequence: 0)
        return NetlinkMessage(header: netlinkHeader, payload: payload[...])
    }

    /// rtmsg: AF_INET, /24, src_len 0, tos 16, table 254, protocol, scope, unicast, flags.
    func route(type: UInt16 = 25, protocolNumber: UInt8 = 18, _ attributes: [NetlinkAttribute]) -> NetlinkMessage {
        message(type: type, header: [2, 24, 0, 16, 254, protocolNumber, 0, 1, 0, 0, 0, 0], attributes)
    }

    @Test func aDeletedKeepalivedRouteDecodes() throws {
        let deletion = try RouteDeletion.decode(
            route([.bytes(1, [198, 51, 100, 0]), .u32(4, 3), .u32(6, 5), .u32(15, 1000)]))
        #expect(
            deletion
                == RouteDeletion(
                    destination: IPAddress("198.51.100.0")!, prefixLength: 24, table: 1000, metric: 5, tos: 16,
                    interfaceIndex: 3))
        // Another protocol's, an added route, a default route without RTA_DST.
        #expect(try RouteDeletion.decode(route(protocolNumber: 4, [.bytes(1, [198, 51, 100, 0])])) == nil)
        #expect(try RouteDeletion.decode(route(type: 24, [.bytes(1, [198, 51, 100, 0])])) == nil)
        #expect(try RouteDeletion.decode(route([]))?.destination == IPAddress("0.0.0.0"))
        #expect(throws: NetlinkError.self) { try RouteDeletion.decode(route([.bytes(1, [198, 51])])) }
    }

    @Test func aDeletedRuleDecodesUnlessAnotherProtocolsOwn() throws {
        // fib_rule_hdr: AF_INET6, dst_len 0, src_len 32, tos 0, table 100, res, res, FR_ACT_TO_TBL, flags.
        let header: [UInt8] = [10, 0, 32, 0, 100, 0, 0, 1, 0, 0, 0, 0]
        let source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12)
        let deletion = try RuleDeletion.decode(
            message(type: 33, header: header, [.bytes(2, source), .u32(6, 100), .u8(21, 18)]))
        #expect(
            deletion
                == RuleDeletion(
                    family: .ipv6, preference: 100, table: 100, source: IPAddress("2001:db8::"), sourcePrefixLength: 32)
        )
        #expect(try RuleDeletion.decode(message(type: 33, header: header, [.u8(21, 4)])) == nil)
        #expect(try RuleDeletion.decode(message(type: 32, header: header, [])) == nil)
    }
}
