/// The LVS half of a configuration: virtual servers and their real servers and checkers.
public struct LVSConfig: Sendable, Hashable, Codable {
    /// `virtual_server_group NAME { }` blocks, in file order.
    public var virtualServerGroups: [VirtualServerGroup] = []
    /// `virtual_server … { }` blocks, in file order.
    public var virtualServers: [VirtualServer] = []
    /// The top-level `SSL { }` block for `SSL_GET`; `nil` means an auto-generated context.
    public var ssl: SSLSettings?

    public init() {}

    /// Gives back the room the virtual and real server lists were left with as they grew (appended one by one, by
    /// the parser or a decoder: 10 real servers in room for 16). A large farm is held by the watchdog and by the
    /// checker worker for as long as it runs: 2 MiB each for 1,000 × 10.
    public mutating func dropSpareCapacity() {
        virtualServers.dropSpareCapacity()
        for index in virtualServers.indices where virtualServers[index].realServers.hasSpareCapacity {
            virtualServers[index].realServers.dropSpareCapacity()
        }
    }

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

extension Array {
    /// The array has room for at least one more element than it holds, beyond the allocator's rounding.
    public var hasSpareCapacity: Bool { (capacity - count) * MemoryLayout<Element>.stride >= 64 }

    /// Copies the elements into storage of their size when the array has spare room (`hasSpareCapacity`).
    public mutating func dropSpareCapacity() {
        guard hasSpareCapacity else { return }
        // An empty array takes the shared empty storage; `init(unsafeUninitializedCapacity: 0)` would write its count
        // there (a data race between threads, ThreadSanitizer saw it).
        guard !isEmpty else {
            self = []
            return
        }
        let elements = self
        self = Array(unsafeUninitializedCapacity: elements.count) { buffer, initialized in
            _ = buffer.initialize(fromContentsOf: elements)
            initialized = elements.count
        }
    }
}
