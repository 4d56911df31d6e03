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
        if text.contains(":") {
            guard let bytes = IPAddress.parseV6(Substring(text)) else { return nil }
            self = .v6(bytes)
        } else {
            guard let value = IPAddress.parseV4(Substring(text)) else { return nil }
            self = .v4(value)
        }
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

    public var description: String {
        switch self {
        case .v4:
            return bytes.map(String.init).joined(separator: ".")
        case .v6(let bytes):
            return IPAddress.formatV6(bytes)
        }
    }

    private static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    private static func parseV6(_ text: Substring) -> [UInt8]? {
        // A zone (`fe80::1%eth0`) is not part of an address in a config file.
        guard !text.contains("%"), text.count <= 45 else { return nil }
        let characters = Array(text)
        var halves: [String] = [String(text)]
        if let gap = characters.indices.dropLast().first(where: { characters[$0] == ":" && characters[$0 + 1] == ":" })
        {
            halves = [String(characters[..<gap]), String(characters[(gap + 2)...])]
            if halves[1].hasPrefix(":") || halves[1].contains("::") { return nil }
        }
        func groups(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, allowV4Tail, piece.contains(".") {
                    guard let v4 = parseV4(piece) else { return nil }
                    result += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                    continue
                }
                guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit),
                    let group = UInt16(piece, radix: 16)
                else { return nil }
                result.append(group)
            }
            return result
        }
        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowV4Tail: false), let tail = groups(halves[1], allowV4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0], allowV4Tail: true), only.count == 8 else { return nil }
            all = only
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
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
