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

    public init(
        address: IPAddress, prefixLength: UInt8, interface: String, label: String? = nil, scope: UInt8? = nil,
        broadcast: IPAddress? = nil, noDAD: Bool = false
    ) {
        self.address = address
        self.prefixLength = prefixLength
        self.interface = interface
        self.label = label
        self.scope = scope
        self.broadcast = broadcast
        self.noDAD = noDAD
    }

    /// "192.0.2.100/32 on eth0": the object named in error messages.
    public var description: String { "\(address)/\(prefixLength) on \(interface)" }
}

/// One of keepalived's `virtual_routes` (the subset Vigil programs): destination, gateway, source, device,
/// table, metric, scope, or a blackhole.
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
    /// `blackhole`: drop silently (`RTN_BLACKHOLE`); no gateway or device.
    public var blackhole: Bool
    /// `protocol` (`RTPROT_*`); nil means `RTPROT_KEEPALIVED` (18), keepalived's default, so `ip route show proto
    /// keepalived` lists what Vigil added.
    public var protocolNumber: UInt8?

    /// `RTPROT_KEEPALIVED` (include/uapi/linux/rtnetlink.h).
    public static let keepalivedProtocol: UInt8 = 18

    public init(
        destination: IPAddress, prefixLength: UInt8, gateway: IPAddress? = nil, source: IPAddress? = nil,
        interface: String? = nil, table: UInt32? = nil, metric: UInt32? = nil, scope: UInt8? = nil,
        blackhole: Bool = false, protocolNumber: UInt8? = nil
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.source = source
        self.interface = interface
        self.table = table
        self.metric = metric
        self.scope = scope
        self.blackhole = blackhole
        self.protocolNumber = protocolNumber
    }

    /// `ip route` style: "blackhole 192.0.2.0/24 via 198.51.100.1 dev eth0 src 192.0.2.1 table 100 metric 5".
    public var description: String {
        var text = blackhole ? "blackhole " : ""
        text += "\(destination)/\(prefixLength)"
        if let gateway { text += " via \(gateway)" }
        if let interface { text += " dev \(interface)" }
        if let source { text += " src \(source)" }
        if let table { text += " table \(table)" }
        if let metric { text += " metric \(metric)" }
        if let scope { text += " scope \(scope)" }
        if let protocolNumber { text += " proto \(protocolNumber)" }
        return text
    }
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
