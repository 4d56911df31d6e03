import Config

/// The transport protocol of an address-based virtual service (`IPPROTO_*`).
public enum IPVSProtocol: UInt16, Sendable, Hashable, CaseIterable, Comparable {
    case tcp = 6  // IPPROTO_TCP
    case udp = 17  // IPPROTO_UDP
    case sctp = 132  // IPPROTO_SCTP

    /// The name ipvsadm and keepalived print: "TCP", "UDP", "SCTP".
    public var name: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        }
    }

    public static func < (lhs: IPVSProtocol, rhs: IPVSProtocol) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What identifies a virtual service in the kernel: protocol, address and port, or a firewall mark and family.
public enum IPVSServiceKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    case address(IPAddress, port: UInt16, protocol: IPVSProtocol)
    /// `fwmark` must not be 0: the kernel reads a zero mark as "not a firewall-mark service".
    case firewallMark(UInt32, family: IPAddress.Family)

    public var family: IPAddress.Family {
        switch self {
        case .address(let address, _, _): address.family
        case .firewallMark(_, let family): family
        }
    }

    /// How keepalived and ipvsadm name the service: "TCP 192.0.2.100:80", "UDP [2001:db8::1]:53", "FWM 7".
    public var description: String {
        switch self {
        case .address(let address, let port, let proto): "\(proto.name) \(IPVSFormat.endpoint(address, port))"
        case .firewallMark(let mark, .ipv4): "FWM \(mark)"
        case .firewallMark(let mark, .ipv6): "FWM \(mark) (IPv6)"
        }
    }

    /// ipvsadm's listing order (`ipvs_cmp_services`): address services before marks, then family, protocol,
    /// address, port.
    /// Field by field, without building a key to compare: the checker sorts thousands of services.
    public static func < (lhs: IPVSServiceKey, rhs: IPVSServiceKey) -> Bool {
        switch (lhs, rhs) {
        case (.address(let left, let leftPort, let leftProtocol), .address(let right, let rightPort, let rightProtocol)):
            if left.family != right.family { return left.family == .ipv4 }
            if leftProtocol != rightProtocol { return leftProtocol < rightProtocol }
            switch (left, right) {
            case (.v4(let a), .v4(let b)) where a != b: return a < b
            case (.v6(let a), .v6(let b)) where a != b: return a.lexicographicallyPrecedes(b)
            default: return leftPort < rightPort
            }
        case (.address, .firewallMark): return true
        case (.firewallMark, .address): return false
        case (.firewallMark(let left, let leftFamily), .firewallMark(let right, let rightFamily)):
            if left != right { return left < right }
            return leftFamily == .ipv4 && rightFamily == .ipv6
        }
    }
}

/// `IP_VS_SVC_F_*`: virtual service flags.
public struct IPVSServiceFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let persistent = IPVSServiceFlags(rawValue: 0x1)  // IP_VS_SVC_F_PERSISTENT
    /// Set by the kernel on every service it holds; never meaningful to send or compare.
    public static let hashed = IPVSServiceFlags(rawValue: 0x2)  // IP_VS_SVC_F_HASHED
    public static let onePacket = IPVSServiceFlags(rawValue: 0x4)  // IP_VS_SVC_F_ONEPACKET
    public static let scheduler1 = IPVSServiceFlags(rawValue: 0x8)  // IP_VS_SVC_F_SCHED1
    public static let scheduler2 = IPVSServiceFlags(rawValue: 0x10)  // IP_VS_SVC_F_SCHED2
    public static let scheduler3 = IPVSServiceFlags(rawValue: 0x20)  // IP_VS_SVC_F_SCHED3
    public static let shFallback = scheduler1  // IP_VS_SVC_F_SCHED_SH_FALLBACK
    public static let shPort = scheduler2  // IP_VS_SVC_F_SCHED_SH_PORT
    public static let mhFallback = scheduler1  // IP_VS_SVC_F_SCHED_MH_FALLBACK
    public static let mhPort = scheduler2  // IP_VS_SVC_F_SCHED_MH_PORT

    /// The flags a configuration decides: everything but `hashed`.
    public var configurable: IPVSServiceFlags { subtracting(.hashed) }
}

/// Traffic counters and rates of a service or real server (`IPVS_*_ATTR_STATS64`, else `STATS`).
public struct IPVSStatistics: Hashable, Sendable, Codable {
    public var connections: UInt64 = 0
    public var incomingPackets: UInt64 = 0
    public var outgoingPackets: UInt64 = 0
    public var incomingBytes: UInt64 = 0
    public var outgoingBytes: UInt64 = 0
    /// Per second, averaged by the kernel's estimator.
    public var connectionRate: UInt64 = 0
    public var incomingPacketRate: UInt64 = 0
    public var outgoingPacketRate: UInt64 = 0
    public var incomingByteRate: UInt64 = 0
    public var outgoingByteRate: UInt64 = 0

    public init() {}
}

/// A virtual service: its key and the settings `IPVS_CMD_SET_SERVICE` can change in place.
public struct IPVSService: Hashable, Sendable {
    public var key: IPVSServiceKey
    /// `IPVS_SVC_ATTR_SCHED_NAME`: "rr", "wlc", "sh", "mh", ...
    public var scheduler: String
    /// Without `hashed` when sent; as the kernel reports them when read back.
    public var flags: IPVSServiceFlags
    /// Persistence timeout in seconds (`persistence_timeout`); meaningful with `.persistent`.
    public var timeout: UInt32
    /// Persistence granularity: for IPv4 a netmask as a number (`0xffffff00` is 255.255.255.0), for IPv6 a prefix
    /// length (128). The kernel takes IPv4 masks in network order and IPv6 prefix lengths as plain numbers.
    public var netmask: UInt32
    /// `IPVS_SVC_ATTR_PE_NAME` (`persistence_engine`, e.g. "sip").
    public var persistenceEngine: String?
    /// Read back from the kernel only; not a setting.
    public var statistics: IPVSStatistics?

    public init(
        key: IPVSServiceKey, scheduler: String, flags: IPVSServiceFlags = [], timeout: UInt32 = 0,
        netmask: UInt32? = nil, persistenceEngine: String? = nil, statistics: IPVSStatistics? = nil
    ) {
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.timeout = timeout
        self.netmask = netmask ?? IPVSService.fullNetmask(for: key.family)
        self.persistenceEngine = persistenceEngine
        self.statistics = statistics
    }

    /// The netmask meaning "each client address on its own": 255.255.255.255 for IPv4, /128 for IPv6.
    public static func fullNetmask(for family: IPAddress.Family) -> UInt32 {
        family == .ipv4 ? 0xffff_ffff : 128
    }

    /// Whether the settings the kernel can edit in place are the same (read-back state and `hashed` ignored).
    public func hasSameSettings(as other: IPVSService) -> Bool {
        key == other.key && scheduler == other.scheduler && flags.configurable == other.flags.configurable
            && timeout == other.timeout && netmask == other.netmask
            && (persistenceEngine ?? "") == (other.persistenceEngine ?? "")
    }
}

/// `IP_VS_CONN_F_FWD_MASK` values: how packets reach a real server.
public enum IPVSForwardingMethod: UInt32, Sendable, Hashable, CaseIterable {
    case nat = 0  // IP_VS_CONN_F_MASQ
    case localNode = 1  // IP_VS_CONN_F_LOCALNODE
    case tunnel = 2  // IP_VS_CONN_F_TUNNEL
    case directRouting = 3  // IP_VS_CONN_F_DROUTE

    /// keepalived's `lb_kind` word ("NAT", "DR", "TUN"); the local node has none.
    public var keepalivedName: String? {
        switch self {
        case .nat: "NAT"
        case .directRouting: "DR"
        case .tunnel: "TUN"
        case .localNode: nil
        }
    }

    /// Parses keepalived's `lb_kind` (`NAT`, `DR`, `TUN`), case-insensitively like keepalived.
    public init?(keepalivedName: String) {
        guard let method = Self.allCases.first(where: { $0.keepalivedName == keepalivedName.uppercased() }) else {
            return nil
        }
        self = method
    }

    /// ipvsadm's "Forward" column: "Masq", "Local", "Tunnel", "Route".
    public var ipvsadmName: String {
        switch self {
        case .nat: "Masq"
        case .localNode: "Local"
        case .tunnel: "Tunnel"
        case .directRouting: "Route"
        }
    }
}

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`: the encapsulation of tunnel forwarding.
public enum IPVSTunnelType: UInt8, Sendable, Hashable, CaseIterable {
    case ipip = 0  // IP_VS_CONN_F_TUNNEL_TYPE_IPIP
    case gue = 1  // IP_VS_CONN_F_TUNNEL_TYPE_GUE
    case gre = 2  // IP_VS_CONN_F_TUNNEL_TYPE_GRE
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`; the empty set is `NOCSUM`.
public struct IPVSTunnelFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noChecksum: IPVSTunnelFlags = []  // IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM
    public static let checksum = IPVSTunnelFlags(rawValue: 1 << 0)  // IP_VS_TUNNEL_ENCAP_FLAG_CSUM
    public static let remoteChecksum = IPVSTunnelFlags(rawValue: 1 << 1)  // IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM
}

/// Encapsulation settings of a tunnelled real server (`tun_type`, `tun_port`, `tun_flags`).
public struct IPVSTunnel: Hashable, Sendable {
    public var type: IPVSTunnelType
    /// The GUE destination port; 0 for IPIP and GRE.
    public var port: UInt16
    public var flags: IPVSTunnelFlags

    public init(type: IPVSTunnelType = .ipip, port: UInt16 = 0, flags: IPVSTunnelFlags = []) {
        self.type = type
        self.port = port
        self.flags = flags
    }
}

/// A real server of a virtual service: its address and port, and the settings `IPVS_CMD_SET_DEST` can change.
public struct IPVSDestination: Hashable, Sendable {
    public var address: IPAddress
    /// 0 for firewall-mark services where the real server keeps the packet's port.
    public var port: UInt16
    public var forwarding: IPVSForwardingMethod
    public var weight: UInt32
    /// `uthreshold`: stop scheduling above this many connections; 0 is no limit.
    public var upperThreshold: UInt32
    /// `lthreshold`: resume scheduling below this many.
    public var lowerThreshold: UInt32
    /// Encapsulation; sent and compared only with `.tunnel` forwarding.
    public var tunnel: IPVSTunnel
    /// Read back from the kernel only.
    public var activeConnections: UInt32 = 0
    public var inactiveConnections: UInt32 = 0
    public var persistentConnections: UInt32 = 0
    /// Read back from the kernel only, and held out of line: the table the checker holds as the kernel's has 10,000
    /// real servers for 1,000 × 10 and keeps none of their counters; inline, their 81 bytes were 0.8 MiB of its heap.
    @OutOfLine public var statistics: IPVSStatistics? = nil

    public init(
        address: IPAddress, port: UInt16, forwarding: IPVSForwardingMethod = .nat, weight: UInt32 = 1,
        upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, tunnel: IPVSTunnel = IPVSTunnel()
    ) {
        self.address = address
        self.port = port
        self.forwarding = forwarding
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnel = tunnel
    }

    public var family: IPAddress.Family { address.family }

    /// Whether the kernel reported connections to it (open, inactive or persistence templates).
    public var hasConnections: Bool { activeConnections != 0 || inactiveConnections != 0 || persistentConnections != 0 }

    /// "192.0.2.11:80", "[2001:db8::11]:80".
    public var endpoint: String { IPVSFormat.endpoint(address, port) }

    /// Whether the editable settings match (counters, statistics, and tunnel options of non-tunnel
    /// forwarding ignored).
    public func hasSameSettings(as other: IPVSDestination) -> Bool {
        address == other.address && port == other.port && forwarding == other.forwarding
            && weight == other.weight && upperThreshold == other.upperThreshold
            && lowerThreshold == other.lowerThreshold && (forwarding != .tunnel || tunnel == other.tunnel)
    }
}

/// The connection synchronisation daemon (`lvs_sync_daemon`).
public struct IPVSSyncDaemon: Hashable, Sendable {
    /// `IP_VS_STATE_*`.
    public enum State: UInt32, Sendable, Hashable, CaseIterable {
        case master = 1  // IP_VS_STATE_MASTER
        case backup = 2  // IP_VS_STATE_BACKUP
    }

    public var state: State
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`, at most 15 bytes.
    public var interface: String
    public var syncID: UInt32
    /// UDP payload size; nil leaves the kernel's default.
    public var maximumLength: UInt16?
    /// IPv4 or IPv6 multicast group; nil is the default 224.0.0.81.
    public var group: IPAddress?
    /// Base UDP port; nil is the default 8848.
    public var port: UInt16?
    public var ttl: UInt8?

    public init(
        state: State, interface: String, syncID: UInt32, maximumLength: UInt16? = nil, group: IPAddress? = nil,
        port: UInt16? = nil, ttl: UInt8? = nil
    ) {
        self.state = state
        self.interface = interface
        self.syncID = syncID
        self.maximumLength = maximumLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); 0 leaves a value as it is.
public struct IPVSTimeouts: Hashable, Sendable {
    public var tcp: UInt32
    public var tcpFin: UInt32
    public var udp: UInt32

    public init(tcp: UInt32 = 0, tcpFin: UInt32 = 0, udp: UInt32 = 0) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}

/// `IPVS_CMD_GET_INFO`: the header line of `ipvsadm -Ln`.
public struct IPVSInfo: Hashable, Sendable {
    /// `IP_VS_VERSION_CODE` layout: 0x010201 is 1.2.1.
    public var version: UInt32
    /// The connection hash table size.
    public var connectionTableSize: UInt32

    public init(version: UInt32 = IPVSGenericNetlink.versionCode, connectionTableSize: UInt32 = 4096) {
        self.version = version
        self.connectionTableSize = connectionTableSize
    }

    /// "1.2.1".
    public var versionString: String { "\(version >> 16 & 0xff).\(version >> 8 & 0xff).\(version & 0xff)" }
}

/// Text forms shared by error messages and the ipvsadm renderer.
public enum IPVSFormat {
    /// "192.0.2.1:80" or "[2001:db8::1]:80", as ipvsadm -n prints them.
    public static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.endpoint(port: Int(port))
    }
}
