/// One statement of a keepalived configuration after preprocessing: a keyword, the words that follow
/// it on its line, and — when the statement opens a `{ }` block — the statements inside.
///
/// The tree knows nothing of what keywords mean; `ConfigSchema` gives it meaning. Inside list blocks
/// such as `virtual_ipaddress { }` each line is a node too: the keyword is the first word
/// (`192.0.2.1/24`) and the arguments the rest (`dev`, `eth0`).
public struct ConfigNode: Hashable, Sendable {
    public var keyword: String
    public var arguments: [String]
    /// The statements of the block this statement opens, or `nil` when it opens none.
    public var children: [ConfigNode]?
    public var location: SourceLocation

    public init(
        keyword: String,
        arguments: [String] = [],
        children: [ConfigNode]? = nil,
        location: SourceLocation
    ) {
        self.keyword = keyword
        self.arguments = arguments
        self.children = children
        self.location = location
    }

    /// Whether the statement opened a `{ }` block (possibly empty).
    public var hasBlock: Bool { children != nil }
}
