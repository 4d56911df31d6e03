import Config

/// The VRRP protocol state machine of one instance, RFC 3768 §6.4 / RFC 5798 §6.4 with keepalived's additions
/// (FAULT, tracking weights, preempt_delay, garp timers, lower_prio_no_advert, higher_prio_send_advert).
///
/// It never reads a clock and never sleeps: the worker feeds it events, each stamped with the current instant of
/// an injected monotonic clock (`ContinuousClock.Instant` in the daemon, a virtual instant in tests), and
/// carries out the actions it returns. Adverts reach it only after `VRRPReceiveFilter` accepted them.
public struct VRRPInstanceStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public typealias Action = VRRPAction<Instant>

    public private(set) var settings: VRRPInstanceSettings
    public private(set) var state: VRRPState = .initialize
    /// Master_Adver_Interval: the configured interval, or in a v3 backup the current master's (RFC 5798 §6.1).
    public private(set) var masterAdvertisementInterval: Duration
    /// The master this backup last heard (for `skip_check_adv_addr` and status).
    public private(set) var masterAddress: IPAddress?
    public private(set) var masterPriority: UInt8?
    /// When this instance last sent an advert, for the watchdog's crash-recovery record.
    public private(set) var lastAdvertisementSent: Instant?
    /// Set by the sync group while another member is faulty.
    public private(set) var inGroupFault = false
    private var trackedItemIsUp: [String: Bool]
    /// `track_file` values added to the priority, by item.
    private var trackedOffsets: [String: Int] = [:]
    private var deadlines: [VRRPTimer: Instant] = [:]
    /// keepalived's `preempt_time`: until then a backup keeps following a lower-priority master.
    private var preemptDeadline: Instant?
    /// `vrrp_startup_delay`: until this instant a backup's Master_Down_Timer runs from it rather than from now.
    private var delayedStart: Instant?

    public init(settings: VRRPInstanceSettings) {
        self.settings = settings
        self.masterAdvertisementInterval = settings.wireAdvertisementInterval
        self.trackedItemIsUp = Dictionary(settings.trackedItems.map { ($0.name, true) }, uniquingKeysWith: { $1 })
    }

    // MARK: Derived values

    /// The priority advertised: base plus tracking weights, 1…254 (keepalived); the owner stays at 255.
    public var effectivePriority: UInt8 {
        if settings.isAddressOwner { return 255 }
        var priority = Int(settings.priority)
        for item in settings.trackedItems {
            priority += item.priorityContribution(isUp: trackedItemIsUp[item.name] ?? true)
        }
        priority += trackedOffsets.values.reduce(0, +)
        return UInt8(min(max(priority, 1), 254))
    }

    /// A tracked item with weight 0 is down.
    public var hasOwnFault: Bool {
        settings.trackedItems.contains { $0.causesFault(isUp: trackedItemIsUp[$0.name] ?? true) }
    }

    /// Skew_Time and Master_Down_Interval for the current priority and Master_Adver_Interval.
    public var masterDownTimer: MasterDownTimer {
        MasterDownTimer(
            version: settings.version,
            priority: effectivePriority,
            masterAdvertisementInterval: masterAdvertisementInterval,
            advertisements: settings.downTimerAdverts
        )
    }

    /// When the armed timer fires, if it is armed.
    public func deadline(of timer: VRRPTimer) -> Instant? { deadlines[timer] }

    private var isFaulted: Bool { hasOwnFault || inGroupFault }

    // MARK: Events

    /// RFC 5798 §6.4.1: the Startup event.
    /// - Parameter delayedUntil: keepalived's `vrrp_startup_delay` at the daemon's start: until then the
    ///   Master_Down_Timer of a backup (at startup and each time an advertisement resets it) runs from this instant,
    ///   so no backup takes over before the delay and one Master_Down_Interval have passed.
    public mutating func start(at now: Instant, delayedUntil: Instant? = nil) -> [Action] {
        guard state == .initialize else { return [] }
        delayedStart = delayedUntil
        var actions: [Action] = []
        if isFaulted {
            enterFault(at: now, into: &actions)
        } else if settings.startsAsMaster && settings.isAddressOwner {
            // RFC 5798 §6.4.1: the owner becomes master at once. keepalived 2.2.7 (measured) does so with
            // `state MASTER` or no state; with `state BACKUP`, and for `state MASTER` below 255, it waits
            // Master_Down_Interval as a backup does.
            becomeMaster(at: now, into: &actions)
        } else {
            becomeBackup(at: now, into: &actions)
        }
        return actions
    }

    /// Starts after a crash of the worker that ran this instance as master and last advertised at
    /// `lastAdvertisement`: if the backups cannot yet have taken over (less than Master_Down_Interval ago), it
    /// resumes as master and advertises at once; otherwise it starts as usual.
    public mutating func resumeAsMaster(lastAdvertisement: Instant, at now: Instant) -> [Action] {
        guard state == .initialize else { return [] }
        let timer = MasterDownTimer(
            version: settings.version,
            priority: effectivePriority,
            masterAdvertisementInterval: settings.wireAdvertisementInterval,
            advertisements: settings.downTimerAdverts
        )
        guard !isFaulted, lastAdvertisement.duration(to: now) < timer.interval else { return start(at: now) }
        var actions: [Action] = []
        becomeMaster(at: now, into: &actions)
        return actions
    }

    /// An advertisement `VRRPReceiveFilter` accepted, from `source` (the IP source address).
    public mutating func receive(_ advertisement: VRRPAdvertisement, from source: IPAddress, at now: Instant)
        -> [Action]
    {
        var actions: [Action] = []
        switch state {
        case .backup:
            receiveAsBackup(advertisement, from: source, at: now, into: &actions)
        case .master:
            receiveAsMaster(advertisement, from: source, at: now, into: &actions)
        case .initialize, .fault:
            break
        }
        return actions
    }

    /// An armed timer fired. Stale or early firings are harmless: a timer that is not armed is ignored, one that
    /// fired early is armed again for its deadline.
    public mutating func timerFired(_ timer: VRRPTimer, at now: Instant) -> [Action] {
        guard let deadline = deadlines[timer] else { return [] }
        guard deadline <= now else { return [.scheduleTimer(timer, at: deadline)] }
        deadlines[timer] = nil
        var actions: [Action] = []
        switch (timer, state) {
        case (.advertisement, .master):
            // RFC 5798 §6.4.3: Adver_Timer fired: send an ADVERTISEMENT, reset the timer.
            send(priority: effectivePriority, at: now, into: &actions)
            schedule(.advertisement, at: now.advanced(by: settings.wireAdvertisementInterval), into: &actions)
        case (.masterDown, .backup):
            // RFC 5798 §6.4.2: Master_Down_Timer fired.
            becomeMaster(at: now, into: &actions)
        case (.gratuitousDelay, .master):
            actions.append(.sendGratuitousAnnouncements(count: settings.garpMasterRepeat))
        case (.gratuitousRefresh, .master):
            actions.append(.sendGratuitousAnnouncements(count: settings.garpMasterRefreshRepeat))
            schedule(.gratuitousRefresh, at: now.advanced(by: settings.garpMasterRefresh), into: &actions)
        case (.gratuitousLowerPriority, .master):
            actions.append(.sendGratuitousAnnouncements(count: settings.garpLowerPriorityRepeat))
        case (.gratuitousExtraInterfaces, .master):
            actions.append(.sendExtraInterfaceAnnouncements)
            schedule(.gratuitousExtraInterfaces, at: now.advanced(by: settings.garpExtraInterval), into: &actions)
        default:
            break
        }
        return actions
    }

    /// The master this backup follows is known to have failed before its adverts stop counting (a BFD session to
    /// it went down): RFC 5798 §6.4.2's Master_Down_Timer event, now.
    public mutating func masterFailed(at now: Instant) -> [Action] {
        guard state == .backup else { return [] }
        var actions: [Action] = []
        becomeMaster(at: now, into: &actions)
        return actions
    }

    /// RFC 5798 §6.4.2-3: the Shutdown event. A master resigns with a priority-0 advert so a backup takes over
    /// after Skew_Time instead of Master_Down_Interval.
    public mutating func shutdown(at now: Instant) -> [Action] {
        guard state != .initialize else { return [] }
        var actions: [Action] = []
        if state == .master {
            send(priority: 0, at: now, into: &actions)
        }
        cancelAllTimers(into: &actions)
        preemptDeadline = nil
        state = .initialize
        actions += [.stop, .notify(.initialize)]
        return actions
    }

    /// A tracked item went up or down: the effective priority changes (the next advert carries it), or the
    /// instance enters or leaves FAULT.
    public mutating func trackingChanged(_ name: String, isUp: Bool, at now: Instant) -> [Action] {
        guard trackedItemIsUp[name] != nil else { return [] }
        trackedItemIsUp[name] = isUp
        return reevaluateFault(at: now)
    }

    /// A tracked item with a value (`track_file`) changed: `offset` is added to the priority, `nil` means FAULT.
    /// The item must be tracked with weight 0 (its FAULT half).
    public mutating func trackedValueChanged(_ name: String, offset: Int?, at now: Instant) -> [Action] {
        guard trackedItemIsUp[name] != nil else { return [] }
        trackedItemIsUp[name] = offset != nil
        trackedOffsets[name] = offset ?? 0
        return reevaluateFault(at: now)
    }

    /// Takes the tracked items' states (for the items both track) and the sync group's FAULT from `other`: a
    /// machine rebuilt by a reload must not forget what is down. Call before `start` / `resumeAsMaster`.
    /// The interface's address, found once the interface exists (`dynamic_interfaces`): adverts come from it and
    /// the RFC 5798 §6.4.3 tie-break compares it.
    public mutating func primaryAddressFound(_ address: IPAddress) {
        settings.primaryAddress = address
    }

    public mutating func carryTracking(from other: Self) {
        for (name, isUp) in other.trackedItemIsUp where trackedItemIsUp[name] != nil {
            trackedItemIsUp[name] = isUp
        }
        for (name, offset) in other.trackedOffsets where trackedItemIsUp[name] != nil {
            trackedOffsets[name] = offset
        }
        inGroupFault = other.inGroupFault
    }

    /// The base priority changed (a reload).
    public mutating func priorityChanged(to priority: UInt8, at now: Instant) -> [Action] {
        let wasOwner = settings.isAddressOwner
        settings.priority = max(priority, 1)
        var actions = reevaluateFault(at: now)
        // Becoming the owner while backup: RFC 5798 §6.4.1's owner rule, applied now rather than at startup.
        if !wasOwner && settings.isAddressOwner && state == .backup {
            becomeMaster(at: now, into: &actions)
        }
        return actions
    }

    /// What the sync group asks of this member (see `VRRPSyncGroup`).
    public mutating func apply(_ command: VRRPSyncGroupCommand.Command, at now: Instant) -> [Action] {
        var actions: [Action] = []
        switch command {
        case .setGroupFault(let fault):
            inGroupFault = fault
            return reevaluateFault(at: now)
        case .becomeMaster:
            if state == .backup {
                becomeMaster(at: now, into: &actions)
            }
        case .becomeBackup:
            if state == .master {
                masterAdvertisementInterval = settings.wireAdvertisementInterval
                becomeBackup(at: now, into: &actions)
            }
        }
        return actions
    }

    // MARK: Receiving

    private mutating func receiveAsBackup(
        _ advertisement: VRRPAdvertisement,
        from source: IPAddress,
        at now: Instant,
        into actions: inout [Action]
    ) {
        let priority = effectivePriority
        if advertisement.priority == 0 {
            // RFC 5798 §6.4.2: the master resigned: "Set the Master_Down_Timer to Skew_Time".
            schedule(.masterDown, at: now.advanced(by: masterDownTimer.skewTime), into: &actions)
            return
        }
        // keepalived's preempt_delay: a lower-priority master is still followed until preempt_time passes.
        let preemptDelayRunning = settings.preemptDelay > .zero && (preemptDeadline.map { now < $0 } ?? true)
        guard !settings.preempt || advertisement.priority >= priority || preemptDelayRunning else {
            // RFC 5798 §6.4.2: "Otherwise, discard the ADVERTISEMENT": the down timer runs on and we preempt.
            return
        }
        // RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT,
        // Recompute the Skew_Time, Recompute the Master_Down_Interval, Reset the Master_Down_Timer".
        if settings.version == .v3 {
            masterAdvertisementInterval = advertisement.advertisementInterval
        }
        masterAddress = source
        masterPriority = advertisement.priority
        schedule(.masterDown, at: masterDownDeadline(from: now), into: &actions)
        if settings.preemptDelay > .zero {
            if advertisement.priority >= priority {
                preemptDeadline = nil
            } else if preemptDeadline == nil {
                preemptDeadline = now.advanced(by: settings.preemptDelay)
            }
        }
    }

    private mutating func receiveAsMaster(
        _ advertisement: VRRPAdvertisement,
        from source: IPAddress,
        at now: Instant,
        into actions: inout [Action]
    ) {
        let priority = effectivePriority
        if advertisement.priority == 0 {
            // RFC 5798 §6.4.3: a resigning peer: "Send an ADVERTISEMENT, Reset the Adver_Timer".
            send(priority: priority, at: now, into: &actions)
            schedule(.advertisement, at: now.advanced(by: settings.wireAdvertisementInterval), into: &actions)
            return
        }
        // RFC 5798 §6.4.3: ties go to the greater primary address (compared as unsigned integers).
        let addressOrder = IPAddress.compareNumerically(source, settings.primaryAddress) ?? 0
        let isHigher = advertisement.priority > priority || (advertisement.priority == priority && addressOrder > 0)
        let isLower = advertisement.priority < priority || (advertisement.priority == priority && addressOrder < 0)
        if isHigher {
            if settings.higherPrioritySendAdvert {
                send(priority: priority, at: now, into: &actions)
            }
            // RFC 5798 §6.4.3: "Cancel Adver_Timer, Set Master_Adver_Interval to Adver Interval contained in the
            // ADVERTISEMENT, Recompute the Skew_Time, ..., Transition to the {Backup} state".
            if settings.version == .v3 {
                masterAdvertisementInterval = advertisement.advertisementInterval
            }
            masterAddress = source
            masterPriority = advertisement.priority
            becomeBackup(at: now, into: &actions)
        } else if isLower {
            // keepalived answers a lower-priority master at once, forcing a new election.
            if !settings.lowerPriorityNoAdvert {
                send(priority: priority, at: now, into: &actions)
            }
            // A peer thinks it is master (a split brain healing): neighbours that learnt its MAC must learn ours
            // again (keepalived's garp_lower_prio_repeat / _delay).
            announceAfterLowerPriority(at: now, into: &actions)
            actions.append(.heardLowerPriority(from: source, priority: advertisement.priority))
        }
    }

    /// Another member of this instance's sync group heard a lower priority: a master re-announces its addresses
    /// as if it had heard it itself (keepalived).
    public mutating func groupHeardLowerPriority(at now: Instant) -> [Action] {
        guard state == .master else { return [] }
        var actions: [Action] = []
        announceAfterLowerPriority(at: now, into: &actions)
        return actions
    }

    private mutating func announceAfterLowerPriority(at now: Instant, into actions: inout [Action]) {
        guard settings.garpLowerPriorityRepeat > 0 else { return }
        actions.append(.sendGratuitousAnnouncements(count: settings.garpLowerPriorityRepeat))
        if settings.garpLowerPriorityDelay > .zero {
            schedule(.gratuitousLowerPriority, at: now.advanced(by: settings.garpLowerPriorityDelay), into: &actions)
        }
    }

    // MARK: Transitions

    private mutating func becomeMaster(at now: Instant, into actions: inout [Action]) {
        cancel(.masterDown, into: &actions)
        state = .master
        masterAddress = settings.primaryAddress
        masterPriority = nil
        preemptDeadline = nil
        masterAdvertisementInterval = settings.wireAdvertisementInterval
        // RFC 5798 §6.4.1/§6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP / unsolicited NA, set the
        // Adver_Timer; keepalived adds the addresses and announces them before advertising.
        actions.append(.becomeMaster)
        if settings.garpMasterRepeat > 0 {
            actions.append(.sendGratuitousAnnouncements(count: settings.garpMasterRepeat))
        }
        actions.append(.notify(.master))
        send(priority: effectivePriority, at: now, into: &actions)
        schedule(.advertisement, at: now.advanced(by: settings.wireAdvertisementInterval), into: &actions)
        if settings.garpMasterDelay > .zero && settings.garpMasterRepeat > 0 {
            schedule(.gratuitousDelay, at: now.advanced(by: settings.garpMasterDelay), into: &actions)
        }
        if settings.garpMasterRefresh > .zero && settings.garpMasterRefreshRepeat > 0 {
            schedule(.gratuitousRefresh, at: now.advanced(by: settings.garpMasterRefresh), into: &actions)
        }
        if settings.garpExtraInterval > .zero {
            schedule(.gratuitousExtraInterfaces, at: now.advanced(by: settings.garpExtraInterval), into: &actions)
        }
    }

    /// Enters BACKUP with Master_Down_Timer set from the current Master_Adver_Interval (RFC 5798 §6.4.1).
    private mutating func becomeBackup(at now: Instant, into actions: inout [Action]) {
        cancelAllTimers(into: &actions)
        state = .backup
        actions += [.becomeBackup, .notify(.backup)]
        schedule(.masterDown, at: masterDownDeadline(from: now), into: &actions)
    }

    /// When a Master_Down_Timer reset at `now` fires: one Master_Down_Interval later, counted from the end of
    /// `vrrp_startup_delay` while it runs.
    private mutating func masterDownDeadline(from now: Instant) -> Instant {
        if let start = delayedStart {
            if now < start { return start.advanced(by: masterDownTimer.interval) }
            delayedStart = nil
        }
        return now.advanced(by: masterDownTimer.interval)
    }

    private mutating func enterFault(at now: Instant, into actions: inout [Action]) {
        if state == .master {
            // keepalived: a master going to FAULT resigns so the backups need not wait Master_Down_Interval.
            send(priority: 0, at: now, into: &actions)
        }
        cancelAllTimers(into: &actions)
        state = .fault
        masterAddress = nil
        masterPriority = nil
        preemptDeadline = nil
        actions += [.enterFault, .notify(.fault)]
    }

    private mutating func reevaluateFault(at now: Instant) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .backup where isFaulted, .master where isFaulted:
            enterFault(at: now, into: &actions)
        case .fault where !isFaulted:
            // keepalived leaves FAULT for BACKUP with the configured interval; the owner goes straight to
            // MASTER as at startup (RFC 5798 §6.4.1).
            masterAdvertisementInterval = settings.wireAdvertisementInterval
            if effectivePriority == 255 {
                becomeMaster(at: now, into: &actions)
            } else {
                becomeBackup(at: now, into: &actions)
            }
        default:
            break
        }
        return actions
    }

    // MARK: Timers and sending

    private mutating func send(priority: UInt8, at now: Instant, into actions: inout [Action]) {
        lastAdvertisementSent = now
        actions.append(.sendAdvertisement(priority: priority))
    }

    private mutating func schedule(_ timer: VRRPTimer, at deadline: Instant, into actions: inout [Action]) {
        deadlines[timer] = deadline
        actions.append(.scheduleTimer(timer, at: deadline))
    }

    private mutating func cancel(_ timer: VRRPTimer, into actions: inout [Action]) {
        if deadlines.removeValue(forKey: timer) != nil {
            actions.append(.cancelTimer(timer))
        }
    }

    private mutating func cancelAllTimers(into actions: inout [Action]) {
        for timer in VRRPTimer.allCases {
            cancel(timer, into: &actions)
        }
    }
}
