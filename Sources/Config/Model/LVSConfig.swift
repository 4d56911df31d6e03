/// The LVS half of a configuration: virtual servers and their real servers and checkers.
public struct LVSConfig: Sendable, Hashable {
    public init() {}
}
