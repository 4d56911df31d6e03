/// IPVS traffic counters of a virtual service or a real server, as the kernel keeps them (`ipvsadm -Ln --stats`).
public struct IPVSCounters: Codable, Sendable, Hashable {
    /// Connections scheduled since the rule was added (a counter, not the connections open now).
    public var connections: UInt64
    public var inPackets: UInt64
    public var outPackets: UInt64
    public var inBytes: UInt64
    public var outBytes: UInt64

    public init(
        connections: UInt64 = 0, inPackets: UInt64 = 0, outPackets: UInt64 = 0, inBytes: UInt64 = 0,
        outBytes: UInt64 = 0
    ) {
        self.connections = connections
        self.inPackets = inPackets
        self.outPackets = outPackets
        self.inBytes = inBytes
        self.outBytes = outBytes
    }
}

/// One real server of an IPVS service, as the kernel reports it.
public struct IPVSRealServerStatistics: Codable, Sendable, Hashable {
    /// Whether and how the configuration names a real server the kernel holds.
    public enum Naming: UInt8, Sendable, Hashable {
        /// A sorry server, or a real server another tool added.
        case unnamed
        /// `real_server 198.51.100.11 80`.
        case withPort
        /// A port-less real server of a firewall-mark service (`real_server 198.51.100.11`).
        case withoutPort

        /// Whether the configuration's real server `server` is the kernel's `endpoint` named this way.
        func names(_ server: ServerAddress, at endpoint: ServerAddress) -> Bool {
            switch self {
            case .unnamed: false
            case .withPort: server == endpoint
            case .withoutPort: server.port == nil && server.ip == endpoint.ip
            }
        }
    }

    /// The kernel's real server, with its port (`address` prints it), held in fixed size (`ServerAddress`).
    public var endpoint: ServerAddress
    public var naming: Naming
    /// The weight in the kernel (0 while a real server is out of rotation with `inhibit_on_failure`).
    public var weight: Int
    /// Connections open now (`ActiveConn`, `InActConn` in `ipvsadm -Ln`), and persistence templates.
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    public var counters: IPVSCounters

    public init(
        endpoint: ServerAddress, naming: Naming, weight: Int, activeConnections: UInt32, inactiveConnections: UInt32,
        persistentConnections: UInt32, counters: IPVSCounters
    ) {
        self.endpoint = endpoint
        self.naming = naming
        self.weight = weight
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.counters = counters
    }

    /// `198.51.100.11:80`, `[2001:db8::11]:80`.
    public var address: String { endpoint.endpoint }

    /// The configuration's name of the real server (`198.51.100.11 80`), nil for one the file does not name.
    public var realServer: String? {
        switch naming {
        case .unnamed: nil
        case .withPort: endpoint.configName
        case .withoutPort: ServerAddress(endpoint.ip, port: nil).configName
        }
    }

    /// Whether this is the configuration's real server `server` (what `realServer` names), compared without text.
    public func isNamed(_ server: ServerAddress) -> Bool { naming.names(server, at: endpoint) }

    private enum CodingKeys: String, CodingKey {
        case address, realServer, weight, activeConnections, inactiveConnections, persistentConnections, counters
    }

    /// Written as before the fixed-size address: `address` and `realServer` as text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encodeIfPresent(realServer, forKey: .realServer)
        try container.encode(weight, forKey: .weight)
        try container.encode(activeConnections, forKey: .activeConnections)
        try container.encode(inactiveConnections, forKey: .inactiveConnections)
        try container.encode(persistentConnections, forKey: .persistentConnections)
        try container.encode(counters, forKey: .counters)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let endpoint = try container.decodeServerAddress(forKey: .address, ServerAddress.init(endpoint:))
        var naming = Naming.unnamed
        if let name = try container.decodeIfPresent(String.self, forKey: .realServer) {
            // The name is the endpoint's address, with or without its port: anything else is not this real server.
            let named = ServerAddress(configName: name)
            naming = named?.port == nil ? .withoutPort : .withPort
            guard let named, naming.names(named, at: endpoint) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .realServer, in: container, debugDescription: "\(name) does not name \(endpoint.endpoint)")
            }
        }
        self.init(
            endpoint: endpoint, naming: naming, weight: try container.decode(Int.self, forKey: .weight),
            activeConnections: try container.decode(UInt32.self, forKey: .activeConnections),
            inactiveConnections: try container.decode(UInt32.self, forKey: .inactiveConnections),
            persistentConnections: try container.decode(UInt32.self, forKey: .persistentConnections),
            counters: try container.decode(IPVSCounters.self, forKey: .counters))
    }
}

/// One IPVS service the checker worker manages, with its real servers.
public struct IPVSServiceStatistics: Codable, Sendable, Hashable {
    /// The configuration's virtual server (`192.0.2.100 80`, `fwmark 5`, `group web`), as in `VirtualServerReport`.
    public var virtualServer: String
    /// The kernel's service: `192.0.2.100:80`, `[2001:db8::100]:80`, or `fwmark:5` for a firewall-mark service.
    public var address: String
    /// The IP protocol number (6 TCP, 17 UDP, 132 SCTP; 0 for a firewall-mark service), as the keepalived
    /// exporter labels it.
    public var protocolNumber: Int
    public var counters: IPVSCounters
    public var realServers: [IPVSRealServerStatistics]

    public init(
        virtualServer: String, address: String, protocolNumber: Int, counters: IPVSCounters,
        realServers: [IPVSRealServerStatistics]
    ) {
        self.virtualServer = virtualServer
        self.address = address
        self.protocolNumber = protocolNumber
        self.counters = counters
        self.realServers = realServers
    }
}

/// The kernel's counters of every IPVS service the checker worker manages, read every few seconds (`ipvsadm -Ln
/// --stats` without running ipvsadm). Not kept across a worker's restart.
public struct IPVSStatisticsReport: Codable, Sendable, Hashable {
    /// Every service (a whole report), or those at the places `changed` names.
    public var services: [IPVSServiceStatistics]
    /// CLOCK_MONOTONIC (ns) when the read finished.
    public var readAt: Int64
    /// How many services the whole list holds.
    public var serviceCount: Int
    /// Nil: `services` is the whole list. Otherwise the list is the one the last report left, in the same order, with
    /// the services at these places (ascending) replaced by `services`; empty when the read found nothing changed.
    public var changed: [Int]?

    public init(
        services: [IPVSServiceStatistics] = [], readAt: Int64 = 0, serviceCount: Int? = nil, changed: [Int]? = nil
    ) {
        self.services = services
        self.readAt = readAt
        self.serviceCount = serviceCount ?? services.count
        self.changed = changed
    }

    /// The read found what the last report said: the receiver keeps that one, read at `readAt`.
    public var unchanged: Bool { changed?.isEmpty == true }

    /// What the receiver holds after this report, given what it held; nil when a report of changes does not fit it
    /// (nothing held, another number of services, a place out of range).
    public func following(_ held: IPVSStatisticsReport?) -> IPVSStatisticsReport? {
        guard let changed else { return services.count == serviceCount ? self : nil }
        guard var kept = held, kept.changed == nil,
            let patched = kept.services.patched(count: serviceCount, at: changed, with: services)
        else { return nil }
        kept.services = patched
        kept.readAt = readAt
        return kept
    }
}

/// A `vrrp_script` as the VRRP worker last judged it (after `rise` / `fall`).
public struct VRRPScriptReport: Codable, Sendable, Hashable {
    public var name: String
    /// keepalived's GOOD (true) or BAD (false).
    public var isUp: Bool

    public init(name: String, isUp: Bool) {
        self.name = name
        self.isUp = isUp
    }
}

/// Something the daemon did or saw, kept for the status page and `vigilctl status --json`: a VRRP state change, a
/// real server going up or down, a worker restarted, a reload.
public struct DaemonEvent: Codable, Sendable, Hashable {
    /// Wall-clock time, seconds since the Unix epoch.
    public var atUnixSeconds: Double
    /// Who said it: a worker's role (`vrrp`, `checker`, …) or `watchdog`.
    public var source: String
    public var summary: String

    public init(atUnixSeconds: Double, source: String, summary: String) {
        self.atUnixSeconds = atUnixSeconds
        self.source = source
        self.summary = summary
    }
}
