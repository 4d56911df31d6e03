/// `virtual_server_group NAME { }`: addresses, address ranges and firewall marks that share one set
/// of real servers, so one health checker serves them all.
public struct VirtualServerGroup: Sendable, Hashable, Codable {
    public var name: String
    public var entries: [VirtualServerGroupEntry] = []
    @NotCompared public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// The address families of the group's address entries (firewall marks have none of their own
    /// unless `inet`/`inet6` follows them).
    public var addressFamilies: Set<IPAddress.Family> {
        Set(entries.compactMap(\.family))
    }
}

/// One line of a `virtual_server_group`.
public struct VirtualServerGroupEntry: Sendable, Hashable, Codable {
    public enum Target: Sendable, Hashable, Codable {
        /// `ADDR [PORT]` or `ADDR-RANGE [PORT]`: every address from `first` to `last` inclusive;
        /// port 0 (or none) means every port of a persistent service.
        case addresses(first: IPAddress, last: IPAddress, port: Int)
        /// `fwmark N [inet|inet6]`.
        case fwmark(UInt32, family: IPAddress.Family?)
    }

    public var target: Target
    @NotCompared public var location: SourceLocation

    public init(_ target: Target, location: SourceLocation) {
        self.target = target
        self.location = location
    }

    public var family: IPAddress.Family? {
        switch target {
        case .addresses(let first, _, _): first.family
        case .fwmark(_, let family): family
        }
    }
}

/// What a `virtual_server` line names: `ADDR [PORT]`, `fwmark N` or `group NAME`.
extension VirtualServer {
    /// How messages name it: `192.0.2.10:80 TCP`, `[2001:db8::1]:443 TCP`, `fwmark 7`, `group web TCP`.
    public var displayName: String {
        switch address {
        case .endpoint(let ip, let port):
            "\(ip.endpoint(port: port)) \(`protocol`.rawValue)"
        case .fwmark(let mark): "fwmark \(mark)"
        case .group(let name): "group \(name) \(`protocol`.rawValue)"
        }
    }
}

public enum VirtualServerAddress: Sendable, Hashable, Codable {
    /// Port 0 (also written by leaving the port out) is an all-ports service, which must be
    /// persistent.
    case endpoint(IPAddress, port: Int)
    case fwmark(UInt32)
    case group(String)
}

/// `protocol TCP|UDP|SCTP`.
public enum IPVSProtocol: String, Sendable, Hashable, Codable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

/// `lb_algo`/`lvs_sched`: the kernel's IPVS scheduler names.
public enum IPVSScheduler: String, Sendable, Hashable, Codable, CaseIterable {
    case roundRobin = "rr"
    case weightedRoundRobin = "wrr"
    case leastConnection = "lc"
    case weightedLeastConnection = "wlc"
    case localityBasedLeastConnection = "lblc"
    case localityBasedLeastConnectionWithReplication = "lblcr"
    case destinationHashing = "dh"
    case sourceHashing = "sh"
    case shortestExpectedDelay = "sed"
    case neverQueue = "nq"
    case maglevHashing = "mh"
    case weightedFailover = "fo"
    case weightedOverflow = "ovf"
    /// Weighted random twos choice, Linux 6.2 and later: whether the kernel has it is found out
    /// when the service is added.
    case randomTwos = "twos"
}

/// The IPVS service flags (`ipvsadm -b …`, `-o`), with the kernel's bit values.
public struct IPVSServiceFlags: OptionSet, Sendable, Hashable, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `hashed` (`IP_VS_SVC_F_HASHED`).
    public static let hashed = IPVSServiceFlags(rawValue: 0x0002)
    /// `ops`: one-packet scheduling, for UDP (`IP_VS_SVC_F_ONEPACKET`).
    public static let onePacket = IPVSServiceFlags(rawValue: 0x0004)
    /// `flag-1`; `sh-fallback` and `mh-fallback` set the same bit.
    public static let scheduler1 = IPVSServiceFlags(rawValue: 0x0008)
    /// `flag-2`; `sh-port` and `mh-port` set the same bit.
    public static let scheduler2 = IPVSServiceFlags(rawValue: 0x0010)
    /// `flag-3`.
    public static let scheduler3 = IPVSServiceFlags(rawValue: 0x0020)
}

/// `lvs_method`/`lb_kind`: how IPVS forwards to a real server.
public enum ForwardingMethod: Sendable, Hashable, Codable {
    /// `NAT` (masquerading), keepalived's default.
    case nat
    /// `DR`: direct routing.
    case directRouting
    /// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    case tunnel(TunnelOptions)

    /// Whether real servers of another address family than the virtual server's may be used.
    public var isTunnel: Bool {
        if case .tunnel = self { return true }
        return false
    }
}

/// The encapsulation of `lvs_method TUN`.
public struct TunnelOptions: Sendable, Hashable, Codable {
    public enum Encapsulation: Sendable, Hashable, Codable {
        case ipip
        /// Generic UDP encapsulation (Linux 5.2+) to this UDP port.
        case gue(port: Int)
        /// GRE (Linux 5.3+).
        case gre
    }

    /// `nocsum`, `csum` and `remcsum` (the last for GUE only).
    public enum Checksum: String, Sendable, Hashable, Codable, CaseIterable {
        case noChecksum = "nocsum"
        case checksum = "csum"
        case remoteChecksum = "remcsum"
    }

    public var encapsulation: Encapsulation = .ipip
    public var checksum: Checksum?

    public init(encapsulation: Encapsulation = .ipip, checksum: Checksum? = nil) {
        self.encapsulation = encapsulation
        self.checksum = checksum
    }
}

/// The check settings a virtual server hands down to its real servers and a real server to its
/// checkers, as written; `nil` means "inherit". `Checker.timing` holds the resolved values.
public struct CheckDefaults: Sendable, Hashable, Codable, OutOfLineStorable {
    public static var absent: CheckDefaults { CheckDefaults() }

    public var connectTimeout: Duration?
    public var retry: Int?
    public var delayBeforeRetry: Duration?
    public var warmup: Duration?
    public var delayLoop: Duration?
    public var alpha: Bool?

    public init() {}
}

/// `virtual_server ADDR [PORT] | fwmark N | group NAME { }`.
public struct VirtualServer: Sendable, Hashable, Codable {
    /// keepalived's persistence timeout for `persistence_timeout` without a value: 6 minutes.
    public static let defaultPersistenceTimeout = 360
    /// keepalived's longest persistence timeout: 31 days.
    public static let maximumPersistenceTimeout = 31 * 86400

    public var address: VirtualServerAddress
    /// `protocol`; TCP when not given.
    public var `protocol`: IPVSProtocol = .tcp
    /// `ip_family inet|inet6`: needed only for fwmark services whose real servers are all tunnelled.
    public var ipFamily: IPAddress.Family?
    /// `lb_algo`/`lvs_sched`; keepalived's default is `wlc`.
    public var scheduler: IPVSScheduler = .weightedLeastConnection
    /// `hashed`, `ops`, `flag-1..3`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`.
    public var flags: IPVSServiceFlags = []
    /// `lb_kind`/`lvs_method`: the default for real and sorry servers; NAT when not given.
    public var forwarding: ForwardingMethod = .nat
    /// `persistence_timeout` in seconds; `nil` or 0 means not persistent (Vigil accepts 0, which
    /// keepalived 2.2.7 rejects). `persistence_granularity` alone implies the 360 s default.
    public var persistenceTimeout: Int?
    /// `persistence_granularity`, as a prefix length (an IPv4 netmask is converted).
    public var persistenceGranularity: Int?
    /// `persistence_engine` (the kernel has `sip`).
    public var persistenceEngine: String?
    /// `ha_suspend`: stop checking while the virtual address is not configured here.
    public var haSuspend = false
    /// `smtp_alert`; `nil` follows `global_defs`.
    public var smtpAlert: Bool?
    /// `virtualhost`: the default `Host:` of HTTP_GET/SSL_GET checkers.
    public var virtualhost: String?
    /// `omega`: run quorum and real-server down notifiers at shutdown.
    public var omega = false
    /// `quorum`: the live weight below which the service is degraded; default 1.
    public var quorum = 1
    /// `hysteresis`: weight units of slack around `quorum`; default 0.
    public var hysteresis = 0
    public var quorumUp: ScriptCommand?
    public var quorumDown: ScriptCommand?
    /// `inhibit_on_failure`: the default for real servers (weight 0 instead of removal).
    public var inhibitOnFailure = false
    /// `connect_timeout`, `retry`, `delay_before_retry`, `warmup`, `delay_loop` and `alpha` (real
    /// servers start down until a check succeeds) as written here.
    /// Vigil's `announce_up N|N%` and `announce_down N|N%`: the virtual server's address is announced (a host route
    /// in `announce_table`) once at least `announceUp` of its real servers are up, and withdrawn once fewer than
    /// `announceDown` are; in between it stays as it was. Either set alone sets both; nil: not announced.
    public var announceUp: AnnounceThreshold?
    public var announceDown: AnnounceThreshold?
    public var checkDefaults = CheckDefaults()
    public var sorryServer: SorryServer?
    public var realServers: [RealServer] = []
    @NotCompared public var location: SourceLocation

    public init(address: VirtualServerAddress, location: SourceLocation) {
        self.address = address
        self.location = location
    }

    /// Whether connections stick to one real server (`persistence_timeout` above 0).
    public var isPersistent: Bool { (persistenceTimeout ?? 0) > 0 }

    /// The forwarding method a real server uses: its own or the virtual server's.
    public func forwarding(of realServer: RealServer) -> ForwardingMethod {
        realServer.forwarding ?? forwarding
    }

    /// Whether a failing real server is kept with weight 0 rather than removed.
    public func inhibitsOnFailure(_ realServer: RealServer) -> Bool {
        realServer.inhibitOnFailure ?? inhibitOnFailure
    }
}

/// `sorry_server ADDR [PORT]`, with `sorry_server_inhibit` and `sorry_server_lvs_method`: the
/// server put in when the quorum is lost.
public struct SorryServer: Sendable, Hashable, Codable {
    public var address: IPAddress
    /// `nil` when left out (the virtual server's port is used).
    public var port: Int?
    public var inhibit = false
    /// `nil` follows the virtual server's `lvs_method`.
    public var forwarding: ForwardingMethod?
    @NotCompared public var location: SourceLocation

    public init(address: IPAddress, port: Int?, location: SourceLocation) {
        self.address = address
        self.port = port
        self.location = location
    }
}

/// `real_server ADDR [PORT] { }`.
///
/// The watchdog and the checker worker each hold one per real server (10,000 for a farm of 1,000 × 10): settings
/// are stored as narrow as their ranges allow, declared widest first (a struct is laid out in declaration order), and
/// a single checker is held inline (`Checkers`): 184 bytes where a real server took 176 and an array of 128 for its
/// checker.
public struct RealServer: Sendable, Hashable, Codable {
    /// keepalived's (and ipvsadm's) largest weight.
    public static let maximumWeight = 65535

    public var address: IPAddress
    @OutOfLine public var notifyUp: ScriptCommand?
    @OutOfLine public var notifyDown: ScriptCommand?
    /// `connect_timeout`, `retry`, `delay_before_retry`, `warmup`, `delay_loop`, `alpha` as written.
    @OutOfLine public var checkDefaults = CheckDefaults()
    /// `virtualhost`: the default `Host:` of this server's HTTP_GET/SSL_GET checkers.
    @OutOfLine public var virtualhost: String?
    public var checkers: Checkers = []
    @NotCompared public var location: SourceLocation
    /// `weight`, 0 to `maximumWeight`; default 1.
    @StoredAs<Int32> public var weight = 1
    /// `uthreshold`: the most connections IPVS sends; 0 is no limit (0 to 2^32 - 1, as IPVS takes it).
    @StoredAs<UInt32> public var upperThreshold = 0
    /// `lthreshold`: the connection count under which the server takes connections again.
    @StoredAs<UInt32> public var lowerThreshold = 0
    /// `nil` when left out: fwmark services, or the virtual server's port.
    @StoredAsOptional<UInt16> public var port: Int?
    /// Vigil extension `rise N` (1 to 65535): consecutive successful checks before a down server is up again; `nil`
    /// is keepalived's behaviour (one).
    @StoredAsOptional<UInt16> public var rise: Int?
    /// Vigil extension `fall N` (1 to 65535): consecutive failed checks before an up server is down; `nil` is
    /// keepalived's behaviour (each checker's `retry` + 1 attempts).
    @StoredAsOptional<UInt16> public var fall: Int?
    /// `lvs_method`; `nil` follows the virtual server.
    public var forwarding: ForwardingMethod?
    /// `inhibit_on_failure`; `nil` follows the virtual server.
    public var inhibitOnFailure: Bool?
    /// `smtp_alert`; `nil` follows `global_defs`.
    public var smtpAlert: Bool?

    public init(address: IPAddress, port: Int?, location: SourceLocation) {
        self.address = address
        self.port = port
        self.location = location
    }
}

extension RealServer {
    /// `ADDRESS PORT` as keepalived.conf writes a real server (`ADDRESS` for a port-less fwmark real server):
    /// how reports, dumps and reload diffs name it.
    public var configName: String { "\(address)" + (port.map { " \($0)" } ?? "") }
}

/// A number of real servers, or a share of them (`announce_up 60%`).
public enum AnnounceThreshold: Sendable, Hashable, Codable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    /// The number of real servers out of `total` this threshold asks for (a share rounds up: 50% of 3 is 2).
    public func count(of total: Int) -> Int {
        switch self {
        case .count(let count): count
        case .percent(let percent): (percent * total + 99) / 100
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): "\(percent)%"
        }
    }
}
