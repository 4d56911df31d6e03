/// `global_defs { }`.
public struct GlobalDefs: Sendable, Hashable {
    public init() {}
}
