import Config

/// Which gaps apply where: keepalived's `vrrp_garp_interval` / `vrrp_gna_interval` on each interface in no
/// `garp_group`, each group's own intervals on its interfaces (shared by all of them: one switch), and a VMAC paced
/// with the interface it is made on.
public struct AnnouncementPacing: Hashable, Sendable {
    /// One `garp_group`: an interval it leaves out is 0.
    public struct Group: Hashable, Sendable {
        public var arpInterval: Duration
        public var neighborInterval: Duration
        public var interfaces: Set<String>

        public init(arpInterval: Duration, neighborInterval: Duration, interfaces: Set<String>) {
            self.arpInterval = arpInterval
            self.neighborInterval = neighborInterval
            self.interfaces = interfaces
        }
    }

    /// `vrrp_garp_interval`: between two gratuitous ARPs on one interface in no group.
    public var arpInterval: Duration
    /// `vrrp_gna_interval`: between two unsolicited neighbour advertisements on one interface in no group.
    public var neighborInterval: Duration
    public var groups: [Group]
    /// VMAC name → the interface it is made on.
    public var bases: [String: String]

    public init(
        arpInterval: Duration = .zero, neighborInterval: Duration = .zero, groups: [Group] = [],
        bases: [String: String] = [:]
    ) {
        self.arpInterval = arpInterval
        self.neighborInterval = neighborInterval
        self.groups = groups
        self.bases = bases
    }

    /// From the configuration: the global intervals, the `garp_group`s (an interface named twice counts in its first).
    public init(globals: GlobalDefs, garpGroups: [GARPGroup], bases: [String: String]) {
        var seen: Set<String> = []
        var groups: [Group] = []
        for group in garpGroups {
            let interfaces = Set(group.interfaces.filter { seen.insert($0).inserted })
            guard !interfaces.isEmpty else { continue }
            groups.append(
                Group(
                    arpInterval: group.garpInterval ?? .zero, neighborInterval: group.gnaInterval ?? .zero,
                    interfaces: interfaces))
        }
        self.init(
            arpInterval: globals.vrrpGarpInterval, neighborInterval: globals.vrrpGnaInterval, groups: groups,
            bases: bases)
    }
}

/// Spaces the gratuitous ARPs and unsolicited neighbour advertisements as `AnnouncementPacing` says (for switches
/// that cannot take a burst): after one goes out on an interface (or a group's), the next of the same kind waits the
/// interval. With intervals of zero everything goes at once.
///
/// Pure: the caller passes the current instant and sends each frame at the instant it gets back.
public struct AnnouncementPacer<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public var pacing: AnnouncementPacing
    /// When the next frame of each kind may leave each interface or group.
    private var nextFree: [Key: Instant] = [:]

    private struct Key: Hashable, Sendable {
        /// An interface in no group, or a group's index.
        var interface: String?
        var group: Int?
        var family: IPAddress.Family
    }

    public init(_ pacing: AnnouncementPacing = AnnouncementPacing()) {
        self.pacing = pacing
    }

    /// When each of `frames` may go, in the order given: `count` rounds over `addresses`, as `VRRPSystem.announce`
    /// sends them.
    public mutating func schedule(_ addresses: [VRRPHeldAddress], count: Int, at now: Instant)
        -> [(address: VRRPHeldAddress, at: Instant)]
    {
        var slots: [(address: VRRPHeldAddress, at: Instant)] = []
        for _ in 0..<max(count, 0) {
            for held in addresses {
                let family = held.address.prefix.address.family
                let interface = pacing.bases[held.interface] ?? held.interface
                let key: Key
                let interval: Duration
                if let index = pacing.groups.firstIndex(where: { $0.interfaces.contains(interface) }) {
                    key = Key(group: index, family: family)
                    let group = pacing.groups[index]
                    interval = family == .ipv4 ? group.arpInterval : group.neighborInterval
                } else {
                    key = Key(interface: interface, family: family)
                    interval = family == .ipv4 ? pacing.arpInterval : pacing.neighborInterval
                }
                let slot = nextFree[key].map { max($0, now) } ?? now
                if interval > .zero { nextFree[key] = slot.advanced(by: interval) }
                slots.append((held, slot))
            }
        }
        return slots
    }
}
