/// The VRRP half of a configuration.
public struct VRRPConfig: Sendable, Hashable {
    public init() {}
}
