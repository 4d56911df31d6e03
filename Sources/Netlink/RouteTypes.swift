import Config

/// One address on an interface, as `ip addr` shows it and as a VRRP instance's `virtual_ipaddress` entry adds it.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: UInt8
    public var interface: String
    /// `IFA_LABEL` (IPv4 only), e.g. "eth0:vip"; nil means the interface's name.
    public var label: String?
    /// `RT_SCOPE_*`; nil means universe (0).
    public var scope: UInt8?
    /// The broadcast address (IPv4 only).
    public var broadcast: IPAddress?
    /// `IFA_F_NODAD`: skip duplicate address detection (IPv6); keepalived sets it on IPv6 VIPs.
    public var noDAD: Bool
    /// `peer`: the other end of a point-to-point address (`IFA_ADDRESS`), with its prefix length.
    public var peer: IPAddress?
    public var peerPrefixLength: UInt8?
    /// `home` (`IFA_F_HOMEADDRESS`), `mngtmpaddr`, `noprefixroute`, `autojoin`: `IFA_F_*` bits besides NODAD.
    public var extraFlags: UInt32
    /// `preferred_lft` in seconds (`UInt32.max`: forever); nil leaves the kernel's default.
    public var preferredLifetime: UInt32?

    /// `IFA_F_*` (include/uapi/linux/if_addr.h).
    public static let homeAddressFlag: UInt32 = 0x10
    public static let manageTemporaryAddressFlag: UInt32 = 0x100
    public static let noPrefixRouteFlag: UInt32 = 0x200
    public static let multicastAutoJoinFlag: UInt32 = 0x400

    public init(
        address: IPAddress, prefixLength: UInt8, interface: String, label: String? = nil, scope: UInt8? = nil,
        broadcast: IPAddress? = nil, noDAD: Bool = false, peer: IPAddress? = nil, peerPrefixLength: UInt8? = nil,
        extraFlags: UInt32 = 0, preferredLifetime: UInt32? = nil
    ) {
        self.address = address
        self.prefixLength = prefixLength
        self.interface = interface
        self.label = label
        self.scope = scope
        self.broadcast = broadcast
        self.noDAD = noDAD
        self.peer = peer
        self.peerPrefixLength = peerPrefixLength
        self.extraFlags = extraFlags
        self.preferredLifetime = preferredLifetime
    }

    /// "192.0.2.100/32 on eth0": the object named in error messages.
    public var description: String { "\(address)/\(prefixLength) on \(interface)" }
}

/// A route's type (`RTN_*`), as `ip route` names them.
public enum RouteType: UInt8, Hashable, Sendable, CaseIterable {
    case unicast = 1
    case local, broadcast, anycast, multicast, blackhole, unreachable, prohibit, `throw`, nat

    /// `ip route`'s word for it ("throw", not "`throw`").
    public var name: String { self == .throw ? "throw" : "\(self)" }

    public init?(name: String) {
        guard let type = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = type
    }

    /// Types `ip route` puts in the local table by default.
    public var defaultsToLocalTable: Bool { [.local, .broadcast, .anycast, .nat].contains(self) }
}

/// One next hop of a multipath route (`nexthop via … dev … weight …`).
public struct RouteNextHopSpec: Hashable, Sendable {
    public var gateway: IPAddress?
    public var interface: String?
    /// 1–256 (`ip route`'s weight; the kernel stores weight - 1).
    public var weight: UInt16
    /// `onlink`: the gateway is on the link even when no address says so (`RTNH_F_ONLINK`).
    public var onlink: Bool

    public init(gateway: IPAddress? = nil, interface: String? = nil, weight: UInt16 = 1, onlink: Bool = false) {
        self.gateway = gateway
        self.interface = interface
        self.weight = weight
        self.onlink = onlink
    }
}

/// One of keepalived's `virtual_routes`: destination, type, gateway or next hops, source, device, table, metric,
/// scope, protocol, `RTAX_*` metrics.
public struct RouteSpec: Hashable, Sendable, CustomStringConvertible {
    public var destination: IPAddress
    public var prefixLength: UInt8
    /// `via`: the next hop.
    public var gateway: IPAddress?
    /// `src`: the preferred source address (`RTA_PREFSRC`).
    public var source: IPAddress?
    /// `dev`: the output interface.
    public var interface: String?
    /// `table`; nil means main (254).
    public var table: UInt32?
    /// `metric` / `preference` (`RTA_PRIORITY`).
    public var metric: UInt32?
    /// `RT_SCOPE_*`; nil lets the kernel rules apply (link without a gateway, universe with one).
    public var scope: UInt8?
    /// `RTN_*`: unicast unless `blackhole`, `unreachable`, `prohibit`, `throw`, `local`, … was given.
    public var type: RouteType
    /// `protocol` (`RTPROT_*`); nil means `RTPROT_KEEPALIVED` (18), keepalived's default, so `ip route show proto
    /// keepalived` lists what Vigil added.
    public var protocolNumber: UInt8?
    /// `onlink` on the single next hop.
    public var onlink: Bool
    /// `nexthop …` groups: a multipath route (then `gateway` and `interface` are unused).
    public var nextHops: [RouteNextHopSpec]
    /// `RTAX_*` metrics (`mtu`, `advmss`, …) by number, and which are locked (`RTAX_LOCK`).
    public var metrics: [Int32: UInt32]
    public var lockedMetrics: Set<Int32>
    /// `tos`.
    public var tos: UInt8?
    /// `ttl-propagate` (MPLS).
    public var ttlPropagate: Bool?
    /// `realms` (`RTA_FLOW`, IPv4): the source realm in the high 16 bits, the destination realm in the low ones.
    public var realms: UInt32?
    /// `expires` in seconds (`RTA_EXPIRES`, IPv6).
    public var expires: UInt32?
    /// `congctl` (`RTAX_CC_ALGO`), and whether it is locked.
    public var congestionControl: String?
    public var congestionControlLocked = false
    /// `pref` (`RTA_PREF`, IPv6): the router preference, `ICMPV6_ROUTER_PREF_*` (low 3, medium 0, high 1).
    public var routerPreference: UInt8?
    /// How the kernel takes a route to a prefix it routes already.
    public var creation: RouteCreation = .add
    /// `encap`: the lightweight tunnel (`RTA_ENCAP_TYPE`, `RTA_ENCAP`).
    public var encap: RouteEncap?
    /// `vrf`: the VRF device whose table the route goes in (looked up when the route is sent; `table` is unused).
    public var vrf: String?

    /// `blackhole`: drop silently (`RTN_BLACKHOLE`); no gateway or device.
    public var blackhole: Bool { type == .blackhole }

    /// `RTPROT_KEEPALIVED` (include/uapi/linux/rtnetlink.h).
    public static let keepalivedProtocol: UInt8 = 18

    public init(
        destination: IPAddress, prefixLength: UInt8, gateway: IPAddress? = nil, source: IPAddress? = nil,
        interface: String? = nil, table: UInt32? = nil, metric: UInt32? = nil, scope: UInt8? = nil,
        blackhole: Bool = false, protocolNumber: UInt8? = nil, type: RouteType? = nil, onlink: Bool = false,
        nextHops: [RouteNextHopSpec] = [], metrics: [Int32: UInt32] = [:], lockedMetrics: Set<Int32> = [],
        tos: UInt8? = nil, ttlPropagate: Bool? = nil
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.source = source
        self.interface = interface
        self.table = table
        self.metric = metric
        self.scope = scope
        self.type = type ?? (blackhole ? .blackhole : .unicast)
        self.protocolNumber = protocolNumber
        self.onlink = onlink
        self.nextHops = nextHops
        self.metrics = metrics
        self.lockedMetrics = lockedMetrics
        self.tos = tos
        self.ttlPropagate = ttlPropagate
    }

    /// `RTAX_*` by `ip route`'s metric names, and the factor from `ip route`'s unit to the kernel's
    /// (rtt is stored in 1/8 ms, rttvar in 1/4 ms).
    public static let metricNumbers: [String: (number: Int32, factor: UInt32)] = [
        "mtu": (2, 1), "window": (3, 1), "rtt": (4, 8), "rttvar": (5, 4), "ssthresh": (6, 1), "cwnd": (7, 1),
        "advmss": (8, 1), "reordering": (9, 1), "hoplimit": (10, 1), "initcwnd": (11, 1), "features": (12, 1),
        "rto_min": (13, 1), "initrwnd": (14, 1), "quickack": (15, 1), "fastopen_no_cookie": (17, 1),
    ]

    /// `ip route` style: "blackhole 192.0.2.0/24 via 198.51.100.1 dev eth0 src 192.0.2.1 table 100 metric 5".
    public var description: String {
        var text = type == .unicast ? "" : "\(type.name) "
        text += "\(destination)/\(prefixLength)"
        if let gateway { text += " via \(gateway)" }
        if let interface { text += " dev \(interface)" }
        if onlink { text += " onlink" }
        for hop in nextHops {
            text += " nexthop"
            if let gateway = hop.gateway { text += " via \(gateway)" }
            if let interface = hop.interface { text += " dev \(interface)" }
            text += " weight \(hop.weight)\(hop.onlink ? " onlink" : "")"
        }
        if let source { text += " src \(source)" }
        if let table { text += " table \(table)" }
        if let vrf { text += " vrf \(vrf)" }
        if let metric { text += " metric \(metric)" }
        if let scope { text += " scope \(scope)" }
        if let protocolNumber { text += " proto \(protocolNumber)" }
        if let realms { text += " realms \(realms >> 16)/\(realms & 0xffff)" }
        if let expires { text += " expires \(expires)" }
        if let congestionControl { text += " congctl \(congestionControlLocked ? "lock " : "")\(congestionControl)" }
        if let routerPreference { text += " pref \(routerPreference)" }
        if let encap { text += " encap \(encap.kind.rawValue)" }
        return text
    }
}

/// keepalived's `add` / `prepend` / `append` on a route line: the `RTM_NEWROUTE` flags besides `NLM_F_CREATE`.
public enum RouteCreation: Sendable, Hashable {
    /// `NLM_F_EXCL`: a route to the same prefix, metric and TOS is an error (`ip route add`); Vigil's default.
    case add
    /// No flag: the route goes before one to the same prefix (`ip route prepend`).
    case prepend
    /// `NLM_F_APPEND`: after it (`ip route append`); an IPv6 route joins it as another next hop.
    case append
}

/// A link's state after an `RTM_NEWLINK` / `RTM_DELLINK` notification.
public struct LinkEvent: Hashable, Sendable {
    public var name: String
    public var index: Int32
    /// `IFF_UP` and `IFF_RUNNING` (administratively up with carrier); false for a deleted link.
    public var isUp: Bool
    /// `RTM_DELLINK`: the link is gone.
    public var isDeleted: Bool

    public init(name: String, index: Int32, isUp: Bool, isDeleted: Bool = false) {
        self.name = name
        self.index = index
        self.isUp = isUp
        self.isDeleted = isDeleted
    }
}

/// One of keepalived's `virtual_rules` / `static_rules`, as `ip rule` takes it.
public struct RuleSpec: Hashable, Sendable, CustomStringConvertible {
    public var family: IPAddress.Family
    public var source: IPAddress?
    public var sourcePrefixLength: UInt8
    public var destination: IPAddress?
    public var destinationPrefixLength: UInt8
    /// `table` / `lookup` (nil: main, unless another action is given).
    public var table: UInt32?
    /// `preference` / `priority` / `order`; nil lets the kernel choose.
    public var preference: UInt32?
    /// `fwmark VALUE[/MASK]`.
    public var firewallMark: UInt32?
    public var firewallMask: UInt32?
    /// `tos` / `dsfield`.
    public var tos: UInt8?
    /// `iif`, `oif`.
    public var inputInterface: String?
    public var outputInterface: String?
    /// `FR_ACT_*`: 1 to table (default), 2 goto, 3 nop, 6 blackhole, 7 unreachable, 8 prohibit.
    public var action: UInt8
    /// `goto N`.
    public var gotoTarget: UInt32?
    public var l3mdev: Bool
    /// `protocol`, `ipproto`.
    public var protocolNumber: UInt8?
    public var ipProtocol: UInt8?
    /// `sport` / `dport` ranges.
    public var sourcePorts: ClosedRange<UInt16>?
    public var destinationPorts: ClosedRange<UInt16>?
    /// `not` (`FIB_RULE_INVERT`).
    public var invert = false
    /// `suppress_prefixlength` (`FRA_SUPPRESS_PREFIXLEN`), `suppress_ifgroup` (`FRA_SUPPRESS_IFGROUP`).
    public var suppressPrefixLength: Int32?
    public var suppressInterfaceGroup: UInt32?
    /// `uidrange` (`FRA_UID_RANGE`).
    public var uidRange: ClosedRange<UInt32>?
    /// `tunnel-id` (`FRA_TUN_ID`, big-endian on the wire).
    public var tunnelID: UInt64?
    /// `realms` (`FRA_FLOW`): the source realm in the high 16 bits.
    public var realms: UInt32?

    public init(
        family: IPAddress.Family, source: IPAddress? = nil, sourcePrefixLength: UInt8 = 0,
        destination: IPAddress? = nil,
        destinationPrefixLength: UInt8 = 0, table: UInt32? = nil, preference: UInt32? = nil,
        firewallMark: UInt32? = nil, firewallMask: UInt32? = nil, tos: UInt8? = nil, inputInterface: String? = nil,
        outputInterface: String? = nil, action: UInt8 = 1, gotoTarget: UInt32? = nil, l3mdev: Bool = false,
        protocolNumber: UInt8? = nil, ipProtocol: UInt8? = nil, sourcePorts: ClosedRange<UInt16>? = nil,
        destinationPorts: ClosedRange<UInt16>? = nil
    ) {
        self.family = family
        self.source = source
        self.sourcePrefixLength = sourcePrefixLength
        self.destination = destination
        self.destinationPrefixLength = destinationPrefixLength
        self.table = table
        self.preference = preference
        self.firewallMark = firewallMark
        self.firewallMask = firewallMask
        self.tos = tos
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
        self.action = action
        self.gotoTarget = gotoTarget
        self.l3mdev = l3mdev
        self.protocolNumber = protocolNumber
        self.ipProtocol = ipProtocol
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
    }

    /// `ip rule` style: "from 192.0.2.0/24 lookup 100 pref 100".
    public var description: String {
        var parts: [String] = [family == .ipv6 ? "inet6" : "", invert ? "not" : ""]
        parts.append("from " + (source.map { "\($0)/\(sourcePrefixLength)" } ?? "all"))
        if let destination { parts.append("to \(destination)/\(destinationPrefixLength)") }
        if let firewallMark { parts.append("fwmark \(firewallMark)" + (firewallMask.map { "/\($0)" } ?? "")) }
        if let inputInterface { parts.append("iif \(inputInterface)") }
        if let outputInterface { parts.append("oif \(outputInterface)") }
        if let table { parts.append("lookup \(table)") }
        if let gotoTarget { parts.append("goto \(gotoTarget)") }
        if let preference { parts.append("pref \(preference)") }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }
}
