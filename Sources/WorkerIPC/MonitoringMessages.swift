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
    /// `198.51.100.11:80`, `[2001:db8::11]:80`.
    public var address: String
    /// The configuration's name of the real server (`198.51.100.11 80`), nil for one the file does not name (a
    /// sorry server, or a real server another tool added).
    public var realServer: String?
    /// The weight in the kernel (0 while a real server is out of rotation with `inhibit_on_failure`).
    public var weight: Int
    /// Connections open now (`ActiveConn`, `InActConn` in `ipvsadm -Ln`), and persistence templates.
    public var activeConnections: UInt32
    public var inactiveConnections: UInt32
    public var persistentConnections: UInt32
    public var counters: IPVSCounters

    public init(
        address: String, realServer: String?, weight: Int, activeConnections: UInt32, inactiveConnections: UInt32,
        persistentConnections: UInt32, counters: IPVSCounters
    ) {
        self.address = address
        self.realServer = realServer
        self.weight = weight
        self.activeConnections = activeConnections
        self.inactiveConnections = inactiveConnections
        self.persistentConnections = persistentConnections
        self.counters = counters
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
    public var services: [IPVSServiceStatistics]
    /// CLOCK_MONOTONIC (ns) when the read finished.
    public var readAt: Int64
    /// The read found what the last report said (`services` is empty): the receiver keeps that one, read at `readAt`.
    public var unchanged: Bool

    public init(services: [IPVSServiceStatistics] = [], readAt: Int64 = 0, unchanged: Bool = false) {
        self.services = services
        self.readAt = readAt
        self.unchanged = unchanged
    }

    /// What the receiver holds after this report, given what it held.
    public func following(_ held: IPVSStatisticsReport?) -> IPVSStatisticsReport {
        guard unchanged else { return self }
        var kept = held ?? IPVSStatisticsReport()
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
