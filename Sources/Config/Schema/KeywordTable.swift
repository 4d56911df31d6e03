/// The keywords of one kind of block and what each does to the block's model. The known names
/// double as the candidates for "did you mean" suggestions.
///
/// Every keyword declares its fate (`KeywordStatus`): a handler alone means it takes effect (a test
/// checks that some code outside `Config` reads what the handler writes); an entry in `unsupported`
/// means it does not, and `vigild -t` warns at its line with the reason; an alias is an old
/// spelling of another keyword. A keyword may have both a handler and an `unsupported` entry: its
/// value is checked, then the warning is given.
public struct KeywordTable<Model>: Sendable {
    public typealias Handler = @Sendable (inout Model, ConfigNode, SchemaContext) -> Void

    /// The block's name as errors show it (`vrrp_instance`, `real_server`, …).
    public let blockName: String
    public let handlers: [String: Handler]
    /// Keywords Vigil recognises that do not take effect, each with its reason: a warning, then skipped
    /// (or checked by its handler, when it has one).
    public let unsupported: KeywordWarnings
    /// Old spellings keepalived still accepts, mapped to the current keyword.
    public let aliases: [String: String]
    /// What `apply` does with each keyword (aliases resolved): one lookup a statement.
    private let dispatch: KeywordIndex<Dispatch>

    /// A keyword's handler and warning, either or both.
    private struct Dispatch: Sendable {
        var handler: Handler?
        var reason: NotInEffect?
    }

    public init(
        _ blockName: String,
        handlers: [String: Handler],
        unsupported: KeywordWarnings = [],
        aliases: [String: String] = [:]
    ) {
        self.blockName = blockName
        self.handlers = handlers
        self.unsupported = unsupported
        self.aliases = aliases
        var dispatch: [String: Dispatch] = [:]
        for (keyword, handler) in handlers { dispatch[keyword, default: Dispatch()].handler = handler }
        for (keyword, reason) in unsupported.reasons { dispatch[keyword, default: Dispatch()].reason = reason }
        for (alias, target) in aliases { dispatch[alias] = dispatch[target] }
        self.dispatch = KeywordIndex(dispatch)
    }

    public var knownKeywords: [String] {
        Array(handlers.keys) + unsupported.reasons.keys.filter { handlers[$0] == nil } + Array(aliases.keys)
    }

    /// Applies every statement of a block to `model`, in order.
    public func apply(_ nodes: [ConfigNode], to model: inout Model, _ context: SchemaContext) {
        context.blocks.append(blockName)
        defer { context.blocks.removeLast() }
        // By index, each node passed as the array's element: a for-in loop would copy every node (a retain and a
        // release of its keyword, arguments, children and file name).
        for index in nodes.indices {
            context.observer?(blockName, nodes[index])
            guard let entry = dispatch[nodes[index].keyword] else {
                context.unknown(nodes[index], in: blockName, known: knownKeywords)
                continue
            }
            if let reason = entry.reason { context.notInEffect(nodes[index], in: blockName, reason) }
            entry.handler?(&model, nodes[index], context)
        }
    }
}

/// A read-only map from keywords to values for the schema's hot path: an open-addressing table hashed on the
/// keyword's length and a few of its bytes (no SipHash), each hit confirmed by comparing the whole keyword.
struct KeywordIndex<Value: Sendable>: Sendable {
    private let keys: [String?]
    private let values: [Value?]
    private let mask: Int

    init(_ entries: [String: Value]) {
        var size = 16
        while size < entries.count * 4 { size *= 2 }
        var keys = [String?](repeating: nil, count: size)
        var values = [Value?](repeating: nil, count: size)
        for (key, value) in entries {
            var slot = Self.hash(key) & (size - 1)
            while keys[slot] != nil { slot = (slot + 1) & (size - 1) }
            keys[slot] = key
            values[slot] = value
        }
        self.keys = keys
        self.values = values
        mask = size - 1
    }

    subscript(key: String) -> Value? {
        var slot = Self.hash(key) & mask
        while let candidate = keys[slot] {
            if candidate == key { return values[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }

    private static func hash(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { bytes in
            guard let first = bytes.first, let last = bytes.last else { return 0 }
            return bytes.count &* 97 &+ Int(first) &* 31 &+ Int(bytes[bytes.count / 2]) &* 7 &+ Int(last)
        }
    }
}

/// Why a keyword Vigil recognises does not take effect; `vigild -t` prints it at the keyword's line.
public enum NotInEffect: Sendable, Hashable {
    /// Planned, not built yet.
    case notYetImplemented
    /// A part of keepalived Vigil does not have; the text says which ("Vigil has no SNMP agent").
    case notBuilt(String)
    /// keepalived 2.2.7 ignores it too (an obsolete keyword); the text says what to use instead.
    case ignoredByKeepalived(String)

    /// `linkbeat_use_polling` (top level or in a `vrrp_instance`) and `linkbeat_interfaces`: keepalived polls the
    /// link each second instead of following netlink.
    static let linkbeatPolling = NotInEffect.notBuilt(
        "Vigil follows each link through netlink (RTM_NEWLINK: IFF_UP and carrier, IFF_RUNNING), at once; keepalived's "
            + "ETHTOOL and IOCTL polling read that same carrier state once a second, and MII register polling, for "
            + "drivers that never report carrier to the kernel, is not built")

    /// The reason as `vigild -t` and the keyword table give it.
    public var reason: String {
        switch self {
        case .notYetImplemented: "not implemented by Vigil yet"
        case .notBuilt(let why): "not built: \(why)"
        case .ignoredByKeepalived(let why): "ignored, as keepalived 2.2.7 ignores it: \(why)"
        }
    }
}

/// The `unsupported` keywords of a table with their reasons. A list literal of names means "not
/// implemented yet" (`["vrf", "use_ipvlan"]`); a dictionary literal gives each its reason
/// (`["enable_dbus": .notBuilt("Vigil has no DBus interface")]`).
public struct KeywordWarnings: Sendable, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public var reasons: [String: NotInEffect]

    public init(_ reasons: [String: NotInEffect]) {
        self.reasons = reasons
    }

    public init(arrayLiteral keywords: String...) {
        reasons = Dictionary(keywords.map { ($0, .notYetImplemented) }) { first, _ in first }
    }

    public init(dictionaryLiteral elements: (String, NotInEffect)...) {
        reasons = Dictionary(elements) { first, _ in first }
    }

    /// `keywords`, each not implemented yet.
    public static func notYetImplemented(_ keywords: [String]) -> KeywordWarnings {
        KeywordWarnings(Dictionary(keywords.map { ($0, .notYetImplemented) }) { first, _ in first })
    }

    public subscript(keyword: String) -> NotInEffect? { reasons[keyword] }

    public func contains(_ keyword: String) -> Bool { reasons[keyword] != nil }

    /// Both sets of warnings; `other` wins where both name a keyword.
    public func merging(_ other: KeywordWarnings) -> KeywordWarnings {
        KeywordWarnings(reasons.merging(other.reasons) { _, second in second })
    }
}

/// What a keyword does in Vigil, as the keyword table (`vigild --keywords`, docs/keywords.md) shows it.
public enum KeywordStatus: Sendable, Hashable {
    /// It takes effect.
    case implemented
    /// It is recognised (and its value checked when it has a handler) but does not take effect.
    case warned(NotInEffect)
    /// An old spelling of another keyword of the same block.
    case alias(of: String)
}

/// A table's keywords with their status, without its model type: what the keyword catalog lists.
public protocol KeywordTableDescription: Sendable {
    var blockName: String { get }
    /// Every keyword of the block, sorted, with its status.
    var statuses: [(keyword: String, status: KeywordStatus)] { get }
    /// Whether the "keywords" are options on the lines of a list block (`dev`, `label` in
    /// `virtual_ipaddress`), not statements of their own.
    var isOptionList: Bool { get }
}

extension KeywordTableDescription {
    public var isOptionList: Bool { false }
}

/// The options of the lines of a list block (`192.0.2.1/24 dev eth0 label eth0:1`), with the fate of
/// each: they take effect unless `unsupported` names them, and then `warn` reports them at their line.
public struct OptionTable: KeywordTableDescription {
    /// What the lines are, as the catalog and warnings name them (`virtual_ipaddress line`).
    public let blockName: String
    public let options: Set<String>
    public let unsupported: KeywordWarnings

    public init(_ blockName: String, options: Set<String>, unsupported: KeywordWarnings = []) {
        self.blockName = blockName
        self.options = options
        self.unsupported = unsupported
    }

    public var isOptionList: Bool { true }

    public var statuses: [(keyword: String, status: KeywordStatus)] {
        options.union(unsupported.reasons.keys).sorted().map { option in
            (option, unsupported[option].map(KeywordStatus.warned) ?? .implemented)
        }
    }

    /// Warns for each of `names` (options used on `line`) that does not take effect.
    public func warn(_ names: some Sequence<String>, on line: ConfigNode, _ context: SchemaContext) {
        for name in names {
            guard let why = unsupported[name] else { continue }
            context.warning(
                "'\(name)' in a \(blockName) does not take effect in Vigil (\(why.reason)); ignored", at: line)
        }
    }
}

extension KeywordTable: KeywordTableDescription {
    public var statuses: [(keyword: String, status: KeywordStatus)] {
        var result: [String: KeywordStatus] = [:]
        for keyword in handlers.keys { result[keyword] = .implemented }
        for (keyword, reason) in unsupported.reasons { result[keyword] = .warned(reason) }
        for (keyword, target) in aliases { result[keyword] = .alias(of: target) }
        return result.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
