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

    /// Opens (or shares) the socket for `family` on `interface`, joined to `group` when multicast; false when
    /// that fails (the instance then stays in FAULT).
    func openSocket(family: IPAddress.Family, interface: String, group: IPAddress?) -> Bool
    /// Sends one VRRP message (without IP header) from `source` to `destination` out of `interface`.
    func send(_ message: [UInt8], from source: IPAddress, to destination: IPAddress, interface: String) -> Bool
    /// The address adverts are sent from when none is configured: the interface's first IPv4 address or
    /// IPv6 link-local address.
    func primaryAddress(interface: String, family: IPAddress.Family) -> IPAddress?
    /// Whether `interface` exists and is up (IFF_UP and IFF_RUNNING).
    func isLinkUp(interface: String) -> Bool

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
    /// `vrrp_garp_interval` and `vrrp_gna_interval`: the gap between two gratuitous ARPs / two unsolicited NAs on
    /// one interface (zero: back to back).
    func setAnnouncementIntervals(arp: Duration, neighbor: Duration)
    /// Sends `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) for each address.
    func announce(_ addresses: [VRRPHeldAddress], count: Int)

    /// Arms one instance's timer (replacing an earlier arming of the same timer).
    func schedule(_ timer: VRRPTimer, instance: String, at deadline: Instant)
    func cancel(_ timer: VRRPTimer, instance: String)
}
