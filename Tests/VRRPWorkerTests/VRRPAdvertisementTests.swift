import Config
import TestSupport
import Testing
import VRRPWorker

@Suite("VRRP advertisement codec")
struct VRRPAdvertisementTests {
    /// VRRPv2, VRID 51, priority 150, 10.0.0.1 and 10.0.0.2, auth type 1 password "secret", Adver Int 1.
    /// Checksum by hand: 0x2133 + 0x9602 + 0x0101 + 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x7365 + 0x6372
    /// + 0x6574 = 0x0886 after folding the carries; ~0x0886 = 0xf779 (RFC 3768 §5.3.8: the message alone).
    static let v2Password: [UInt8] = [
        0x21, 0x33, 0x96, 0x02, 0x01, 0x01, 0xf7, 0x79, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
        0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x00, 0x00,
    ]
    static let v2Packet = VRRPPacketInfo(source: ip("10.0.0.5"), destination: ip("224.0.0.18"), hopLimit: 255)

    /// VRRPv3 over IPv4 from 192.168.1.10 to 224.0.0.18, VRID 7, priority 200, 192.168.1.100, 100 centiseconds.
    /// Checksum 0xa244 with the pseudo-header (RFC 5798 §5.2.8); without it, it would be 0x4486.
    static let v3IPv4: [UInt8] = [0x31, 0x07, 0xc8, 0x01, 0x00, 0x64, 0xa2, 0x44, 0xc0, 0xa8, 0x01, 0x64]
    static let v3IPv4Packet = VRRPPacketInfo(source: ip("192.168.1.10"), destination: ip("224.0.0.18"), hopLimit: 255)

    /// VRRPv3 over IPv6 from fe80::1 to ff02::12, VRID 10, priority 100, fe80::100 and 2001:db8::100,
    /// 10 centiseconds. Checksum 0x3e80 over the IPv6 pseudo-header (RFC 2460 §8.1), computed independently.
    static let v3IPv6: [UInt8] = [
        0x31, 0x0a, 0x64, 0x02, 0x00, 0x0a, 0x3e, 0x80,
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    ]
    static let v3IPv6Packet = VRRPPacketInfo(source: ip("fe80::1"), destination: ip("ff02::12"), hopLimit: 255)

    /// A packet whose bytes were checked by hand or computed independently, and what it decodes to.
    struct KnownPacket: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var packet: VRRPPacketInfo
        var advertisement: VRRPAdvertisement

        var testDescription: String { name }
    }

    static let knownPackets = [
        KnownPacket(
            name: "v2 IPv4 simple password",
            bytes: v2Password,
            packet: v2Packet,
            advertisement: VRRPAdvertisement(
                version: .v2,
                virtualRouterID: 51,
                priority: 150,
                advertisementInterval: .seconds(1),
                authentication: .password("secret"),
                addresses: [ip("10.0.0.1"), ip("10.0.0.2")]
            )
        ),
        KnownPacket(
            name: "v3 IPv4",
            bytes: v3IPv4,
            packet: v3IPv4Packet,
            advertisement: VRRPAdvertisement(
                version: .v3,
                virtualRouterID: 7,
                priority: 200,
                advertisementInterval: .seconds(1),
                addresses: [ip("192.168.1.100")]
            )
        ),
        KnownPacket(
            name: "v3 IPv6",
            bytes: v3IPv6,
            packet: v3IPv6Packet,
            advertisement: VRRPAdvertisement(
                version: .v3,
                virtualRouterID: 10,
                priority: 100,
                advertisementInterval: .milliseconds(100),
                addresses: [ip("fe80::100"), ip("2001:db8::100")]
            )
        ),
    ]

    @Test(arguments: knownPackets)
    func encodesKnownPacket(_ known: KnownPacket) throws {
        let packet = known.packet
        #expect(try known.advertisement.encoded(source: packet.source, destination: packet.destination) == known.bytes)
    }

    @Test(arguments: knownPackets)
    func decodesKnownPacket(_ known: KnownPacket) throws {
        #expect(try VRRPAdvertisement(decoding: known.bytes, packet: known.packet) == known.advertisement)
    }

    @Test func decodedFieldsMeanWhatTheRFCsSay() throws {
        let v2 = try VRRPAdvertisement(decoding: Self.v2Password, packet: Self.v2Packet)
        #expect(v2.authentication == .simplePassword(Array("secret".utf8) + [0, 0]))
        #expect(v2.advertisementInterval == .seconds(1))
        let v6 = try VRRPAdvertisement(decoding: Self.v3IPv6, packet: Self.v3IPv6Packet)
        #expect(v6.rawAdvertisementInterval == 10)
        #expect(v6.advertisementInterval == .milliseconds(100))
    }

    @Test func version3ChecksumCoversThePseudoHeader() {
        // The same message to a unicast peer instead of the group no longer sums to zero.
        let unicast = VRRPPacketInfo(source: ip("192.168.1.10"), destination: ip("192.168.1.11"), hopLimit: 255)
        #expect(throws: VRRPReceiveFailure.self) { try VRRPAdvertisement(decoding: Self.v3IPv4, packet: unicast) }
    }

    @Test func version3IntervalKeepsTwelveBitsAndIgnoresReservedBits() throws {
        let advertisement = VRRPAdvertisement(
            version: .v3,
            virtualRouterID: 1,
            priority: 100,
            rawAdvertisementInterval: 0x0fff,
            addresses: []
        )
        let source = ip("10.0.0.1")
        var bytes = try advertisement.encoded(source: source, destination: vrrpIPv4MulticastGroup)
        #expect(bytes[4] == 0x0f && bytes[5] == 0xff)
        // Set a reserved bit and fix the checksum by hand: the decoder masks it off.
        bytes[4] |= 0x10
        let checksum = (UInt16(bytes[6]) << 8 | UInt16(bytes[7])) &- 0x1000
        bytes[6] = UInt8(checksum >> 8)
        bytes[7] = UInt8(checksum & 0xff)
        let packet = VRRPPacketInfo(source: source, destination: vrrpIPv4MulticastGroup, hopLimit: 255)
        #expect(try VRRPAdvertisement(decoding: bytes, packet: packet).rawAdvertisementInterval == 0x0fff)
    }

    @Test func intervalsRoundToTheVersionsUnit() {
        #expect(VRRPVersion.v2.rawAdvertisementInterval(for: .milliseconds(100)) == 1)
        #expect(VRRPVersion.v2.rawAdvertisementInterval(for: .seconds(300)) == 255)
        #expect(VRRPVersion.v3.rawAdvertisementInterval(for: .milliseconds(100)) == 10)
        #expect(VRRPVersion.v3.rawAdvertisementInterval(for: .milliseconds(1234)) == 123)
        #expect(VRRPVersion.v3.rawAdvertisementInterval(for: .seconds(50)) == 4095)
        #expect(VRRPVersion.v3.advertisementInterval(raw: 10) == .milliseconds(100))
    }

    @Test func refusesWhatTheVersionCannotCarry() {
        let source = ip("10.0.0.1")
        let group = vrrpIPv4MulticastGroup
        let mixed = VRRPAdvertisement(
            version: .v3,
            virtualRouterID: 1,
            priority: 100,
            rawAdvertisementInterval: 100,
            addresses: [ip("10.0.0.9"), ip("2001:db8::9")]
        )
        #expect(throws: VRRPEncodingError.self) { try mixed.encoded(source: source, destination: group) }
        let v3WithPassword = VRRPAdvertisement(
            version: .v3,
            virtualRouterID: 1,
            priority: 100,
            rawAdvertisementInterval: 100,
            authentication: .password("x"),
            addresses: []
        )
        #expect(throws: VRRPEncodingError.self) { try v3WithPassword.encoded(source: source, destination: group) }
        let v2Over6 = VRRPAdvertisement(
            version: .v2,
            virtualRouterID: 1,
            priority: 100,
            rawAdvertisementInterval: 1,
            addresses: []
        )
        #expect(throws: VRRPEncodingError.self) {
            try v2Over6.encoded(source: ip("fe80::1"), destination: vrrpIPv6MulticastGroup)
        }
        let v2LongInterval = VRRPAdvertisement(
            version: .v2,
            virtualRouterID: 1,
            priority: 100,
            rawAdvertisementInterval: 256,
            addresses: []
        )
        #expect(throws: VRRPEncodingError.self) { try v2LongInterval.encoded(source: source, destination: group) }
    }

    // MARK: IPv4 header

    static let ipv4Header: [UInt8] = [
        0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x89, 0x0a, 0x00, 0x00, 0x05,
        0xe0, 0x00, 0x00, 0x12,
    ]

    @Test func buildsTheIPv4HeaderKeepalivedSends() {
        let header = IPv4Header(source: ip("10.0.0.5"), destination: ip("224.0.0.18"))
        #expect(header.encoded(payloadLength: Self.v2Password.count, identification: 1) == Self.ipv4Header)
    }

    @Test func stripsTheIPv4Header() throws {
        let stripped = try IPv4Header.strip(Self.ipv4Header + Self.v2Password)
        #expect(stripped.packet == Self.v2Packet)
        #expect(Array(stripped.message) == Self.v2Password)
        #expect(try VRRPAdvertisement(decoding: stripped.message, packet: stripped.packet).virtualRouterID == 51)
    }

    @Test func stripsHeaderOptionsAndIgnoresBytesPastTotalLength() throws {
        var header = Self.ipv4Header
        header[0] = 0x46  // IHL 6: one word of options
        header[3] = 0x30  // total length 48
        let datagram = header + [1, 0, 0, 0] + Self.v2Password + [0xee, 0xee]
        let stripped = try IPv4Header.strip(datagram)
        #expect(Array(stripped.message) == Self.v2Password)
    }

    @Test func stripsAnAuthenticationHeaderCarryingVRRP() throws {
        var header = Self.ipv4Header
        header[9] = authenticationHeaderIPProtocol
        header[3] = UInt8(20 + 24 + Self.v2Password.count)
        // RFC 4302: Next Header 112, Payload Len 4 (6 words in all), reserved, SPI, sequence, 12 bytes of ICV.
        let authenticationHeader: [UInt8] = [112, 4, 0, 0] + Array(repeating: 0xaa, count: 20)
        let stripped = try IPv4Header.strip(header + authenticationHeader + Self.v2Password)
        #expect(stripped.header.protocolNumber == authenticationHeaderIPProtocol)
        #expect(Array(stripped.message) == Self.v2Password)
    }

    @Test(arguments: [
        ("short", Array(ipv4Header.prefix(19))),
        ("IPv6 version", [0x65] + Array(ipv4Header.dropFirst())),
        ("IHL 4", [0x44] + Array(ipv4Header.dropFirst())),
        ("total length beyond buffer", Array(ipv4Header[0..<3]) + [0xff] + Array(ipv4Header[4...])),
        ("TCP", Array(ipv4Header[0..<9]) + [6] + Array(ipv4Header[10...])),
    ])
    func rejectsMalformedIPv4Headers(_ name: String, _ header: [UInt8]) {
        let datagram = header.count >= 20 ? header + Self.v2Password : header
        #expect {
            try IPv4Header.strip(datagram)
        } throws: { error in
            (error as? VRRPReceiveFailure)?.check == .ipHeader
        }
    }

    // MARK: Fuzz

    @Test func neverTrapsOnRandomOrDamagedBytes() throws {
        var generator = SplitMix64(seed: 0x5652_5250)  // "VRRP"
        let filter = VRRPReceiveFilter(version: .v2, virtualRouterID: 51, virtualAddresses: [ip("10.0.0.1")])
        let samples: [([UInt8], VRRPPacketInfo)] = [
            (Self.v2Password, Self.v2Packet), (Self.v3IPv4, Self.v3IPv4Packet), (Self.v3IPv6, Self.v3IPv6Packet),
        ]
        var decodedCount = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            let packet: VRRPPacketInfo
            if round % 2 == 0 {
                let length = Int.random(in: 0...72, using: &generator)
                bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                packet = samples[round % 3].1
            } else {
                let sample = samples[round % 3]
                bytes = sample.0
                for _ in 0..<Int.random(in: 0...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count + 4, using: &generator)))
                packet = sample.1
            }
            _ = try? IPv4Header.strip(bytes)
            _ = try? IPv4Header.strip(Self.ipv4Header + bytes)
            _ = filter.check(bytes, packet: packet)
            if let advertisement = try? VRRPAdvertisement(decoding: bytes, packet: packet) {
                decodedCount += 1
                // Whatever decodes re-encodes to the same advertisement.
                let again = try advertisement.encoded(source: packet.source, destination: packet.destination)
                #expect(try VRRPAdvertisement(decoding: again, packet: packet) == advertisement)
            }
        }
        #expect(decodedCount > 0)
    }
}
