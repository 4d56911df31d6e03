/// The keywords of one kind of block and what each does to the block's model. The known names
/// double as the candidates for "did you mean" suggestions.
public struct KeywordTable<Model>: Sendable {
    public typealias Handler = @Sendable (inout Model, ConfigNode, SchemaContext) -> Void

    /// The block's name as errors show it (`vrrp_instance`, `real_server`, …).
    public let blockName: String
    public var handlers: [String: Handler]
    /// Keywords Vigil recognises but does not implement yet: a warning, then skipped.
    public var unsupported: Set<String>
    /// Old spellings keepalived still accepts, mapped to the current keyword.
    public var aliases: [String: String]

    public init(
        _ blockName: String,
        handlers: [String: Handler],
        unsupported: Set<String> = [],
        aliases: [String: String] = [:]
    ) {
        self.blockName = blockName
        self.handlers = handlers
        self.unsupported = unsupported
        self.aliases = aliases
    }

    public var knownKeywords: [String] { Array(handlers.keys) + Array(unsupported) + Array(aliases.keys) }

    /// Applies every statement of a block to `model`, in order.
    public func apply(_ nodes: [ConfigNode], to model: inout Model, _ context: SchemaContext) {
        for node in nodes {
            let keyword = aliases[node.keyword] ?? node.keyword
            if let handler = handlers[keyword] {
                handler(&model, node, context)
            } else if unsupported.contains(keyword) {
                context.unsupported(node, in: blockName)
            } else {
                context.unknown(node, in: blockName, known: knownKeywords)
            }
        }
    }
}
