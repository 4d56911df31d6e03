import Config
import Digest

/// VRRPv2 auth type 2 as keepalived speaks it (RFC 2338 §5.3.6.2, RFC 2402): the advert rides in an IP
/// Authentication Header whose Integrity Check Value is HMAC-MD5-96 keyed with the 8-byte `auth_pass`, over the IPv4
/// header with its mutable fields zeroed (TOS, fragment offset, checksum, and TTL for unicast), the AH with a zero
/// ICV, and the VRRP message. The SPI is the sender's address; the sequence number counts adverts.
///
/// Pure: bytes in, bytes out. What keepalived 2.2.7 does was read in its source and checked against it on the wire.
public enum AuthenticationHeader {
    /// Next Header, Payload Len (4: 24 bytes), Reserved, SPI, Sequence Number, 12-byte ICV.
    public static let length = 24
    /// HMAC-MD5 truncated to 96 bits (RFC 2403).
    public static let icvLength = 12

    /// What a received AH says, with the bytes the ICV covers (mutable fields and ICV already zeroed).
    public struct Received: Hashable, Sendable {
        public var spi: [UInt8]
        public var sequence: UInt32
        public var icv: [UInt8]
        /// The IPv4 header with TOS, fragment offset and checksum zeroed (TTL too when `ttlZeroed`).
        public var ipHeader: [UInt8]
        /// The AH with its ICV zeroed.
        public var header: [UInt8]

        public init(spi: [UInt8], sequence: UInt32, icv: [UInt8], ipHeader: [UInt8], header: [UInt8]) {
            self.spi = spi
            self.sequence = sequence
            self.icv = icv
            self.ipHeader = ipHeader
            self.header = header
        }

        /// Whether the ICV is the one `key` gives over `message`. keepalived zeroes the TTL too for unicast.
        public func verifies(message: some Collection<UInt8>, key: [UInt8], unicast: Bool) -> Bool {
            var ip = ipHeader
            if unicast && ip.count > 8 { ip[8] = 0 }
            let expected = AuthenticationHeader.icv(ipHeader: ip, header: header, message: Array(message), key: key)
            // Constant time: no early exit on the first differing byte.
            return expected.count == icv.count && zip(expected, icv).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    /// The key keepalived uses: `auth_pass`'s first 8 bytes, zero-padded.
    public static func key(_ password: String) -> [UInt8] {
        let bytes = Array(password.utf8.prefix(8))
        return bytes + [UInt8](repeating: 0, count: 8 - bytes.count)
    }

    /// HMAC-MD5-96 over the (zeroed) IPv4 header, the AH with a zero ICV, and the VRRP message.
    public static func icv(ipHeader: [UInt8], header: [UInt8], message: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(MD5.hmac(key: key, message: ipHeader + header + message).prefix(icvLength))
    }

    /// The IPv4 header with TOS, flags/fragment offset and checksum zeroed, and the TTL when `zeroTTL`.
    static func zeroingMutableFields(_ header: some Collection<UInt8>, zeroTTL: Bool) -> [UInt8] {
        var bytes = Array(header)
        guard bytes.count >= IPv4Header.minimumLength else { return bytes }
        bytes[1] = 0
        bytes[6] = 0
        bytes[7] = 0
        bytes[10] = 0
        bytes[11] = 0
        if zeroTTL { bytes[8] = 0 }
        return bytes
    }

    /// The AH to send after `ipHeader` (already carrying protocol 51 and the total length including the AH) in
    /// front of `message`.
    public static func seal(
        ipHeader: [UInt8], message: [UInt8], source: IPAddress, sequence: UInt32, key: [UInt8], unicast: Bool
    ) -> [UInt8] {
        var header: [UInt8] = [vrrpIPProtocol, 4, 0, 0] + source.bytes
        header += [
            UInt8(sequence >> 24), UInt8((sequence >> 16) & 0xff), UInt8((sequence >> 8) & 0xff),
            UInt8(sequence & 0xff),
        ]
        header += [UInt8](repeating: 0, count: icvLength)
        let icv = icv(
            ipHeader: zeroingMutableFields(ipHeader, zeroTTL: unicast), header: header, message: message, key: key)
        header.replaceSubrange((length - icvLength)..<length, with: icv)
        return header
    }

    /// Parses the AH at the start of `bytes` (after the IPv4 header `ipHeader`).
    static func parse(_ bytes: ArraySlice<UInt8>, ipHeader: ArraySlice<UInt8>) -> Received? {
        guard bytes.count >= length else { return nil }
        let start = bytes.startIndex
        var header = Array(bytes[start..<(start + length)])
        let icv = Array(header[(length - icvLength)...])
        for index in (length - icvLength)..<length { header[index] = 0 }
        let sequence = header[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Received(
            spi: Array(header[4..<8]), sequence: sequence, icv: icv,
            ipHeader: zeroingMutableFields(ipHeader, zeroTTL: false), header: header)
    }
}
