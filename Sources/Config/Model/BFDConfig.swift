/// The BFD part of a configuration: every `bfd_instance`, in file order.
public struct BFDConfig: Sendable, Hashable, Codable {
    /// `bfd_instance NAME { }`.
    public var instances: [BFDInstance] = []

    public init(instances: [BFDInstance] = []) {
        self.instances = instances
    }

    public func instance(named name: String) -> BFDInstance? { instances.first { $0.name == name } }
}

/// `bfd_instance NAME { }`: one BFD session (RFC 5880, asynchronous mode) with a neighbour.
public struct BFDInstance: Sendable, Hashable, Codable {
    /// keepalived's limit: names are at most 31 bytes (BFD_INAME_MAX 32, with the NUL).
    public static let maximumNameLength = 31
    /// keepalived's defaults: `min_rx` and `min_tx` 10 ms, `idle_tx` 1 s, `multiplier` 5.
    public static let defaultMinRx = Duration.milliseconds(10)
    public static let defaultMinTx = Duration.milliseconds(10)
    public static let defaultIdleTx = Duration.seconds(1)
    public static let defaultMultiplier = 5

    public var name: String
    /// `neighbor_ip` (or `neighbour_ip`); `nil` when missing, which is an error.
    public var neighborIP: IPAddress?
    /// `source_ip`: the local address the session's packets leave from (and the one the neighbour's must reach).
    public var sourceIP: IPAddress?
    /// `min_rx`: Required Min RX Interval, the fastest this side accepts packets (RFC 5880 §6.8.1).
    public var minRx = defaultMinRx
    /// `min_tx`: Desired Min TX Interval while the session is Up.
    public var minTx = defaultMinTx
    /// `idle_tx`: Desired Min TX Interval while it is not Up (RFC 5880 §6.8.3: at least one second).
    public var idleTx = defaultIdleTx
    /// `multiplier`: Detect Mult, packets missed before the neighbour declares this side down.
    public var multiplier = defaultMultiplier
    /// `passive`: send nothing until the neighbour has spoken (RFC 5880 §6.1).
    public var passive = false
    /// `ttl` / `hoplimit`: the TTL (hop limit) of the packets sent; `nil` is 255 (RFC 5881 §5).
    public var ttl: Int?
    /// `max_hops`: how far below the expected TTL a received packet's may be (keepalived: 0 by default; 255 turns
    /// the check off). A session with `max_hops` above 0 is a multihop session (RFC 5883, UDP port 4784).
    public var maxHops = 0
    /// `weight N [reverse]`: the default weight of the `track_bfd`s naming this instance.
    public var weight = 0
    public var reverse = false
    /// `vrrp` / `checker`: which processes hear of this session's state; both unless one is named.
    public var notifiesVRRP = true
    public var notifiesChecker = true
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// keepalived's receive check: a packet's TTL must be at least this (`ttl` − `max_hops`; keepalived's
    /// default `ttl` is 255 for IPv4 and 64 for IPv6), or nil when `max_hops` is 255 (no check).
    public var minimumReceivedTTL: Int? {
        guard maxHops < 255 else { return nil }
        let expected = ttl ?? (neighborIP?.family == .ipv6 ? 64 : 255)
        return max(0, expected - maxHops)
    }

    /// The TTL or hop limit sent: `ttl`, else 255 for both families (RFC 5881 §5).
    public var sentTTL: Int { ttl ?? 255 }

    /// RFC 5883: a session allowed to cross routers (`max_hops` above 0) runs on the multihop port.
    public var isMultihop: Bool { maxHops > 0 }
}

/// `BFD_CHECK { name NAME }`: a real server is up while the named `bfd_instance` is Up.
public struct BFDCheck: Sendable, Hashable, Codable {
    /// `name`: the `bfd_instance`.
    public var name: String

    public init(name: String) {
        self.name = name
    }
}
