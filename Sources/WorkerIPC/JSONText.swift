/// `Encodable` values as JSON text, without Foundation: `vigilctl status --json` (and anything else an operator's
/// tools read). Keys are sorted; numbers print as Swift prints them; strings are escaped as RFC 8259 asks.
public enum JSONText {
    /// The JSON text of `value`, pretty-printed with two-space indentation unless `pretty` is false.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        let root = JSONNode.Box()
        try value.encode(to: JSONTreeEncoder(box: root, codingPath: []))
        var output = ""
        root.node.write(to: &output, pretty: pretty, indent: 0)
        return output
    }

    /// `"text"` with JSON's escapes.
    public static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}

/// A JSON value being built.
enum JSONNode {
    case null
    case literal(String)
    case array([Box])
    case object([String: Box])

    /// A node that nested containers fill in after their parent has taken them.
    final class Box {
        var node: JSONNode = .null
        init() {}
    }

    func write(to output: inout String, pretty: Bool, indent: Int) {
        let newline = pretty ? "\n" + String(repeating: "  ", count: indent + 1) : ""
        let closing = pretty ? "\n" + String(repeating: "  ", count: indent) : ""
        switch self {
        case .null: output += "null"
        case .literal(let text): output += text
        case .array(let items):
            guard !items.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            for (index, item) in items.enumerated() {
                output += (index == 0 ? "" : ",") + newline
                item.node.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            output += closing + "]"
        case .object(let members):
            guard !members.isEmpty else {
                output += "{}"
                return
            }
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                output += (index == 0 ? "" : ",") + newline + JSONText.quoted(key) + (pretty ? " : " : ":")
                members[key]!.node.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            output += closing + "}"
        }
    }
}

struct JSONTreeEncoder: Encoder {
    let box: JSONNode.Box
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = box.node {} else { box.node = .object([:]) }
        return KeyedEncodingContainer(JSONKeyedEncoder<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = box.node {} else { box.node = .array([]) }
        return JSONUnkeyedEncoder(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueEncoder(box: box, codingPath: codingPath)
    }

    /// The node for a value: literals directly, anything else through its own `encode(to:)`.
    static func node<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> JSONNode.Box {
        let box = JSONNode.Box()
        switch value {
        case let text as String: box.node = .literal(JSONText.quoted(text))
        case let flag as Bool: box.node = .literal(flag ? "true" : "false")
        case let number as Double: box.node = .literal(number.isFinite ? "\(number)" : "null")
        case let number as Float: box.node = .literal(number.isFinite ? "\(number)" : "null")
        case let number as any BinaryInteger: box.node = .literal("\(number)")
        default: try value.encode(to: JSONTreeEncoder(box: box, codingPath: path))
        }
        return box
    }
}

struct JSONKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONNode.Box
    var codingPath: [any CodingKey]

    private func set(_ key: Key, _ child: JSONNode.Box) {
        guard case .object(var members) = box.node else { return }
        box.node = .null
        members[key.stringValue] = child
        box.node = .object(members)
    }

    mutating func encodeNil(forKey key: Key) throws { set(key, JSONNode.Box()) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(key, try JSONTreeEncoder.node(value, path: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = JSONNode.Box()
        set(key, child)
        return JSONTreeEncoder(box: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = JSONNode.Box()
        set(key, child)
        return JSONTreeEncoder(box: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONNode.Box()
        set(Key(stringValue: "super")!, child)
        return JSONTreeEncoder(box: child, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = JSONNode.Box()
        set(key, child)
        return JSONTreeEncoder(box: child, codingPath: codingPath + [key])
    }
}

struct JSONUnkeyedEncoder: UnkeyedEncodingContainer {
    let box: JSONNode.Box
    var codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = box.node { return items.count }
        return 0
    }

    private func append(_ child: JSONNode.Box) {
        guard case .array(var items) = box.node else { return }
        box.node = .null
        items.append(child)
        box.node = .array(items)
    }

    mutating func encodeNil() throws { append(JSONNode.Box()) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try JSONTreeEncoder.node(value, path: codingPath + [BinaryCodingKey(index: count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = JSONNode.Box()
        append(child)
        return JSONTreeEncoder(box: child, codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = JSONNode.Box()
        append(child)
        return JSONTreeEncoder(box: child, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONNode.Box()
        append(child)
        return JSONTreeEncoder(box: child, codingPath: codingPath)
    }
}

struct JSONSingleValueEncoder: SingleValueEncodingContainer {
    let box: JSONNode.Box
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.node = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.node = try JSONTreeEncoder.node(value, path: codingPath).node
    }
}

/// `value` with `digits` decimals, rounded half away from zero (`String(format: "%.2f")` without Foundation).
public func fixedPoint(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9.0e18 else { return "\(value)" }
    let whole = UInt64(scaled)
    var text = String(whole / UInt64(scale))
    if digits > 0 {
        let fraction = String(whole % UInt64(scale))
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return (value < 0 && scaled > 0 ? "-" : "") + text
}
