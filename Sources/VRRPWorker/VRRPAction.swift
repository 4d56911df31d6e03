import Config

/// The state of a VRRP instance: RFC 5798 §6.4's three plus keepalived's FAULT.
public enum VRRPState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Not started, or shut down (RFC 5798 §6.4.1).
    case initialize
    case backup
    case master
    /// A tracked item with weight 0 is down (keepalived).
    case fault

    public var description: String { rawValue.uppercased() }
}

/// The timers an instance runs; the worker keeps at most one of each per instance.
public enum VRRPTimer: String, Hashable, Sendable, CaseIterable {
    /// Adver_Timer: a master's next advert (RFC 5798 §6.2).
    case advertisement
    /// Master_Down_Timer: a backup takes over when it fires (RFC 5798 §6.2).
    case masterDown
    /// The second gratuitous ARP / NA burst, `garp_master_delay` after becoming master.
    case gratuitousDelay
    /// The periodic gratuitous ARP / NA refresh, every `garp_master_refresh`.
    case gratuitousRefresh
    /// The second burst after a lower-priority advert, `garp_lower_prio_delay` after it.
    case gratuitousLowerPriority
    /// `garp_extra_if`: the periodic announcement on the addresses' other interfaces.
    case gratuitousExtraInterfaces
    /// `interface_up_down_delays`: a link change is acted on when it fires. Not an instance's timer: it is armed
    /// with the interface's tracked-item name (`interface NAME`) in place of an instance name.
    case linkDelay
}

/// What the worker does for the state machine, in the order given.
public enum VRRPAction<Instant: InstantProtocol>: Hashable, Sendable {
    /// Send one advertisement with this priority (0: the master resigns, RFC 5798 §6.4.3).
    case sendAdvertisement(priority: UInt8)
    /// Add the virtual addresses (and keepalived's eVIPs, routes, rules).
    case becomeMaster
    /// Remove the virtual addresses, if present.
    case becomeBackup
    /// Remove the virtual addresses, if present.
    case enterFault
    /// Remove the virtual addresses, if present: the instance is shutting down.
    case stop
    /// Send `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) for every virtual
    /// address.
    case sendGratuitousAnnouncements(count: Int)
    /// `garp_extra_if`: one gratuitous ARP / unsolicited NA on each of the addresses' other interfaces.
    case sendExtraInterfaceAnnouncements
    /// Arm `timer` for `at`, replacing an earlier arming; then call `timerFired(_:at:)`.
    case scheduleTimer(VRRPTimer, at: Instant)
    case cancelTimer(VRRPTimer)
    /// Run the notify scripts / FIFO / D-Bus for the new state; `.initialize` is keepalived's STOP.
    case notify(VRRPState)
    /// The master heard an advert of lower priority (a peer that thinks it is master): keepalived's
    /// MASTER_RX_LOWER_PRI notification, and the sync group's other members re-announce their addresses.
    case heardLowerPriority(from: IPAddress, priority: UInt8)
}
