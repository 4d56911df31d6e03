import Config

/// Something an instance tracks (`track_interface`, `track_script`, `track_file`, `track_process`, …).
///
/// keepalived's semantics: with weight 0 the item being down puts the instance in FAULT; a positive weight is
/// added to the priority while the item is up, a negative one added (subtracted) while it is down.
public struct VRRPTrackedItem: Hashable, Sendable {
    public var name: String
    public var weight: Int
    /// `weight N reverse`: the change is negated (up lowers the priority); with weight 0, up means FAULT.
    public var reverse: Bool

    public init(name: String, weight: Int = 0, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }

    /// What the item adds to the base priority.
    func priorityContribution(isUp: Bool) -> Int {
        let delta = weight > 0 ? (isUp ? weight : 0) : (isUp ? 0 : weight)
        return reverse ? -delta : delta
    }

    /// Whether the item in this state puts the instance in FAULT (weight 0 only).
    func causesFault(isUp: Bool) -> Bool { weight == 0 && isUp == reverse }
}

/// The settings of one VRRP instance's state machine, in keepalived's terms (defaults are keepalived's).
/// The worker maps the config model onto this; the state machine knows nothing of the config module.
public struct VRRPInstanceSettings: Hashable, Sendable {
    public var version: VRRPVersion
    /// The base priority (1…255); 255 makes the instance the address owner.
    public var priority: UInt8
    /// `advert_int`; rounded to whole seconds (v2) or centiseconds (v3) by `wireAdvertisementInterval`.
    public var advertisementInterval: Duration
    /// The address adverts are sent from (the interface's primary address or `mcast_src_ip`/`unicast_src_ip`);
    /// equal priorities are decided by it (RFC 5798 §6.4.3).
    public var primaryAddress: IPAddress
    /// `preempt` (the default) / `nopreempt`.
    public var preempt: Bool
    /// `preempt_delay`: how long a backup still accepts a lower-priority master before preempting it.
    public var preemptDelay: Duration
    /// `down_timer_adverts`: how many adverts a backup misses before taking over (the RFCs' 3).
    public var downTimerAdverts: Int
    /// `lower_prio_no_advert`: a master does not answer a lower-priority advert with one of its own.
    public var lowerPriorityNoAdvert: Bool
    /// `higher_prio_send_advert`: a master sends one more advert before yielding to a higher priority.
    public var higherPrioritySendAdvert: Bool
    /// `garp_master_delay`: the second burst of gratuitous ARPs / unsolicited NAs after becoming master (0: none).
    public var garpMasterDelay: Duration
    /// `garp_master_repeat`: how many gratuitous ARPs / NAs per address in each burst.
    public var garpMasterRepeat: Int
    /// `garp_master_refresh`: how often a master repeats them (0: never).
    public var garpMasterRefresh: Duration
    /// `garp_master_refresh_repeat`: how many per address at each refresh.
    public var garpMasterRefreshRepeat: Int
    /// `garp_lower_prio_repeat`: a master hearing a lower priority sends this many per address at once (0: none).
    public var garpLowerPriorityRepeat: Int
    /// `garp_lower_prio_delay`: and as many again this much later (0: no second burst).
    public var garpLowerPriorityDelay: Duration
    /// `garp_extra_if`: how often a master sends one gratuitous ARP / NA on each of its addresses' other
    /// interfaces (0: never; the engine decides which interfaces).
    public var garpExtraInterval: Duration = .zero
    /// `state MASTER` (keepalived's wantstate, after its defaults: no `state` means MASTER for the address owner):
    /// the owner starts as master at once; with `state BACKUP` it waits Master_Down_Interval like any backup.
    public var startsAsMaster: Bool
    /// `track_interface`, `track_script`, … by name. The worker adds the instance's own interface with weight 0
    /// (unless `dont_track_primary`).
    public var trackedItems: [VRRPTrackedItem]

    public init(
        version: VRRPVersion = .v2,
        priority: UInt8 = 100,
        advertisementInterval: Duration = .seconds(1),
        primaryAddress: IPAddress,
        preempt: Bool = true,
        preemptDelay: Duration = .zero,
        downTimerAdverts: Int = 3,
        lowerPriorityNoAdvert: Bool = false,
        higherPrioritySendAdvert: Bool = false,
        garpMasterDelay: Duration = .seconds(5),
        garpMasterRepeat: Int = 5,
        garpMasterRefresh: Duration = .zero,
        garpMasterRefreshRepeat: Int = 1,
        garpLowerPriorityRepeat: Int = 5,
        garpLowerPriorityDelay: Duration = .seconds(5),
        startsAsMaster: Bool? = nil,
        trackedItems: [VRRPTrackedItem] = []
    ) {
        self.version = version
        self.priority = priority
        self.advertisementInterval = advertisementInterval
        self.primaryAddress = primaryAddress
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.downTimerAdverts = downTimerAdverts
        self.lowerPriorityNoAdvert = lowerPriorityNoAdvert
        self.higherPrioritySendAdvert = higherPrioritySendAdvert
        self.garpMasterDelay = garpMasterDelay
        self.garpMasterRepeat = garpMasterRepeat
        self.garpMasterRefresh = garpMasterRefresh
        self.garpMasterRefreshRepeat = garpMasterRefreshRepeat
        self.garpLowerPriorityRepeat = garpLowerPriorityRepeat
        self.garpLowerPriorityDelay = garpLowerPriorityDelay
        self.startsAsMaster = startsAsMaster ?? (priority == 255)
        self.trackedItems = trackedItems
    }

    /// The address owner (RFC 5798 §6.1: priority 255).
    public var isAddressOwner: Bool { priority == 255 }

    /// The advertisement interval as the wire carries it, which is also what the timers use, so that what the
    /// instance sends and how it times agree.
    public var wireAdvertisementInterval: Duration {
        version.advertisementInterval(raw: version.rawAdvertisementInterval(for: advertisementInterval))
    }
}
