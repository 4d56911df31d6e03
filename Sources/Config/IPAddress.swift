/// An IPv4 or IPv6 address, parsed and printed without the C library so the config core stays pure.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    case v4(UInt32)
    /// 16 bytes in network order.
    case v6([UInt8])

    public enum Family: String, Hashable, Sendable, Codable {
        case ipv4
        case ipv6
    }

    public var family: Family {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    /// The address's bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
        case .v6(let bytes): bytes
        }
    }

    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16: self = .v6(bytes)
        default: return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and a trailing dotted quad).
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        let parsed: IPAddress? = text.withUTF8 { bytes in
            if bytes.contains(UInt8(ascii: ":")) {
                return IPAddress.parseV6(bytes[...]).map(IPAddress.v6)
            }
            return IPAddress.parseV4(bytes[...]).map(IPAddress.v4)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    public var maxPrefixLength: Int { family == .ipv4 ? 32 : 128 }

    public var isMulticast: Bool {
        switch self {
        case .v4(let value): value >> 28 == 0xe
        case .v6(let bytes): bytes[0] == 0xff
        }
    }

    public var isLinkLocalV6: Bool {
        guard case .v6(let bytes) = self else { return false }
        return bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80
    }

    /// `192.0.2.1:80`, `[2001:db8::1]:80`: an address and a port as `ipvsadm -n` prints them and a URL writes them.
    public func endpoint(port: Int) -> String { family == .ipv6 ? "[\(self)]:\(port)" : "\(self):\(port)" }

    /// Reads `endpoint(port:)`'s form: an IPv6 address in brackets, an IPv4 one without, then `:` and a decimal
    /// port (its range is the caller's to check). Host names are not taken.
    public static func parseEndpoint(_ text: some StringProtocol) -> (address: IPAddress, port: Int)? {
        let text = String(text)
        let address: IPAddress
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":"),
                let parsed = IPAddress(text[text.index(after: text.startIndex)..<close]), parsed.family == .ipv6
            else { return nil }
            address = parsed
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), let parsed = IPAddress(text[..<colon]), parsed.family == .ipv4
            else { return nil }
            address = parsed
            portText = text[text.index(after: colon)...]
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = Int(portText) else { return nil }
        return (address, port)
    }

    public var description: String {
        switch self {
        case .v4:
            return bytes.map(String.init).joined(separator: ".")
        case .v6(let bytes):
            return IPAddress.formatV6(bytes)
        }
    }

    /// `a.b.c.d`, each part 1–3 decimal digits up to 255.
    private static func parseV4(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var parts = 0
        for byte in text {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | octet
                parts += 1
                octet = 0
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 else { return nil }
            octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
            digits += 1
            guard octet <= 255 else { return nil }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | octet
    }

    /// RFC 4291 §2.2 text: eight groups of 1–4 hex digits, one `::` for a run of zero groups, and a dotted quad in
    /// place of the last two groups.
    private static func parseV6(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> [UInt8]? {
        // A zone (`fe80::1%eth0`) is not part of an address in a config file.
        guard text.count <= 45, !text.contains(UInt8(ascii: "%")) else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var gap = false
        var index = text.startIndex
        let end = text.endIndex
        if text.starts(with: "::".utf8) {
            gap = true
            index += 2
            if index == end { return [UInt8](repeating: 0, count: 16) }
        }
        while index < end {
            // One group (or the dotted quad that ends the address).
            var groupEnd = index
            var value: UInt32 = 0
            while groupEnd < end, let digit = hexDigit(text[groupEnd]) {
                value = value << 4 | UInt32(digit)
                groupEnd += 1
            }
            if groupEnd < end && text[groupEnd] == UInt8(ascii: ".") {
                guard let v4 = parseV4(text[index..<end]) else { return nil }
                let pair = [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                if gap { tail += pair } else { head += pair }
                index = end
                break
            }
            guard (1...4).contains(groupEnd - index) else { return nil }
            if gap { tail.append(UInt16(value)) } else { head.append(UInt16(value)) }
            index = groupEnd
            guard index < end else { break }
            guard text[index] == UInt8(ascii: ":"), index + 1 < end else { return nil }
            index += 1
            if text[index] == UInt8(ascii: ":") {
                guard !gap else { return nil }
                gap = true
                index += 1
            }
        }
        let groups: [UInt16]
        if gap {
            guard head.count + tail.count <= 7 else { return nil }
            groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            groups = head
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for group in groups {
            bytes.append(UInt8(group >> 8))
            bytes.append(UInt8(group & 0xff))
        }
        return bytes
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 5952 text: lower case, the longest run of two or more zero groups as `::`.
    private static func formatV6(_ bytes: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength && end - index >= 2 {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// An address with a prefix length, as in `192.0.2.10/24`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible, Codable {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Parses `ADDR` (full-length prefix) or `ADDR/LEN`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...address.maxPrefixLength).contains(length) else { return nil }
            self.init(address: address, length: length)
        } else {
            self.init(address: address, length: address.maxPrefixLength)
        }
    }

    public var description: String { "\(address)/\(length)" }
}
