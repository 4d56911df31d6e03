/// The LVS half of a configuration: virtual servers and their real servers and checkers.
public struct LVSConfig: Sendable, Hashable, Codable {
    /// `virtual_server_group NAME { }` blocks, in file order.
    public var virtualServerGroups: [VirtualServerGroup] = []
    /// `virtual_server … { }` blocks, in file order.
    public var virtualServers: [VirtualServer] = []
    /// The top-level `SSL { }` block for `SSL_GET`; `nil` means an auto-generated context.
    public var ssl: SSLSettings?

    public init() {}

    /// The group called `name`, if one is defined.
    public func group(named name: String) -> VirtualServerGroup? {
        virtualServerGroups.first { $0.name == name }
    }
}

/// `SSL { password ca certificate key }`: the TLS context `SSL_GET` checkers use.
public struct SSLSettings: Sendable, Hashable, Codable {
    public var password: String?
    /// `ca`: the CA file.
    public var caFile: String?
    /// `certificate`: the client certificate file.
    public var certificateFile: String?
    /// `key`: the client key file.
    public var keyFile: String?

    public init() {}
}
