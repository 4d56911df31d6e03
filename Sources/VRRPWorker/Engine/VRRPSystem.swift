import Config

/// One address the engine puts on an interface when an instance becomes MASTER: a `virtual_ipaddress` or
/// `virtual_ipaddress_excluded` line resolved against the instance's interface.
public struct VRRPHeldAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: VirtualAddress
    /// `dev`, else the instance's interface.
    public var interface: String

    public init(address: VirtualAddress, interface: String) {
        self.address = address
        self.interface = interface
    }

    public var description: String { "\(address.prefix) dev \(interface)" }
}

/// The socket an instance needs: family and interface, the multicast group to join (nil for unicast), whether
/// adverts arrive in IP Authentication Headers (IP protocol 51), and `kernel_rx_buf_size`.
public struct VRRPSocketRequest: Hashable, Sendable {
    public var family: IPAddress.Family
    public var interface: String
    public var group: IPAddress?
    public var authenticationHeader: Bool
    public var receiveBufferSize: Int?

    public init(
        family: IPAddress.Family, interface: String, group: IPAddress?, authenticationHeader: Bool = false,
        receiveBufferSize: Int? = nil
    ) {
        self.family = family
        self.interface = interface
        self.group = group
        self.authenticationHeader = authenticationHeader
        self.receiveBufferSize = receiveBufferSize
    }
}

/// How one advert leaves: its TTL / hop limit (`unicast_ttl`; 255 otherwise), and keepalived's IP Authentication
/// Header (key and sequence number) for `auth_type AH`.
public struct VRRPSendOptions: Hashable, Sendable {
    public var hopLimit: UInt8
    public var authenticationKey: [UInt8]?
    public var authenticationSequence: UInt32

    public init(hopLimit: UInt8 = vrrpHopLimit, authenticationKey: [UInt8]? = nil, authenticationSequence: UInt32 = 0) {
        self.hopLimit = hopLimit
        self.authenticationKey = authenticationKey
        self.authenticationSequence = authenticationSequence
    }
}

/// Everything the engine asks of the host: sockets, addresses, announcements, timers, the monotonic clock.
/// The daemon's `LinuxVRRPSystem` talks to the kernel; tests use a fake running in virtual time.
public protocol VRRPSystem: AnyObject {
    associatedtype Instant: InstantProtocol where Instant.Duration == Duration

    /// The current instant of the monotonic clock.
    var now: Instant { get }
    /// CLOCK_MONOTONIC in nanoseconds at `instant` (for the reports' `since`).
    func monotonicNanoseconds(_ instant: Instant) -> Int64
    /// The instant `nanoseconds` of CLOCK_MONOTONIC correspond to (a saved report's `since`).
    func instant(monotonicNanoseconds nanoseconds: Int64) -> Instant

    /// Opens (or shares) the socket `request` describes, joined to its group when multicast; false when that
    /// fails (the instance then stays in FAULT).
    func openSocket(_ request: VRRPSocketRequest) -> Bool
    /// Sends one VRRP message (without IP header) from `source` to `destination` out of `interface`.
    func send(
        _ message: [UInt8], from source: IPAddress, to destination: IPAddress, interface: String,
        options: VRRPSendOptions
    ) -> Bool
    /// The address adverts are sent from when none is configured: the interface's first IPv4 address or
    /// IPv6 link-local address.
    func primaryAddress(interface: String, family: IPAddress.Family) -> IPAddress?
    /// Whether `interface` exists and is up (IFF_UP and IFF_RUNNING).
    func isLinkUp(interface: String) -> Bool
    /// `promote_secondaries`: sets `net.ipv4.conf.INTERFACE.promote_secondaries` (restored when the worker stops).
    func setPromoteSecondaries(interface: String)
    /// Whether `address` is on `interface` (`track_src_ip`).
    func hasAddress(_ address: IPAddress, interface: String) -> Bool
    /// Where `auth_type AH` sequence numbers start: the wall clock's seconds, so a restarted router counts on
    /// above what its peers heard before (keepalived's peers drop a sequence number they have seen).
    func initialAuthenticationSequence() -> UInt32

    /// Adds a virtual address; adding one that is present is not an error.
    func addAddress(_ address: VRRPHeldAddress) -> Bool
    /// Removes a virtual address; removing one that is absent is not an error.
    func removeAddress(_ address: VRRPHeldAddress) -> Bool
    /// Adds a `virtual_routes` line (after the addresses, whose `src` it may name); false when the kernel refuses.
    func addRoute(_ route: VirtualRoute) -> Bool
    /// Removes a `virtual_routes` line; removing one that is absent is not an error.
    func removeRoute(_ route: VirtualRoute) -> Bool
    /// Adds a `virtual_rules` / `static_rules` line; false when the kernel refuses.
    func addRule(_ rule: VirtualRule) -> Bool
    /// Removes one; removing one that is absent is not an error.
    func removeRule(_ rule: VirtualRule) -> Bool
    /// What the kernel has under `name` (a name a VMAC may take); nil when no link has it.
    func linkFacts(named name: String) -> VRRPLinkFacts?
    /// Creates the VMAC, or adopts a matching one an earlier run left, applies keepalived's settings to it (and for
    /// IPv4 to its base) and brings it up; false when that fails (the instance then stays in FAULT).
    func addVirtualMAC(_ link: VRRPVirtualMAC) -> Bool
    /// Deletes the VMAC; deleting one that is absent is not an error.
    func removeVirtualMAC(_ link: VRRPVirtualMAC)
    /// The no-accept filter's nftables table (`nftables NAME`), chain priority and counters.
    func configureTrafficFilter(table: String, priority: Int32, counters: Bool)
    /// Drops traffic to and from `addresses` (a non-owner master without Accept_Mode); false when that fails.
    func blockTraffic(to addresses: [IPAddress]) -> Bool
    /// Lets it through again.
    func unblockTraffic(to addresses: [IPAddress])
    /// Deletes the filter's tables (when the daemon stops and releases what it holds).
    func removeTrafficFilter()
    /// `vrrp_garp_interval`, `vrrp_gna_interval` and the `garp_group`s: the gap between two gratuitous ARPs / two
    /// unsolicited NAs on one interface or group (zero: back to back).
    func setAnnouncementPacing(_ pacing: AnnouncementPacing)
    /// Sends `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) for each address.
    func announce(_ addresses: [VRRPHeldAddress], count: Int)

    /// Arms one instance's timer (replacing an earlier arming of the same timer).
    func schedule(_ timer: VRRPTimer, instance: String, at deadline: Instant)
    func cancel(_ timer: VRRPTimer, instance: String)
}
