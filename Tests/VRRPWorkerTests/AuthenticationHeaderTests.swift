import Config
import Testing

@testable import VRRPWorker

/// keepalived's IPsec AH (auth type 2): ICV computed as keepalived computes it, verified on receipt, replays
/// dropped by the engine.
@Suite("VRRP IP Authentication Header")
struct AuthenticationHeaderTests {
    static let source = IPAddress("192.0.2.1")!
    static let key = AuthenticationHeader.key("secret12")

    /// A datagram as the socket sends it: IPv4 header (protocol 51), AH, VRRPv2 advert with auth type 2.
    static func datagram(sequence: UInt32 = 7, key: [UInt8] = key, ttl: UInt8 = 255) throws -> [UInt8] {
        let advert = VRRPAdvertisement(
            version: .v2, virtualRouterID: 51, priority: 200, advertisementInterval: .seconds(1),
            authentication: .ipAuthenticationHeader, addresses: [IPAddress("192.0.2.100")!])
        let message = try advert.encoded(source: source, destination: vrrpIPv4MulticastGroup)
        let header = IPv4Header(
            source: source, destination: vrrpIPv4MulticastGroup, timeToLive: ttl,
            protocolNumber: authenticationHeaderIPProtocol
        ).encoded(payloadLength: AuthenticationHeader.length + message.count, identification: 3)
        let ah = AuthenticationHeader.seal(
            ipHeader: header, message: message, source: source, sequence: sequence, key: key, unicast: false)
        return header + ah + message
    }

    @Test func keepalivedsPacketVerifiesAndTamperingDoesNot() throws {
        // A packet keepalived 2.2.7 sent (tcpdump): spi 192.0.2.1, seq 1, password secret12, vrid 51, prio 200.
        let wire: [UInt8] = Self.hex(
            "45c0004000010000ff3318b6c0000201e000001270040000c00002010000000173498105"
                + "9db32fd5e74417962133c80102015265c0000264" + "0000000000000000")
        let stripped = try IPv4Header.strip(wire)
        let ah = try #require(stripped.packet.authenticationHeader)
        #expect(ah.sequence == 1 && ah.spi == Self.source.bytes)
        #expect(ah.verifies(message: stripped.message, key: Self.key, unicast: false))
        #expect(!ah.verifies(message: stripped.message, key: AuthenticationHeader.key("wrong"), unicast: false))
        // Our own sealing gives the same ICV for the same bytes.
        let header = Array(wire[0..<20])
        #expect(
            AuthenticationHeader.seal(
                ipHeader: header, message: Array(stripped.message), source: Self.source, sequence: 1, key: Self.key,
                unicast: false) == Array(wire[20..<44]))
    }

    @Test func theFilterChecksTheICVAndTheSPI() throws {
        var filter = VRRPReceiveFilter(
            version: .v2, virtualRouterID: 51, authentication: .ipAuthenticationHeader,
            virtualAddresses: [IPAddress("192.0.2.100")!])
        filter.authenticationHeaderKey = Self.key
        // TOS, TTL and fragment fields may change on the way without breaking the ICV (multicast).
        var datagram = try Self.datagram()
        datagram[1] = 0
        let stripped = try IPv4Header.strip(datagram)
        guard case .accepted = filter.check(stripped.message, packet: stripped.packet) else {
            Issue.record("a valid AH advert was dropped")
            return
        }
        let wrongKey = try IPv4Header.strip(try Self.datagram(key: AuthenticationHeader.key("other")))
        #expect(filter.check(wrongKey.message, packet: wrongKey.packet).droppedBy == .authenticationHeader)
        var spoofed = try IPv4Header.strip(try Self.datagram())
        spoofed.packet.authenticationHeader?.spi = [192, 0, 2, 9]
        #expect(filter.check(spoofed.message, packet: spoofed.packet).droppedBy == .authenticationHeader)
        var bare = try IPv4Header.strip(try Self.datagram())
        bare.packet.authenticationHeader = nil
        #expect(filter.check(bare.message, packet: bare.packet).droppedBy == .authenticationHeader)
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

extension VRRPReceiveResult {
    var droppedBy: VRRPReceiveCheck? {
        if case .dropped(let failure) = self { return failure.check }
        return nil
    }
}
