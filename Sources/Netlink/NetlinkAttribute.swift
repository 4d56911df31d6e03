/// `NLA_F_NESTED`: the payload is a list of attributes (include/uapi/linux/netlink.h).
public let netlinkAttributeNestedFlag: UInt16 = 0x8000
/// `NLA_F_NET_BYTEORDER`: the payload is in network byte order.
public let netlinkAttributeNetworkByteOrderFlag: UInt16 = 0x4000
/// `NLA_TYPE_MASK`: the attribute type without the two flags above.
public let netlinkAttributeTypeMask: UInt16 = ~(netlinkAttributeNestedFlag | netlinkAttributeNetworkByteOrderFlag)
/// `NLA_HDRLEN`: `struct nlattr { __u16 nla_len; __u16 nla_type; }`.
public let netlinkAttributeHeaderLength = 4

/// One attribute to encode: a type and either raw bytes or nested attributes.
public struct NetlinkAttribute: Hashable, Sendable {
    public indirect enum Value: Hashable, Sendable {
        case bytes([UInt8])
        case nested([NetlinkAttribute])
    }

    /// The type without flags; nested attributes get `NLA_F_NESTED` when encoded.
    public var type: UInt16
    public var value: Value

    public init(type: UInt16, value: Value) {
        self.type = type
        self.value = value
    }

    /// A raw payload (`NLA_BINARY`).
    public static func bytes(_ type: UInt16, _ bytes: [UInt8]) -> NetlinkAttribute {
        NetlinkAttribute(type: type, value: .bytes(bytes))
    }

    /// `NLA_U8`.
    public static func u8(_ type: UInt16, _ value: UInt8) -> NetlinkAttribute { .bytes(type, [value]) }

    /// `NLA_U16` in host byte order.
    public static func u16(_ type: UInt16, _ value: UInt16) -> NetlinkAttribute { integer(type, value) }

    /// `NLA_U32` in host byte order.
    public static func u32(_ type: UInt16, _ value: UInt32) -> NetlinkAttribute { integer(type, value) }

    /// `NLA_U64` in host byte order.
    public static func u64(_ type: UInt16, _ value: UInt64) -> NetlinkAttribute { integer(type, value) }

    /// A `__be16` (`nla_put_be16`): ports.
    public static func be16(_ type: UInt16, _ value: UInt16) -> NetlinkAttribute { integer(type, value.bigEndian) }

    /// A `__be32` (`nla_put_be32`): IPv4 addresses and masks.
    public static func be32(_ type: UInt16, _ value: UInt32) -> NetlinkAttribute { integer(type, value.bigEndian) }

    /// `NLA_NUL_STRING`: the UTF-8 bytes and a terminating NUL (`nla_put_string`).
    public static func string(_ type: UInt16, _ value: String) -> NetlinkAttribute {
        .bytes(type, Array(value.utf8) + [0])
    }

    /// `NLA_NESTED`.
    public static func nested(_ type: UInt16, _ attributes: [NetlinkAttribute]) -> NetlinkAttribute {
        NetlinkAttribute(type: type, value: .nested(attributes))
    }

    private static func integer<T: FixedWidthInteger>(_ type: UInt16, _ value: T) -> NetlinkAttribute {
        var bytes: [UInt8] = []
        bytes.appendHostOrder(value)
        return .bytes(type, bytes)
    }

    /// Appends the attribute: header, payload, and padding to 4 bytes (`nla_put`, `nla_nest_start`/`_end`).
    public func encode(into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.appendHostOrder(UInt16(0))
        switch value {
        case .bytes(let payload):
            buffer.appendHostOrder(type)
            buffer.append(contentsOf: payload)
        case .nested(let children):
            buffer.appendHostOrder(type | netlinkAttributeNestedFlag)
            for child in children { child.encode(into: &buffer) }
        }
        // nla_len counts the header and payload but not the final padding; a nest's length includes its
        // children's padding because they are laid out one after another.
        buffer.storeHostOrder(UInt16(truncatingIfNeeded: buffer.count - start), at: start)
        buffer.padToNetlinkAlignment()
    }
}

extension [NetlinkAttribute] {
    /// The attributes one after another, each padded to 4 bytes.
    public func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        for attribute in self { attribute.encode(into: &buffer) }
        return buffer
    }
}

/// The attributes of a received message or nest, parsed with bounds checks (`nla_parse`).
///
/// Parsing never traps: lengths are checked against what is left of the buffer, and a bad header becomes
/// a `NetlinkError`. Unknown types are kept (and ignored by readers), as the kernel adds attributes over time.
public struct NetlinkAttributeList: Sendable, Hashable {
    public static func == (lhs: NetlinkAttributeList, rhs: NetlinkAttributeList) -> Bool {
        lhs.entries == rhs.entries && lhs.context == rhs.context
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries)
        hasher.combine(context)
    }

    /// One attribute as it appeared on the wire.
    public struct Entry: Sendable, Hashable {
        /// The type with `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` masked off.
        public var type: UInt16
        /// The flags bits of `nla_type`.
        public var flags: UInt16
        /// The payload without header and padding.
        public var payload: ArraySlice<UInt8>
    }

    public private(set) var entries: [Entry] = []
    /// Where the container is, for error messages: the outermost one's name, then the nests' names, built only when
    /// a message needs them (a reply holds thousands of nests, and a joined name is an allocation).
    private var outermost: String
    private var nests: (StaticString?, StaticString?) = (nil, nil)

    /// Names the container in error messages ("IPVS_CMD_ATTR_DEST > STATS64").
    public var context: String { Self.context(outermost, nests) }

    private static func context(_ outermost: String, _ nests: (StaticString?, StaticString?)) -> String {
        var text = outermost
        for name in [nests.0, nests.1].compactMap({ $0 }) { text += " > \(name)" }
        return text
    }

    /// Parses consecutive attributes filling `bytes`.
    /// - Throws: `NetlinkError` of kind `.truncated` or `.badLength`.
    public init(parsing bytes: ArraySlice<UInt8>, context: String = "attributes") throws(NetlinkError) {
        try self.init(parsing: bytes, outermost: context, nests: (nil, nil))
    }

    private init(parsing bytes: ArraySlice<UInt8>, outermost: String, nests: (StaticString?, StaticString?))
        throws(NetlinkError)
    {
        self.outermost = outermost
        self.nests = nests
        func context() -> String { Self.context(outermost, nests) }
        // An attribute takes 8 bytes at least (header and padded payload, 4 each; an empty one 4): one allocation
        // instead of the doublings of appending (a real server's reply holds 15 attributes, each statistics nest 10).
        entries.reserveCapacity(bytes.count / 8 + 1)
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let remaining = bytes.endIndex - offset
            guard remaining >= netlinkAttributeHeaderLength,
                let length = bytes.loadHostOrder(UInt16.self, at: offset - bytes.startIndex),
                let rawType = bytes.loadHostOrder(UInt16.self, at: offset - bytes.startIndex + 2)
            else {
                throw .malformed(.truncated, "\(context()): \(remaining) bytes left, too short for an attribute header")
            }
            guard Int(length) >= netlinkAttributeHeaderLength, Int(length) <= remaining else {
                throw .malformed(
                    .badLength,
                    "\(context()): attribute \(rawType & netlinkAttributeTypeMask) has length \(length) "
                        + "with \(remaining) bytes left")
            }
            entries.append(
                Entry(
                    type: rawType & netlinkAttributeTypeMask,
                    flags: rawType & ~netlinkAttributeTypeMask,
                    payload: bytes[(offset + netlinkAttributeHeaderLength)..<(offset + Int(length))]))
            // The last attribute's padding may be missing; never step past the end.
            offset += min(netlinkAligned(Int(length)), remaining)
        }
    }

    /// The first attribute of `type`, if any. The kernel's `nla_parse` keeps the last duplicate; replies
    /// never repeat a type, so either is right.
    @inlinable
    public subscript(type: UInt16) -> Entry? {
        for entry in entries where entry.type == type { return entry }
        return nil
    }

    /// Whether an attribute of `type` is present.
    public func contains(_ type: UInt16) -> Bool { self[type] != nil }

    /// The attribute's integer in host byte order, nil when absent.
    /// - Throws: `.badAttribute` when the payload is shorter than the integer.
    @inlinable
    public func integer<T: FixedWidthInteger>(_ type: UInt16, as _: T.Type = T.self) throws(NetlinkError) -> T? {
        guard let entry = self[type] else { return nil }
        guard let value = entry.payload.loadHostOrder(T.self) else {
            throw badSize(type, entry, expected: MemoryLayout<T>.size)
        }
        return value
    }

    /// The attribute's integer in network byte order (`nla_get_be16`, `nla_get_be32`), nil when absent.
    @inlinable
    public func networkOrderInteger<T: FixedWidthInteger>(_ type: UInt16, as _: T.Type = T.self) throws(NetlinkError)
        -> T?
    {
        try integer(type, as: T.self).map { T(bigEndian: $0) }
    }

    /// A counter that may be 32 or 64 bits wide (the kernel's `IPVS_SVC_ATTR_STATS` vs `STATS64`), nil when absent.
    @inlinable
    public func counter(_ type: UInt16) throws(NetlinkError) -> UInt64? {
        guard let entry = self[type] else { return nil }
        switch entry.payload.count {
        case 8...: return entry.payload.loadHostOrder(UInt64.self)
        case 4..<8: return entry.payload.loadHostOrder(UInt32.self).map(UInt64.init)
        default: throw badSize(type, entry, expected: 4)
        }
    }

    /// A `NLA_NUL_STRING` or `NLA_STRING`, up to the first NUL; invalid UTF-8 is replaced, never trapped on.
    public func string(_ type: UInt16) -> String? {
        guard let entry = self[type] else { return nil }
        let text = entry.payload.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    /// The raw payload, nil when absent.
    public func bytes(_ type: UInt16) -> ArraySlice<UInt8>? { self[type]?.payload }

    /// The attributes nested in the attribute of `type`, nil when absent.
    /// - Throws: when the nest's payload is not a well-formed attribute list.
    public func nested(_ type: UInt16, context name: StaticString) throws(NetlinkError) -> NetlinkAttributeList? {
        guard let entry = self[type] else { return nil }
        switch nests {
        case (nil, _): return try NetlinkAttributeList(parsing: entry.payload, outermost: outermost, nests: (name, nil))
        case (let first, nil):
            return try NetlinkAttributeList(parsing: entry.payload, outermost: outermost, nests: (first, name))
        default:
            // Deeper than two nests (no reply Vigil reads is): the path so far becomes the outermost name.
            return try NetlinkAttributeList(parsing: entry.payload, outermost: context, nests: (name, nil))
        }
    }

    /// Like `integer(_:)` but the attribute must be present.
    @inlinable
    public func required<T: FixedWidthInteger>(_ type: UInt16, _ name: String, as _: T.Type = T.self)
        throws(NetlinkError) -> T
    {
        guard let value = try integer(type, as: T.self) else { throw missing(name) }
        return value
    }

    /// The error for an absent attribute, naming it and where it was expected.
    public func missing(_ name: String) -> NetlinkError {
        .malformed(.missingAttribute, "\(context): missing \(name)")
    }

    @usableFromInline
    func badSize(_ type: UInt16, _ entry: Entry, expected: Int) -> NetlinkError {
        .malformed(
            .badAttribute,
            "\(context): attribute \(type) has \(entry.payload.count) bytes, expected \(expected)")
    }
}
