import Config

/// The IPv4 header in front of a VRRP message on a raw IPv4 socket: Linux hands raw sockets the whole datagram,
/// header included, and Vigil sends with `IP_HDRINCL` as keepalived does (to set TTL 255 and TOS 0xc0).
public struct IPv4Header: Hashable, Sendable {
    public static let minimumLength = 20

    public var source: IPAddress
    public var destination: IPAddress
    public var timeToLive: UInt8
    /// 112 (VRRP) or 51 (AH, VRRPv2 auth type 2).
    public var protocolNumber: UInt8

    /// A received datagram split into the IP facts and the VRRP message.
    public struct Stripped: Hashable, Sendable {
        public var header: IPv4Header
        /// What `VRRPAdvertisement(decoding:packet:)` takes along with the message.
        public var packet: VRRPPacketInfo
        /// The VRRP message: after the IP header and, for protocol 51, after the Authentication Header.
        public var message: ArraySlice<UInt8>
    }

    /// Validates and removes the IPv4 header (and an Authentication Header carrying VRRP) of a received datagram.
    ///
    /// Checks version 4, IHL (at least 5 words, within the buffer), Total Length (covers the header, within the
    /// buffer; bytes beyond it are ignored) and the protocol (112, or 51 with Next Header 112). The header
    /// checksum is the kernel's to verify before a raw socket sees the datagram.
    /// - Throws: `VRRPReceiveFailure` with check `.ipHeader`.
    public static func strip(_ datagram: [UInt8]) throws(VRRPReceiveFailure) -> Stripped {
        guard datagram.count >= minimumLength else {
            throw VRRPReceiveFailure(.ipHeader, "datagram of \(datagram.count) bytes is shorter than an IPv4 header")
        }
        guard datagram[0] >> 4 == 4 else {
            throw VRRPReceiveFailure(.ipHeader, "IP version \(datagram[0] >> 4) on an IPv4 socket")
        }
        let headerLength = Int(datagram[0] & 0x0f) * 4
        guard headerLength >= minimumLength, headerLength <= datagram.count else {
            throw VRRPReceiveFailure(.ipHeader, "IPv4 header length \(headerLength) is invalid")
        }
        let totalLength = Int(datagram[2]) << 8 | Int(datagram[3])
        guard totalLength >= headerLength, totalLength <= datagram.count else {
            throw VRRPReceiveFailure(
                .ipHeader,
                "IPv4 total length \(totalLength) does not fit the \(datagram.count) bytes received"
            )
        }
        let header = IPv4Header(
            source: IPAddress(bytes: Array(datagram[12..<16]))!,
            destination: IPAddress(bytes: Array(datagram[16..<20]))!,
            timeToLive: datagram[8],
            protocolNumber: datagram[9]
        )
        var messageStart = headerLength
        var authentication: AuthenticationHeader.Received?
        switch header.protocolNumber {
        case vrrpIPProtocol:
            break
        case authenticationHeaderIPProtocol:
            // RFC 4302 §2: Next Header, Payload Len in 32-bit words minus 2, ...
            guard totalLength - headerLength >= 12, datagram[headerLength] == vrrpIPProtocol else {
                throw VRRPReceiveFailure(.ipHeader, "Authentication Header does not carry VRRP")
            }
            let authenticationHeaderLength = (Int(datagram[headerLength + 1]) + 2) * 4
            guard headerLength + authenticationHeaderLength <= totalLength else {
                throw VRRPReceiveFailure(.ipHeader, "Authentication Header runs past the datagram")
            }
            authentication = AuthenticationHeader.parse(
                datagram[headerLength..<(headerLength + authenticationHeaderLength)],
                ipHeader: datagram[0..<headerLength])
            messageStart += authenticationHeaderLength
        default:
            throw VRRPReceiveFailure(.ipHeader, "IP protocol \(header.protocolNumber), expected 112 (VRRP)")
        }
        return Stripped(
            header: header,
            packet: VRRPPacketInfo(
                source: header.source,
                destination: header.destination,
                hopLimit: header.timeToLive,
                authenticationHeader: authentication
            ),
            message: datagram[messageStart..<totalLength]
        )
    }

    /// The 20-byte header keepalived sends VRRP in (`vrrp_build_ip4`): TOS 0xc0 (internetwork control), no
    /// fragmentation, header checksum filled in.
    ///
    /// - Parameters:
    ///   - payloadLength: the length of what follows the header (the VRRP message).
    ///   - identification: the IP ID; keepalived counts it up per packet, skipping 0 (which the kernel replaces).
    public func encoded(payloadLength: Int, identification: UInt16) -> [UInt8] {
        let totalLength = UInt16(clamping: Self.minimumLength + payloadLength)
        var header: [UInt8] = [
            0x45, 0xc0, UInt8(totalLength >> 8), UInt8(totalLength & 0xff),
            UInt8(identification >> 8), UInt8(identification & 0xff), 0, 0,
            timeToLive, protocolNumber, 0, 0,
        ]
        header += source.bytes
        header += destination.bytes
        var checksum = InternetChecksum()
        checksum.add(header)
        header[10] = UInt8(checksum.value >> 8)
        header[11] = UInt8(checksum.value & 0xff)
        return header
    }

    public init(
        source: IPAddress, destination: IPAddress, timeToLive: UInt8 = vrrpHopLimit,
        protocolNumber: UInt8 = vrrpIPProtocol
    ) {
        self.source = source
        self.destination = destination
        self.timeToLive = timeToLive
        self.protocolNumber = protocolNumber
    }
}
