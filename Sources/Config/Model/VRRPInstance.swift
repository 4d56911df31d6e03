/// `vrrp_instance NAME { }`: one virtual router (RFC 5798 §1 / RFC 3768 §1) on one interface.
///
/// Settings that default to a `global_defs` value are optional here; the `effective…` accessors
/// resolve them.
public struct VRRPInstance: Sendable, Hashable, Codable {
    /// The state an instance starts in.
    public enum InitialState: String, Sendable, Hashable, Codable {
        case master = "MASTER"
        case backup = "BACKUP"
    }

    public var name: String
    public var location: SourceLocation

    // MARK: Protocol

    /// `state` (default BACKUP; unknown states fall back to BACKUP as keepalived does).
    public var initialState: InitialState = .backup
    /// `interface`; may be omitted with unicast peers.
    public var interface: String?
    /// `virtual_router_id` (1–255).
    public var virtualRouterID = 0
    /// `priority` (1–255, 255 = address owner; default 100 as RFC 5798 §5.2.4 suggests).
    public var priority = 100
    /// `advert_int` (default 1 s, RFC 5798 §5.2.7). VRRPv2 uses whole seconds, VRRPv3 centiseconds.
    public var advertInterval: Duration = .seconds(1)
    /// `version`; `nil` means the global `vrrp_version` (IPv6 instances always use 3).
    public var version: Int?
    /// `authentication { }` (VRRPv2 only; RFC 3768 §5.3.6 removed it).
    public var authentication: Authentication?
    /// `nopreempt` (`preempt` clears it).
    public var nopreempt = false
    /// `preempt_delay` (0–1000 s).
    public var preemptDelay: Duration = .zero
    /// `accept` / `no_accept` (RFC 5798 §6.1 Accept_Mode); `nil` means accept unless strict.
    public var accept: Bool?
    /// `down_timer_adverts` (1–100); `nil` means the global value (3).
    public var downTimerAdverts: Int?
    /// `strict_mode [<BOOL>]`; `nil` means the global `vrrp_strict`.
    public var strictMode: Bool?
    /// `skip_check_adv_addr [<BOOL>]`; `nil` means the global value.
    public var skipCheckAdvAddr: Bool?
    /// `lower_prio_no_advert [<BOOL>]`; `nil` means the global value.
    public var lowerPrioNoAdvert: Bool?
    /// `higher_prio_send_advert [<BOOL>]`; `nil` means the global value.
    public var higherPrioSendAdvert: Bool?

    // MARK: Addresses

    /// `virtual_ipaddress { }`: advertised, all of one family.
    public var virtualAddresses: [VirtualAddress] = []
    /// `virtual_ipaddress_excluded { }`: moved but not advertised, any family.
    public var excludedVirtualAddresses: [VirtualAddress] = []
    /// `virtual_routes { }`.
    public var virtualRoutes: [VirtualRoute] = []
    /// `virtual_rules { }`.
    public var virtualRules: [VirtualRule] = []
    /// `promote_secondaries`.
    public var promoteSecondaries = false
    /// `mcast_src_ip`.
    public var multicastSourceIP: IPAddress?
    /// `unicast_src_ip`.
    public var unicastSourceIP: IPAddress?
    /// `mcast_dst_ip`; `nil` means the global group.
    public var multicastDestinationIP: IPAddress?
    /// `track_src_ip`.
    public var trackSourceIP = false
    /// `unicast_peer { }`: when non-empty, adverts go to these instead of the multicast group.
    public var unicastPeers: [UnicastPeer] = []
    /// `unicast_ttl` (0–255).
    public var unicastTTL: Int?
    /// `unicast_fault_no_peer`.
    public var unicastFaultNoPeer = false
    /// `old_unicast_checksum [never]`: how the VRRPv3 IPv4 unicast checksum is computed.
    public var oldUnicastChecksum = OldUnicastChecksum.detect
    /// `check_unicast_src`; `nil` means the global value.
    public var checkUnicastSource: Bool?
    /// `use_vmac [NAME] [MAC]`.
    public var useVMAC: VirtualMAC?
    /// `use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]`.
    public var useIPVLAN: IPVLAN?
    /// `vrf NAME`: a unicast instance without `interface` sends and receives through this VRF device.
    public var vrf: String?
    /// `use_vmac_addr`.
    public var useVMACAddr = false
    /// `vmac_xmit_base`.
    public var vmacXmitBase = false
    /// `native_ipv6`: the instance is IPv6 (VRRPv3) even without an IPv6 virtual address.
    public var nativeIPv6 = false
    /// `dont_track_primary`.
    public var dontTrackPrimary = false
    /// `kernel_rx_buf_size`.
    public var kernelRxBufSize: Int?
    /// `linkbeat_use_polling` (deprecated here).
    public var linkbeatUsePolling = false

    // MARK: Tracking

    public var trackInterfaces: [TrackedInterface] = []
    public var trackScripts: [TrackReference] = []
    public var trackFiles: [TrackReference] = []
    /// `track_process { NAME [weight N [reverse]] }`.
    public var trackProcesses: [TrackReference] = []
    /// `track_bfd { NAME [weight N [reverse]] }`.
    public var trackBFDs: [TrackReference] = []

    // MARK: Gratuitous ARP (nil: the global vrrp_garp_… value)

    public var garpMasterDelay: Duration?
    public var garpMasterRepeat: Int?
    public var garpLowerPrioDelay: Duration?
    public var garpLowerPrioRepeat: Int?
    public var garpMasterRefresh: Duration?
    public var garpMasterRefreshRepeat: Int?
    /// `garp_extra_if [all] SECONDS` (or the deprecated `vmac_garp_intvl`); `nil` means the global setting.
    public var garpExtraIf: GARPExtraInterfaces?

    // MARK: Notification

    public var notify = NotifyScripts()
    /// `notify_priority_changes <BOOL>`; `nil` means the global value.
    public var notifyPriorityChanges: Bool?
    /// `smtp_alert <BOOL>`; `nil` means the global default.
    public var smtpAlert: Bool?
    /// `debug` (0–4; keepalived does nothing with it).
    public var debug: Int?

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// IPv6 with `native_ipv6`, else the family of the advertised addresses (else of the source address, else IPv4).
    public var family: IPAddress.Family {
        if nativeIPv6 { return .ipv6 }
        return virtualAddresses.first?.prefix.address.family ?? (unicastSourceIP ?? multicastSourceIP)?.family
            ?? unicastPeers.first?.address.family ?? .ipv4
    }

    /// Whether adverts are sent unicast.
    public var isUnicast: Bool { !unicastPeers.isEmpty }

    /// The VRRP version: the instance's, else the global one; IPv6 always uses VRRPv3 (RFC 5798).
    public func effectiveVersion(_ globals: GlobalDefs) -> Int {
        family == .ipv6 ? 3 : (version ?? globals.vrrpVersion)
    }
}

/// `authentication { auth_type PASS|AH  auth_pass SECRET }` (RFC 2338 §5.3.6).
public struct Authentication: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case pass = "PASS"
        case ah = "AH"
    }

    public var type: Kind
    /// At most 8 characters, as sent in a VRRPv2 advert.
    public var password: String

    public init(type: Kind, password: String) {
        self.type = type
        self.password = password
    }
}

/// `use_vmac [NAME] [MAC]`: a macvlan carrying the virtual router MAC (RFC 5798 §7.3).
public struct VirtualMAC: Sendable, Hashable, Codable {
    /// `nil` means `vrrp.VRID`.
    public var interfaceName: String?
    /// A MAC (5 octets take the VRID as the sixth); `nil` means 00-00-5E-00-01-VRID.
    public var address: String?

    public init(interfaceName: String? = nil, address: String? = nil) {
        self.interfaceName = interfaceName
        self.address = address
    }
}

/// `use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]`: an ipvlan in L2 mode over the instance's
/// interface, sharing its MAC, carrying the virtual addresses and sending the adverts (keepalived's ipvlan).
public struct IPVLAN: Sendable, Hashable, Codable {
    /// `IFLA_IPVLAN_FLAGS`: how the ipvlans of one parent reach each other (`ip -d link` shows the same words).
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// Slaves of one parent talk to each other directly (the kernel's default, flags 0).
        case bridge
        /// Slaves of one parent cannot talk to each other (`IPVLAN_F_PRIVATE`).
        case `private`
        /// Traffic between slaves goes out through the parent's switch (`IPVLAN_F_VEPA`).
        case vepa
    }

    /// `nil` means a generated name, `vrrp.VRID` (as keepalived names VMACs).
    public var interfaceName: String?
    /// The address put on the ipvlan; adverts use it as their source unless `mcast_src_ip` / `unicast_src_ip`
    /// say otherwise. IPv4 instances need one (keepalived).
    public var address: IPPrefix?
    public var mode: Mode

    public init(interfaceName: String? = nil, address: IPPrefix? = nil, mode: Mode = .bridge) {
        self.interfaceName = interfaceName
        self.address = address
        self.mode = mode
    }
}

/// A line of `unicast_peer { }`: `ADDR [min_ttl N] [max_ttl N]`.
public struct UnicastPeer: Sendable, Hashable, Codable {
    public var address: IPAddress
    public var minTTL: Int?
    public var maxTTL: Int?
    public var location: SourceLocation

    public init(address: IPAddress, minTTL: Int? = nil, maxTTL: Int? = nil, location: SourceLocation) {
        self.address = address
        self.minTTL = minTTL
        self.maxTTL = maxTTL
        self.location = location
    }
}

/// A line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`, with the options
/// of `ip address add`.
public struct VirtualAddress: Sendable, Hashable, Codable {
    /// `brd ADDR|+|-`.
    public enum Broadcast: Sendable, Hashable, Codable {
        case address(IPAddress)
        /// `+`: host bits set.
        case setHostBits
        /// `-`: host bits cleared.
        case clearHostBits
    }

    public var prefix: IPPrefix
    public var broadcast: Broadcast?
    /// `dev`; `nil` means the instance's interface (or `default_interface` for static addresses).
    public var device: String?
    /// `scope` (site|link|host|nowhere|global or a number).
    public var scope: String?
    public var label: String?
    public var peer: IPPrefix?
    public var home = false
    /// `-nodad`.
    public var noDAD = false
    public var mngTmpAddr = false
    public var noPrefixRoute = false
    public var autoJoin = false
    /// `no_track`: losing the address does not take the instance out of MASTER.
    public var noTrack = false
    /// `use_vmac [NAME]`: put the address on a VMAC.
    public var useVMAC = false
    public var vmacName: String?
    /// `preferred_lft N|forever`; `nil` is the kernel's default (0 for a /128).
    public var preferredLifetime: PreferredLifetime?
    /// `track_group GROUP` (static addresses): the group's instances track `device`.
    public var trackGroup: String?
    public var location: SourceLocation

    public init(prefix: IPPrefix, location: SourceLocation) {
        self.prefix = prefix
        self.location = location
    }

    public enum PreferredLifetime: Sendable, Hashable, Codable {
        case seconds(Int)
        case forever
    }
}

/// A line of `virtual_routes` or `static_routes`, in `ip route add` syntax. The commonly used parts
/// are parsed; everything else is kept in `options` in order.
public struct VirtualRoute: Sendable, Hashable, Codable {
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, … before the destination; `nil` is unicast.
    public var type: String?
    public var destination: IPPrefix?
    /// `src`.
    public var source: IPAddress?
    /// `via` / `gw`.
    public var gateway: IPAddress?
    /// `or`: a second gateway.
    public var alternateGateway: IPAddress?
    public var device: String?
    public var table: String?
    /// `metric` / `priority` / `preference`.
    public var metric: Int?
    public var scope: String?
    public var noTrack = false
    public var trackGroup: String?
    /// `proto` / `protocol`: a number or a name of /etc/iproute2/rt_protos, resolved (nil: keepalived's 18).
    public var protocolNumber: Int?
    /// `onlink` (on the single next hop).
    public var onlink = false
    /// `tos` / `dsfield`.
    public var tos: Int?
    /// `ttl-propagate enabled|disabled` (MPLS).
    public var ttlPropagate: Bool?
    /// `mtu`, `advmss`, `hoplimit`, `initcwnd`, … (`RTAX_*`), with `lock`.
    public var metrics: [RouteMetric] = []
    /// `nexthop via ADDR dev IFACE weight N [onlink]` … : a multipath route.
    public var nexthops: [RouteNextHop] = []
    /// `realms [FROM/]TO` (IPv4): FROM in the high 16 bits, TO in the low ones.
    public var realms: Int?
    /// `expires SECONDS` (IPv6).
    public var expires: Int?
    /// `congctl [lock] NAME`: the TCP congestion control algorithm for the route.
    public var congestionControl: String?
    public var congestionControlLocked = false
    /// `pref low|medium|high|N` (IPv6 router preference): `ICMPV6_ROUTER_PREF_*`, low 3, medium 0, high 1.
    public var routerPreference: Int?
    /// `add`, `prepend` or `append` (the last one written); `nil` is Vigil's default, `add`.
    public var creation: String?
    /// `inet` / `inet6`: the family the line asks for (`default` is `::/0` with `inet6`); nil when not written.
    public var family: IPAddress.Family?
    /// `encap mpls|ip|ip6 …`: a lightweight tunnel the route's packets are put in (`RTA_ENCAP`).
    public var encap: RouteEncap?
    /// `vrf NAME`: the route goes in the table of that VRF device (in place of `table`).
    public var vrf: String?
    /// Other `ip route` options, each as `[name, value…]` (warned: Vigil does not program them).
    public var options: [[String]] = []
    /// The whole line as written.
    public var words: [String]
    public var location: SourceLocation

    public init(words: [String], location: SourceLocation) {
        self.words = words
        self.location = location
    }
}

/// `encap` on a route: a lightweight tunnel (Linux 4.3+), as keepalived 2.2.7 and `ip route` take it.
public struct RouteEncap: Sendable, Hashable, Codable {
    /// `LWTUNNEL_ENCAP_*`: what the route's packets are put in.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// `encap mpls LABEL[/LABEL…]`: an MPLS label stack (needs the kernel's `mpls_iptunnel`).
        case mpls
        /// `encap ip id ID dst ADDR [src ADDR] [tos T] [ttl N] [flags F]`: metadata for a collect_md IPv4 tunnel.
        case ip
        /// `encap ip6 id ID dst ADDR [src ADDR] [tc T] [hoplimit N] [flags F]`: the same for an IPv6 tunnel.
        case ip6
    }

    public var kind: Kind
    /// `mpls`: the label stack, outermost first.
    public var labels: [UInt32] = []
    /// `ip` / `ip6`: the tunnel id (`LWTUNNEL_IP_ID`), destination, source, TOS/traffic class, TTL/hop limit, flags.
    public var id: UInt64?
    public var destination: IPAddress?
    public var source: IPAddress?
    public var tos: UInt8?
    public var ttl: UInt8?
    public var flags: UInt16?

    public init(kind: Kind, labels: [UInt32] = []) {
        self.kind = kind
        self.labels = labels
    }
}

/// One metric of a route (`mtu lock 1400`): its `ip route` name, value, and whether it is locked.
public struct RouteMetric: Sendable, Hashable, Codable {
    public var name: String
    public var value: Int
    public var locked: Bool

    public init(name: String, value: Int, locked: Bool = false) {
        self.name = name
        self.value = value
        self.locked = locked
    }
}

/// One `nexthop` of a multipath route.
public struct RouteNextHop: Sendable, Hashable, Codable {
    public var gateway: IPAddress?
    public var device: String?
    /// 1–256.
    public var weight: Int?
    public var onlink = false

    public init(gateway: IPAddress? = nil, device: String? = nil, weight: Int? = nil, onlink: Bool = false) {
        self.gateway = gateway
        self.device = device
        self.weight = weight
        self.onlink = onlink
    }
}

/// A line of `virtual_rules` or `static_rules`, in `ip rule add` syntax.
public struct VirtualRule: Sendable, Hashable, Codable {
    /// `from`; `nil` means all.
    public var from: IPPrefix?
    /// `to`; `nil` means all.
    public var to: IPPrefix?
    public var table: String?
    /// `preference` / `priority` / `order`; keepalived assigns one when missing.
    public var preference: Int?
    /// `inet6`.
    public var inet6 = false
    public var noTrack = false
    public var trackGroup: String?
    /// `not`: the selector is inverted (`FIB_RULE_INVERT`).
    public var invert = false
    /// `suppress_prefixlength N` (`sup_pl`): a lookup result with a prefix this long or shorter is refused.
    public var suppressPrefixLength: Int?
    /// `suppress_ifgroup GROUP` (`sup_group`): a lookup result through an interface of this group is refused.
    public var suppressInterfaceGroup: UInt32?
    /// `uidrange START-END`: the sockets' owner.
    public var uidRange: ClosedRange<UInt32>?
    /// `tunnel-id N` (keepalived's spelling; `tun_id` is `ip rule`'s): the tunnel id of collect_md packets.
    public var tunnelID: UInt64?
    /// `realms [FROM/]TO` (IPv4): FROM in the high 16 bits, TO in the low ones.
    public var realms: Int?
    /// Other `ip rule` options, each as `[name, value…]`.
    public var options: [[String]] = []
    public var words: [String]
    public var location: SourceLocation

    public init(words: [String], location: SourceLocation) {
        self.words = words
        self.location = location
    }

    /// `iif IFACE`, if the rule has one.
    public var inputInterface: String? { options.last { $0.first == "iif" && $0.count > 1 }?[1] }
}

/// keepalived up to 1.3.6 summed the multicast group (`vrrp_mcast_group4`), not the unicast peer, into the
/// pseudo-header of a VRRPv3 IPv4 unicast advert's checksum; keepalived since sends the RFC's checksum and falls back.
public enum OldUnicastChecksum: String, Sendable, Hashable, Codable {
    /// The default: the RFC's checksum, until an advert arrives that only the old one accepts; then the old one.
    case detect
    /// `old_unicast_checksum never`: the RFC's checksum only.
    case never
    /// `old_unicast_checksum`: the old checksum, sent and expected.
    case always
}
