import Config

/// Spaces the gratuitous ARPs and unsolicited neighbour advertisements sent on each interface, as keepalived's
/// `vrrp_garp_interval` and `vrrp_gna_interval` do (for switches that cannot take a burst): after one goes out on an
/// interface, the next of the same kind waits the interval. With intervals of zero everything goes at once.
///
/// Pure: the caller passes the current instant and sends each frame at the instant it gets back.
public struct AnnouncementPacer<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// `vrrp_garp_interval`: between two gratuitous ARPs on one interface.
    public var arpInterval: Duration
    /// `vrrp_gna_interval`: between two unsolicited neighbour advertisements on one interface.
    public var neighborInterval: Duration
    /// When the next frame of each kind may leave each interface.
    private var nextFree: [Key: Instant] = [:]

    private struct Key: Hashable, Sendable {
        var interface: String
        var family: IPAddress.Family
    }

    public init(arpInterval: Duration = .zero, neighborInterval: Duration = .zero) {
        self.arpInterval = arpInterval
        self.neighborInterval = neighborInterval
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
                let interval = family == .ipv4 ? arpInterval : neighborInterval
                let key = Key(interface: held.interface, family: family)
                let slot = nextFree[key].map { max($0, now) } ?? now
                if interval > .zero { nextFree[key] = slot.advanced(by: interval) }
                slots.append((held, slot))
            }
        }
        return slots
    }
}
