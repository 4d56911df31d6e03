import Config

/// A compact, self-describing binary encoding for `Codable` values: what the watchdog and its workers (and
/// `vigilctl`) exchange. Both ends are the same `vigild` binary (a worker is this executable re-executed, and the
/// hello checks the protocol version), so the format needs no schema: it only has to be small, fast, free of
/// Foundation and safe against any bytes a peer sends.
///
/// Every value starts with a tag byte:
///
///     0x00 nil                        0x05 Double (8 bytes, little-endian bit pattern)
///     0x01 false   0x02 true          0x06 Float  (4 bytes)
///     0x03 signed integer (zigzag varint)
///     0x04 unsigned integer (varint)  0x07 string: varint byte count, UTF-8
///     0x08 keyed container:   count (4 bytes LE), then count × (key, value)
///     0x09 unkeyed container: count (4 bytes LE), then count × value
///     0x0A Duration: seconds, then attoseconds (zigzag varints)
///     0x0B SourceLocation: varint byte count, UTF-8 file name, then the line (zigzag varint)
///     0x0C IPv4 address: 4 bytes, network order          0x0D IPv6 address: 16 bytes
///     0x0E record: field count (varint), then that many values (`BinaryRecords.swift`: real servers, checkers)
///
/// The last four are leaves of the configuration that `Codable` writes as containers: a `Duration` as an unkeyed
/// pair, a location as a keyed pair, an address as a keyed enum case holding a keyed payload. A real server with a
/// TCP_CHECK has eight of them, and a container costs its decoder far more than a value: written as values, the
/// configuration of 100 virtual servers × 10 real servers went from 322 to 227 KB, and its decode from 145 to 112
/// million instructions (callgrind). Inside a container they are always written so; a decoder also takes the
/// `Codable` form.
///
/// A key is a varint: 0 introduces a new key (varint byte count, UTF-8), which takes the next index of the
/// message's key table; n > 0 repeats the key at index n − 1. Container counts are fixed-size so an entry can be
/// counted as it is written (`Encoder` never says when a container is finished).
///
/// Keyed containers are read in the order they were written, which is the order synthesized `Codable` uses on
/// both sides (an absent optional is written as its key and a nil, so it is met in order too); a key asked for out
/// of order falls back to an index of the container built by skipping values.
/// The decoder never traps on hostile input: it throws `BinaryCodecError`, bounds nesting at `maxDepth` and never
/// allocates more than the input could describe.
public enum BinaryCodec {
    enum Tag: UInt8 {
        case null = 0
        case falseValue = 1
        case trueValue = 2
        case signed = 3
        case unsigned = 4
        case double = 5
        case float = 6
        case string = 7
        case keyed = 8
        case unkeyed = 9
        case duration = 10
        case location = 11
        case ipv4 = 12
        case ipv6 = 13
        case record = 14
    }

    /// Containers nested deeper than this are refused (a configuration is a few levels deep).
    public static let maxDepth = 64

    /// Encodes `value`.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let state = EncoderState()
        try value.encode(to: BinaryValueEncoder(state: state))
        return state.bytes
    }

    /// Encodes `value` after `prefix` (a message header).
    public static func encode<T: Encodable>(_ value: T, after prefix: [UInt8]) throws -> [UInt8] {
        let state = EncoderState()
        state.bytes = prefix
        try value.encode(to: BinaryValueEncoder(state: state))
        return state.bytes
    }

    /// Decodes a `T` from `bytes[offset...]`; every byte must be used.
    /// - Parameter progress: called now and then during a long decode (a worker's liveness mark).
    public static func decode<T: Decodable>(
        _ type: T.Type, from bytes: [UInt8], offset: Int = 0, progress: (@Sendable () -> Void)? = nil
    ) throws(BinaryCodecError) -> T {
        let state = DecoderState(bytes: bytes, offset: offset, progress: progress)
        do {
            let value = try T(from: BinaryValueDecoder(state: state, depth: 0))
            try state.settle(above: 0)
            guard state.offset == bytes.count else {
                throw BinaryCodecError(
                    "\(bytes.count - state.offset) bytes left over after the value", at: state.offset)
            }
            return value
        } catch let error as BinaryCodecError {
            throw error
        } catch let error as DecodingError {
            throw BinaryCodecError(Self.describe(error), at: state.offset)
        } catch {
            throw BinaryCodecError("\(error)", at: state.offset)
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Why bytes did not decode.
public struct BinaryCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    /// The byte offset where decoding stopped.
    public var offset: Int

    init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}

// MARK: - Encoding

/// The buffer and key table of one message being encoded.
///
/// The properties skip the runtime's exclusivity checks: one message is encoded on one thread, the state never
/// escapes the encode call, and no access overlaps another (each is a single append or lookup); the checks were a
/// quarter of the cost of encoding a large configuration.
final class EncoderState {
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var keys: [String: Int] = [:]

    init() {
        bytes.reserveCapacity(256)
    }

    @inline(__always) func tag(_ tag: BinaryCodec.Tag) { bytes.append(tag.rawValue) }

    func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    func signed(_ value: Int64) {
        tag(.signed)
        zigzag(value)
    }

    func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    func duration(_ value: Duration) {
        tag(.duration)
        let (seconds, attoseconds) = value.components
        zigzag(seconds)
        zigzag(attoseconds)
    }

    func location(_ value: SourceLocation) {
        tag(.location)
        utf8(value.file)
        zigzag(Int64(value.line))
    }

    /// False for a malformed IPv6 address (not 16 bytes), which `Codable` writes instead.
    func address(_ value: IPAddress) -> Bool {
        switch value {
        case .v4(let address):
            tag(.ipv4)
            for shift in stride(from: 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: address >> shift))
            }
        case .v6(let address):
            guard address.count == 16 else { return false }
            tag(.ipv6)
            bytes.append(contentsOf: address)
        }
        return true
    }

    func unsigned(_ value: UInt64) {
        tag(.unsigned)
        varint(value)
    }

    func string(_ value: String) {
        tag(.string)
        utf8(value)
    }

    /// A string's byte count (varint), then its UTF-8: the body of a string, a key or a location's file name.
    func utf8(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    func key(_ codingKey: some CodingKey) { key(named: codingKey.stringValue) }

    func key(named name: String) {
        if let index = keys[name] {
            varint(UInt64(index + 1))
        } else {
            keys[name] = keys.count
            varint(0)
            utf8(name)
        }
    }

    /// Counters by name as `Dictionary`'s `Codable` writes them (a keyed container: each name a key, each count an
    /// unsigned), without going through a generic keyed container: the VRRP and BFD workers send every instance's
    /// and session's counters each second, and their generic decoding was a third of an idle watchdog's CPU (20 VRRP
    /// instances). `DecoderState.counters` reads them back; a generic decoder reads the same bytes.
    func counters(_ value: [String: UInt64]) {
        let countAt = container(.keyed)
        for (name, count) in value {
            self.count(at: countAt)
            key(named: name)
            unsigned(count)
        }
    }

    /// Starts a container and returns the offset of its count.
    func container(_ tag: BinaryCodec.Tag) -> Int {
        self.tag(tag)
        let at = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0])
        return at
    }

    func count(at offset: Int) {
        let current =
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
        let next = current + 1
        bytes[offset] = UInt8(truncatingIfNeeded: next)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: next >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: next >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: next >> 24)
    }

    func double(_ value: Double) {
        tag(.double)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    func float(_ value: Float) {
        tag(.float)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }
}

struct BinaryValueEncoder: Encoder {
    let state: EncoderState
    /// Not tracked: the encoder never fails on our types, and building a path per nested value (an array of
    /// existentials), with the leaf types' casts, was a third of the cost of encoding a large configuration.
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            BinaryKeyedEncoder<Key>(state: state, countAt: state.container(.keyed)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncoder(state: state, countAt: state.container(.unkeyed))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncoder(state: state)
    }
}

/// Writes one value of any primitive type, or a nested `Encodable`.
protocol BinaryPrimitiveWriter {
    var state: EncoderState { get }
}

extension BinaryPrimitiveWriter {
    func write(_ value: Bool) { state.tag(value ? .trueValue : .falseValue) }
    func write(_ value: String) { state.string(value) }
    func write(_ value: Double) { state.double(value) }
    func write(_ value: Float) { state.float(value) }
    func write(_ value: some FixedWidthInteger & SignedInteger) { state.signed(Int64(value)) }
    func write(_ value: some FixedWidthInteger & UnsignedInteger) { state.unsigned(UInt64(value)) }
    func write<T: Encodable>(_ value: T) throws {
        // The common leaves are written directly rather than through a nested encoder. Comparing metatypes costs a
        // pointer comparison each; a failed `as?` cast of a struct costs a runtime conformance search.
        if T.self == String.self {
            state.string(value as! String)
        } else if T.self == Int.self {
            state.signed(Int64(value as! Int))
        } else if T.self == Bool.self {
            write(value as! Bool)
        } else if T.self == UInt8.self {
            state.unsigned(UInt64(value as! UInt8))
        } else if T.self == UInt16.self {
            state.unsigned(UInt64(value as! UInt16))
        } else if T.self == UInt32.self {
            state.unsigned(UInt64(value as! UInt32))
        } else if T.self == UInt64.self {
            state.unsigned(value as! UInt64)
        } else if T.self == Int64.self {
            state.signed(value as! Int64)
        } else if T.self == Int32.self {
            state.signed(Int64(value as! Int32))
        } else if T.self == [String: UInt64].self {
            state.counters(value as! [String: UInt64])
        } else if T.self == Duration.self {
            state.duration(value as! Duration)
        } else if T.self == SourceLocation.self {
            state.location(value as! SourceLocation)
        } else if T.self == IPAddress.self, state.address(value as! IPAddress) {
            return
        } else if try writeRecord(value) {
            return
        } else {
            try value.encode(to: BinaryValueEncoder(state: state))
        }
    }
}

struct BinaryKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol, BinaryPrimitiveWriter {
    let state: EncoderState
    let countAt: Int
    var codingPath: [any CodingKey] { [] }

    private func entry(_ key: Key) {
        state.count(at: countAt)
        state.key(key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        entry(key)
        state.tag(.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        entry(key)
        write(value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        entry(key)
        try write(value)
    }

    // An absent optional is written as the key and a nil: the decoder then meets every key in order and never has
    // to look ahead for one that is not there.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return try encodeNil(forKey: key) }
        try encode(value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        entry(key)
        return KeyedEncodingContainer(
            BinaryKeyedEncoder<NestedKey>(
                state: state, countAt: state.container(.keyed)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        entry(key)
        return BinaryUnkeyedEncoder(state: state, countAt: state.container(.unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        state.count(at: countAt)
        state.key(BinaryCodingKey("super"))
        return BinaryValueEncoder(state: state)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        entry(key)
        return BinaryValueEncoder(state: state)
    }
}

struct BinaryUnkeyedEncoder: UnkeyedEncodingContainer, BinaryPrimitiveWriter {
    let state: EncoderState
    let countAt: Int
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(state: EncoderState, countAt: Int) {
        self.state = state
        self.countAt = countAt
    }

    private mutating func element() {
        state.count(at: countAt)
        count += 1
    }

    mutating func encodeNil() throws {
        element()
        state.tag(.null)
    }
    mutating func encode(_ value: Bool) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: String) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Double) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Float) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Int) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Int8) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Int16) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Int32) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: Int64) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: UInt) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: UInt8) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: UInt16) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: UInt32) throws {
        element()
        write(value)
    }
    mutating func encode(_ value: UInt64) throws {
        element()
        write(value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        element()
        try write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        element()
        return KeyedEncodingContainer(
            BinaryKeyedEncoder<NestedKey>(state: state, countAt: state.container(.keyed)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        element()
        return BinaryUnkeyedEncoder(state: state, countAt: state.container(.unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        element()
        return BinaryValueEncoder(state: state)
    }
}

struct BinarySingleValueEncoder: SingleValueEncodingContainer, BinaryPrimitiveWriter {
    let state: EncoderState
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { state.tag(.null) }
    mutating func encode(_ value: Bool) throws { write(value) }
    mutating func encode(_ value: String) throws { write(value) }
    mutating func encode(_ value: Double) throws { write(value) }
    mutating func encode(_ value: Float) throws { write(value) }
    mutating func encode(_ value: Int) throws { write(value) }
    mutating func encode(_ value: Int8) throws { write(value) }
    mutating func encode(_ value: Int16) throws { write(value) }
    mutating func encode(_ value: Int32) throws { write(value) }
    mutating func encode(_ value: Int64) throws { write(value) }
    mutating func encode(_ value: UInt) throws { write(value) }
    mutating func encode(_ value: UInt8) throws { write(value) }
    mutating func encode(_ value: UInt16) throws { write(value) }
    mutating func encode(_ value: UInt32) throws { write(value) }
    mutating func encode(_ value: UInt64) throws { write(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try write(value) }
}

struct BinaryCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init(index: Int) {
        stringValue = "\(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

// MARK: - Decoding

/// Where one container being decoded stands. Shared by the container (a value type handed to `Decodable` code)
/// and the decoder's stack of open containers, so a container that its reader left half-read (a custom
/// `init(from:)` that skips a key) is skipped to its end before its parent reads on.
final class ContainerCursor {
    let depth: Int
    let keyed: Bool
    /// Entries (keyed) or elements (unkeyed) not read yet, in order.
    @exclusivity(unchecked) var remaining: Int
    /// Keyed only, once a key was asked for out of order: each unread entry's value offset by key.
    @exclusivity(unchecked) var index: [String: Int]?
    /// With `index`: the offset after the container.
    @exclusivity(unchecked) var end = 0

    init(depth: Int, keyed: Bool, remaining: Int) {
        self.depth = depth
        self.keyed = keyed
        self.remaining = remaining
    }
}

/// The bytes, read position, key table and open containers of one message being decoded.
///
/// Its properties (and the cursors') skip the runtime's exclusivity checks, as `EncoderState`'s do: one message is
/// decoded on one thread, the state never escapes the decode call, and no access overlaps another.
final class DecoderState {
    let bytes: [UInt8]
    @exclusivity(unchecked) var offset: Int
    @exclusivity(unchecked) var keys: [String] = []
    /// Key definitions by the offset they stand at, so reading one twice (an indexed container) defines it once.
    @exclusivity(unchecked) var keyAt: [Int: Int] = [:]
    @exclusivity(unchecked) var open: [ContainerCursor] = []
    /// The last strings decoded that were too long to be stored inline, newest first (`utf8`).
    @exclusivity(unchecked) var recentStrings: [String] = []
    let progress: (@Sendable () -> Void)?
    @exclusivity(unchecked) private var sinceProgress = 0

    init(bytes: [UInt8], offset: Int, progress: (@Sendable () -> Void)?) {
        self.bytes = bytes
        self.offset = offset
        self.progress = progress
    }

    func fail(_ message: String) -> BinaryCodecError { BinaryCodecError(message, at: offset) }

    func byte() throws(BinaryCodecError) -> UInt8 {
        guard offset < bytes.count else { throw fail("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    func peekTag() throws(BinaryCodecError) -> BinaryCodec.Tag {
        guard offset < bytes.count else { throw fail("truncated") }
        guard let tag = BinaryCodec.Tag(rawValue: bytes[offset]) else { throw fail("unknown tag \(bytes[offset])") }
        return tag
    }

    func tag() throws(BinaryCodecError) -> BinaryCodec.Tag {
        let tag = try peekTag()
        offset += 1
        return tag
    }

    func expect(_ wanted: BinaryCodec.Tag, _ what: String) throws(BinaryCodecError) {
        let found = try peekTag()
        guard found == wanted else { throw fail("expected \(what), found \(found)") }
        offset += 1
    }

    func varint() throws(BinaryCodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 63 || (shift == 63 && byte <= 1) else { throw fail("varint overflows 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A length the rest of the input can hold (a peer's count is never trusted for an allocation).
    func length(_ what: String) throws(BinaryCodecError) -> Int {
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else { throw fail("\(what) of \(length) bytes is truncated") }
        return Int(length)
    }

    func count() throws(BinaryCodecError) -> Int {
        guard bytes.count - offset >= 4 else { throw fail("truncated container count") }
        let count =
            Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
            | Int(bytes[offset + 3]) << 24
        offset += 4
        // Every element takes at least one byte.
        guard count <= bytes.count - offset else { throw fail("container of \(count) elements is truncated") }
        return count
    }

    /// Calls `progress` every few thousand containers: a worker decoding a large configuration is not hung.
    func tick() {
        guard let progress else { return }
        sinceProgress += 1
        if sinceProgress >= 1024 {
            sinceProgress = 0
            progress()
        }
    }

    func utf8(_ what: String) throws(BinaryCodecError) -> String {
        let length = try length(what)
        let range = offset..<(offset + length)
        // A string too long to be stored inline (15 UTF-8 bytes) takes an allocation of its own: one equal to a
        // recent one shares that one's storage instead (a configuration names its file in every location, 20,000
        // times for 10,000 real servers).
        let shared = length > 15
        if shared,
            let known = recentStrings.first(where: { $0.utf8.count == length && $0.utf8.elementsEqual(bytes[range]) })
        {
            offset += length
            return known
        }
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw fail("\(what) is not valid UTF-8")
        }
        offset += length
        if shared {
            if recentStrings.count == Self.recentStringLimit { recentStrings.removeLast() }
            recentStrings.insert(text, at: 0)
        }
        return text
    }

    /// How many long strings `recentStrings` keeps.
    static let recentStringLimit = 8

    func key() throws(BinaryCodecError) -> String {
        let at = offset
        let reference = try varint()
        if reference == 0 {
            if let known = keyAt[at] {
                offset += try length("key")
                return keys[known]
            }
            let name = try utf8("key")
            keyAt[at] = keys.count
            keys.append(name)
            return name
        }
        guard reference <= UInt64(keys.count) else { throw fail("key reference \(reference) is undefined") }
        return keys[Int(reference - 1)]
    }

    func signed() throws(BinaryCodecError) -> Int64 {
        try expect(.signed, "a signed integer")
        return try zigzag()
    }

    func zigzag() throws(BinaryCodecError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// The leaves written as values (`EncoderState.duration`, `location`, `address`), their tag next; nil when the
    /// next value is something else (the `Codable` form).
    func duration() throws(BinaryCodecError) -> Duration? {
        guard try peekTag() == .duration else { return nil }
        offset += 1
        let seconds = try zigzag()
        let attoseconds = try zigzag()
        // Both components of one sign and under a second of attoseconds, as `Duration.components` gives them.
        guard attoseconds.magnitude < 1_000_000_000_000_000_000,
            seconds == 0 || attoseconds == 0 || (seconds < 0) == (attoseconds < 0)
        else { throw fail("a Duration of \(seconds) s and \(attoseconds) as is not one") }
        return Duration(secondsComponent: seconds, attosecondsComponent: attoseconds)
    }

    func location() throws(BinaryCodecError) -> SourceLocation? {
        guard try peekTag() == .location else { return nil }
        offset += 1
        let file = try utf8("file name")
        guard let line = Int(exactly: try zigzag()) else { throw fail("line out of range") }
        return SourceLocation(file: file, line: line)
    }

    func address() throws(BinaryCodecError) -> IPAddress? {
        switch try peekTag() {
        case .ipv4:
            offset += 1
            let bits = try bits(4)
            // `bits` reads little-endian; the address is in network order.
            return .v4(UInt32(truncatingIfNeeded: bits).byteSwapped)
        case .ipv6:
            offset += 1
            guard bytes.count - offset >= 16 else { throw fail("truncated IPv6 address") }
            defer { offset += 16 }
            return .v6(Array(bytes[offset..<(offset + 16)]))
        default: return nil
        }
    }

    func unsigned() throws(BinaryCodecError) -> UInt64 {
        try expect(.unsigned, "an unsigned integer")
        return try varint()
    }

    func bits(_ count: Int) throws(BinaryCodecError) -> UInt64 {
        guard bytes.count - offset >= count else { throw fail("truncated number") }
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
        offset += count
        return value
    }

    /// Skips one value of any kind.
    func skip(depth: Int) throws(BinaryCodecError) {
        guard depth < BinaryCodec.maxDepth else { throw fail("nested deeper than \(BinaryCodec.maxDepth)") }
        switch try tag() {
        case .null, .falseValue, .trueValue: return
        case .signed, .unsigned: _ = try varint()
        case .double: _ = try bits(8)
        case .float: _ = try bits(4)
        case .string: offset += try length("string")
        case .keyed:
            for _ in 0..<(try count()) {
                _ = try key()
                try skip(depth: depth + 1)
            }
        case .unkeyed:
            for _ in 0..<(try count()) { try skip(depth: depth + 1) }
        case .duration:
            _ = try varint()
            _ = try varint()
        case .location:
            offset += try length("file name")
            _ = try varint()
        case .ipv4: _ = try bits(4)
        case .ipv6:
            guard bytes.count - offset >= 16 else { throw fail("truncated IPv6 address") }
            offset += 16
        case .record:
            let count = try varint()
            // Every field takes at least one byte.
            guard count <= UInt64(bytes.count - offset) else { throw fail("record of \(count) fields is truncated") }
            for _ in 0..<count { try skip(depth: depth + 1) }
        }
    }

    /// What `EncoderState.counters` (or a generic encoder) wrote for a `[String: UInt64]` in a container at `depth`:
    /// the entries read in order, a repeated name's last count kept (as a generic decoder keeps it).
    func counters(depth: Int) throws(BinaryCodecError) -> [String: UInt64] {
        let cursor = try openContainer(.keyed, "counters by name", depth: depth + 1)
        var counters: [String: UInt64] = [:]
        counters.reserveCapacity(cursor.remaining)
        while cursor.remaining > 0 {
            let name = try key()
            cursor.remaining -= 1
            counters[name] = try unsigned()
        }
        try settle(above: depth)
        return counters
    }

    /// Opens a container at `depth` (its tag and count are next), closing any left open at that depth or deeper.
    func openContainer(_ tag: BinaryCodec.Tag, _ what: String, depth: Int) throws(BinaryCodecError)
        -> ContainerCursor
    {
        try settle(above: depth - 1)
        guard depth < BinaryCodec.maxDepth else { throw fail("nested deeper than \(BinaryCodec.maxDepth)") }
        try expect(tag, what)
        let cursor = ContainerCursor(depth: depth, keyed: tag == .keyed, remaining: try count())
        open.append(cursor)
        tick()
        return cursor
    }

    /// Closes the containers deeper than `depth`, innermost first: each continues to its end.
    func settle(above depth: Int) throws(BinaryCodecError) {
        while let top = open.last, top.depth > depth {
            if top.index != nil {
                offset = max(offset, top.end)
            } else {
                while top.remaining > 0 {
                    if top.keyed { _ = try key() }
                    try skip(depth: top.depth)
                    top.remaining -= 1
                }
            }
            open.removeLast()
        }
    }
}

struct BinaryValueDecoder: Decoder {
    let state: DecoderState
    /// Not tracked (as in the encoder): an error says the byte offset where decoding stopped instead.
    var codingPath: [any CodingKey] { [] }
    /// The depth a container opened here has.
    let depth: Int
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let cursor = try state.openContainer(.keyed, "a keyed container", depth: depth + 1)
        return KeyedDecodingContainer(BinaryKeyedDecoder<Key>(state: state, cursor: cursor))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let cursor = try state.openContainer(.unkeyed, "an unkeyed container", depth: depth + 1)
        return BinaryUnkeyedDecoder(state: state, cursor: cursor)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecoder(state: state, depth: depth)
    }
}

/// Reads one value of any primitive type, or a nested `Decodable`, at the state's offset.
protocol BinaryPrimitiveReader {
    var state: DecoderState { get }
    /// The depth of the container the value is in (0 for a single value at the top).
    var depth: Int { get }
}

extension BinaryPrimitiveReader {
    func readBool() throws -> Bool {
        switch try state.peekTag() {
        case .trueValue:
            state.offset += 1
            return true
        case .falseValue:
            state.offset += 1
            return false
        default: throw state.fail("expected a Bool")
        }
    }

    func readSigned<T: FixedWidthInteger & SignedInteger>(_ type: T.Type) throws -> T {
        let value = try state.signed()
        guard let exact = T(exactly: value) else { throw state.fail("\(value) does not fit \(T.self)") }
        return exact
    }

    func readUnsigned<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) throws -> T {
        let value = try state.unsigned()
        guard let exact = T(exactly: value) else { throw state.fail("\(value) does not fit \(T.self)") }
        return exact
    }

    func readString() throws -> String {
        try state.expect(.string, "a string")
        return try state.utf8("string")
    }

    func readDouble() throws -> Double {
        try state.expect(.double, "a Double")
        return Double(bitPattern: try state.bits(8))
    }

    func readFloat() throws -> Float {
        try state.expect(.float, "a Float")
        return Float(bitPattern: UInt32(truncatingIfNeeded: try state.bits(4)))
    }

    func read<T: Decodable>(_ type: T.Type) throws -> T {
        // Metatypes compared by pointer, as in the encoder's `write`.
        if T.self == String.self { return try readString() as! T }
        if T.self == Int.self { return try readSigned(Int.self) as! T }
        if T.self == Bool.self { return try readBool() as! T }
        if T.self == UInt8.self { return try readUnsigned(UInt8.self) as! T }
        if T.self == UInt16.self { return try readUnsigned(UInt16.self) as! T }
        if T.self == UInt32.self { return try readUnsigned(UInt32.self) as! T }
        if T.self == UInt64.self { return try readUnsigned(UInt64.self) as! T }
        if T.self == Int64.self { return try readSigned(Int64.self) as! T }
        if T.self == Int32.self { return try readSigned(Int32.self) as! T }
        if T.self == [String: UInt64].self { return try state.counters(depth: depth) as! T }
        if T.self == Duration.self, let value = try state.duration() { return value as! T }
        if T.self == SourceLocation.self, let value = try state.location() { return value as! T }
        if T.self == IPAddress.self, let value = try state.address() { return value as! T }
        if let record = try readRecord(T.self) { return record }
        return try T(from: BinaryValueDecoder(state: state, depth: depth))
    }
}

struct BinaryKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol, BinaryPrimitiveReader {
    let state: DecoderState
    let cursor: ContainerCursor
    var codingPath: [any CodingKey] { [] }
    var depth: Int { cursor.depth }

    init(state: DecoderState, cursor: ContainerCursor) {
        self.state = state
        self.cursor = cursor
    }

    /// Positions the reader at the value of `key`; false when the container has no (unread) such key.
    private func seek(_ key: Key) throws -> Bool {
        try state.settle(above: cursor.depth)
        if cursor.index == nil, cursor.remaining > 0 {
            let mark = state.offset
            if try state.key() == key.stringValue {
                cursor.remaining -= 1
                return true
            }
            state.offset = mark
        }
        try buildIndex()
        guard let offset = cursor.index?.removeValue(forKey: key.stringValue) else { return false }
        state.offset = offset
        return true
    }

    /// Indexes the unread entries; from now on every read goes through the index.
    private func buildIndex() throws {
        guard cursor.index == nil else { return }
        var entries: [String: Int] = [:]
        while cursor.remaining > 0 {
            let name = try state.key()
            entries[name] = state.offset
            try state.skip(depth: cursor.depth)
            cursor.remaining -= 1
        }
        cursor.index = entries
        cursor.end = state.offset
    }

    var allKeys: [Key] {
        // Settle first (as `contains`): the key peeked below must be this container's.
        guard (try? state.settle(above: cursor.depth)) != nil else { return [] }
        let mark = state.offset
        defer { state.offset = mark }
        // One entry left unread, as in an enum's case (synthesized `Codable` asks `allKeys` of every enum with a
        // payload): its key is peeked, and its value is not skipped to index it. Indexing walked each payload twice,
        // and the whole configuration for the message that carries one.
        if cursor.index == nil, cursor.remaining == 1 {
            guard let name = try? state.key() else { return [] }
            return Key(stringValue: name).map { [$0] } ?? []
        }
        guard (try? buildIndex()) != nil else { return [] }
        return cursor.index?.keys.compactMap { Key(stringValue: $0) } ?? []
    }

    func contains(_ key: Key) -> Bool {
        // Settle first: a mark inside a deeper container that `seek` closes would be returned to after it is gone.
        guard (try? state.settle(above: cursor.depth)) != nil else { return false }
        let mark = state.offset
        let remaining = cursor.remaining
        defer { state.offset = mark }
        guard (try? seek(key)) == true else { return false }
        // Put it back: the caller decodes it next.
        if cursor.index == nil {
            cursor.remaining = remaining
        } else {
            cursor.index?[key.stringValue] = state.offset
        }
        return true
    }

    /// Positions the reader at `key`'s value, or throws `keyNotFound`; the caller reads the value next.
    private func present(_ key: Key) throws {
        guard try seek(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for key '\(key.stringValue)'"))
        }
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        // Settle first (as `contains`): the mark must be this container's position, not one inside a deeper container
        // (a dictionary read through its index ends anywhere in it) that `seek` closes.
        try state.settle(above: cursor.depth)
        let mark = state.offset
        let remaining = cursor.remaining
        guard try seek(key) else { return true }
        if try state.peekTag() == .null {
            state.offset += 1
            return true
        }
        // Not nil: the caller decodes the value next.
        if cursor.index == nil {
            state.offset = mark
            cursor.remaining = remaining
        } else {
            cursor.index?[key.stringValue] = state.offset
        }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try present(key)
        return try readBool()
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try present(key)
        return try readString()
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try present(key)
        return try readDouble()
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try present(key)
        return try readFloat()
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try present(key)
        return try readSigned(Int.self)
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try present(key)
        return try readSigned(Int8.self)
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try present(key)
        return try readSigned(Int16.self)
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try present(key)
        return try readSigned(Int32.self)
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try present(key)
        return try readSigned(Int64.self)
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try present(key)
        return try readUnsigned(UInt.self)
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try present(key)
        return try readUnsigned(UInt8.self)
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try present(key)
        return try readUnsigned(UInt16.self)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try present(key)
        return try readUnsigned(UInt32.self)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try present(key)
        return try readUnsigned(UInt64.self)
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try present(key)
        return try read(T.self)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        if try decodeNil(forKey: key) { return nil }
        return try decode(T.self, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try present(key)
        return try BinaryValueDecoder(state: state, depth: depth).container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try present(key)
        return try BinaryValueDecoder(state: state, depth: depth).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        guard let key = Key(stringValue: "super") else { throw state.fail("no super key") }
        return try superDecoder(forKey: key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try present(key)
        return BinaryValueDecoder(state: state, depth: depth)
    }
}

struct BinaryUnkeyedDecoder: UnkeyedDecodingContainer, BinaryPrimitiveReader {
    let state: DecoderState
    let cursor: ContainerCursor
    var codingPath: [any CodingKey] { [] }
    let total: Int
    var currentIndex: Int { total - cursor.remaining }
    var depth: Int { cursor.depth }

    init(state: DecoderState, cursor: ContainerCursor) {
        self.state = state
        self.cursor = cursor
        self.total = cursor.remaining
    }

    var count: Int? { total }
    var isAtEnd: Bool { currentIndex >= total }

    /// Moves to the next element, or throws `valueNotFound` past the end; the caller reads the element next.
    private func advance(_ type: Any.Type) throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: codingPath, debugDescription: "no element \(currentIndex) (count \(total))"))
        }
        try state.settle(above: cursor.depth)
        cursor.remaining -= 1
    }

    func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        try state.settle(above: cursor.depth)
        guard try state.peekTag() == .null else { return false }
        state.offset += 1
        cursor.remaining -= 1
        return true
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        try advance(Bool.self)
        return try readBool()
    }
    func decode(_ type: String.Type) throws -> String {
        try advance(String.self)
        return try readString()
    }
    func decode(_ type: Double.Type) throws -> Double {
        try advance(Double.self)
        return try readDouble()
    }
    func decode(_ type: Float.Type) throws -> Float {
        try advance(Float.self)
        return try readFloat()
    }
    func decode(_ type: Int.Type) throws -> Int {
        try advance(Int.self)
        return try readSigned(Int.self)
    }
    func decode(_ type: Int8.Type) throws -> Int8 {
        try advance(Int8.self)
        return try readSigned(Int8.self)
    }
    func decode(_ type: Int16.Type) throws -> Int16 {
        try advance(Int16.self)
        return try readSigned(Int16.self)
    }
    func decode(_ type: Int32.Type) throws -> Int32 {
        try advance(Int32.self)
        return try readSigned(Int32.self)
    }
    func decode(_ type: Int64.Type) throws -> Int64 {
        try advance(Int64.self)
        return try readSigned(Int64.self)
    }
    func decode(_ type: UInt.Type) throws -> UInt {
        try advance(UInt.self)
        return try readUnsigned(UInt.self)
    }
    func decode(_ type: UInt8.Type) throws -> UInt8 {
        try advance(UInt8.self)
        return try readUnsigned(UInt8.self)
    }
    func decode(_ type: UInt16.Type) throws -> UInt16 {
        try advance(UInt16.self)
        return try readUnsigned(UInt16.self)
    }
    func decode(_ type: UInt32.Type) throws -> UInt32 {
        try advance(UInt32.self)
        return try readUnsigned(UInt32.self)
    }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        try advance(UInt64.self)
        return try readUnsigned(UInt64.self)
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try advance(T.self)
        return try read(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try advance(NestedKey.self)
        return try BinaryValueDecoder(state: state, depth: depth).container(keyedBy: type)
    }

    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try advance((any UnkeyedDecodingContainer).self)
        return try BinaryValueDecoder(state: state, depth: depth).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        try advance((any Decoder).self)
        return BinaryValueDecoder(state: state, depth: depth)
    }
}

struct BinarySingleValueDecoder: SingleValueDecodingContainer, BinaryPrimitiveReader {
    let state: DecoderState
    var codingPath: [any CodingKey] { [] }
    let depth: Int

    func decodeNil() -> Bool {
        guard (try? state.settle(above: depth)) != nil, (try? state.peekTag()) == .null else { return false }
        state.offset += 1
        return true
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        try state.settle(above: depth)
        return try readBool()
    }
    func decode(_ type: String.Type) throws -> String {
        try state.settle(above: depth)
        return try readString()
    }
    func decode(_ type: Double.Type) throws -> Double {
        try state.settle(above: depth)
        return try readDouble()
    }
    func decode(_ type: Float.Type) throws -> Float {
        try state.settle(above: depth)
        return try readFloat()
    }
    func decode(_ type: Int.Type) throws -> Int {
        try state.settle(above: depth)
        return try readSigned(Int.self)
    }
    func decode(_ type: Int8.Type) throws -> Int8 {
        try state.settle(above: depth)
        return try readSigned(Int8.self)
    }
    func decode(_ type: Int16.Type) throws -> Int16 {
        try state.settle(above: depth)
        return try readSigned(Int16.self)
    }
    func decode(_ type: Int32.Type) throws -> Int32 {
        try state.settle(above: depth)
        return try readSigned(Int32.self)
    }
    func decode(_ type: Int64.Type) throws -> Int64 {
        try state.settle(above: depth)
        return try readSigned(Int64.self)
    }
    func decode(_ type: UInt.Type) throws -> UInt {
        try state.settle(above: depth)
        return try readUnsigned(UInt.self)
    }
    func decode(_ type: UInt8.Type) throws -> UInt8 {
        try state.settle(above: depth)
        return try readUnsigned(UInt8.self)
    }
    func decode(_ type: UInt16.Type) throws -> UInt16 {
        try state.settle(above: depth)
        return try readUnsigned(UInt16.self)
    }
    func decode(_ type: UInt32.Type) throws -> UInt32 {
        try state.settle(above: depth)
        return try readUnsigned(UInt32.self)
    }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        try state.settle(above: depth)
        return try readUnsigned(UInt64.self)
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.settle(above: depth)
        return try read(T.self)
    }
}
