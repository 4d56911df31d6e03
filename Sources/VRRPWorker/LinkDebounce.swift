import Config

/// keepalived's `interface_up_down_delays`: the link state the instances act on, per interface, with each change
/// held back for the interface's delay. A change that is undone before its delay ends is never acted on (a flap
/// shorter than the delay is not seen); a change repeated while it waits keeps its first deadline.
///
/// As keepalived, only an interface that has been seen up is delayed: the first time one comes up is acted on at
/// once, and an interface without delays (or a delay of 0) is acted on at once. Pure: the caller passes the time
/// and arms a timer for `.wait`, calling `fire` when it runs.
struct LinkDebounce<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    struct Delays: Hashable, Sendable {
        var down: Duration
        var up: Duration
    }

    /// What the caller does with a link report.
    enum Decision: Equatable, Sendable {
        /// Act on the new state now.
        case act(isUp: Bool)
        /// Arm the interface's timer for `until` and call `fire` then.
        case wait(until: Instant)
        /// The waiting change was undone: cancel the timer; the state acted on stays.
        case cancel
        /// Nothing changes.
        case none
    }

    /// The delays by interface name.
    var delays: [String: Delays] = [:]
    /// The state acted on, by interface.
    private(set) var acted: [String: Bool] = [:]
    /// The change waiting for its delay, by interface.
    private(set) var pending: [String: (isUp: Bool, deadline: Instant)] = [:]
    private var seenUp: Set<String> = []

    init(delays: [String: Delays] = [:]) {
        self.delays = delays
    }

    /// The state acted on (nil: not known yet).
    func isUp(_ interface: String) -> Bool? { acted[interface] }

    /// The kernel reported `interface` up or down at `now`.
    mutating func observe(_ interface: String, isUp: Bool, at now: Instant) -> Decision {
        if let waiting = pending[interface] {
            if waiting.isUp == isUp { return .none }
            pending[interface] = nil
            return .cancel
        }
        guard acted[interface] != isUp else { return .none }
        let delay = delays[interface].map { isUp ? $0.up : $0.down } ?? .zero
        if acted[interface] != nil && seenUp.contains(interface) && delay > .zero {
            let deadline = now.advanced(by: delay)
            pending[interface] = (isUp, deadline)
            return .wait(until: deadline)
        }
        record(interface, isUp: isUp)
        return .act(isUp: isUp)
    }

    /// The interface's timer ran: the state to act on, or nil when nothing waits (cancelled meanwhile).
    mutating func fire(_ interface: String) -> Bool? {
        guard let waiting = pending.removeValue(forKey: interface) else { return nil }
        record(interface, isUp: waiting.isUp)
        return waiting.isUp
    }

    /// The new delays of a reload; a change waiting keeps its deadline.
    mutating func setDelays(_ new: [String: Delays]) { delays = new }

    private mutating func record(_ interface: String, isUp: Bool) {
        acted[interface] = isUp
        if isUp { seenUp.insert(interface) }
    }

    /// The delays of `configured` (keepalived's `interface_up_down_delays` lines), each held under what the instances
    /// on that interface allow, as keepalived does: a delay of (down_timer_adverts − 1) advert intervals or more, with
    /// which a backup would take over before this instance went to FAULT, becomes that less 1/256 of an interval;
    /// with `down_timer_adverts 1` there is none.
    /// - Returns: the delays, and a line for each one cut.
    static func effectiveDelays(
        _ configured: [InterfaceUpDownDelay],
        instances: [(interface: String, advertInterval: Duration, downTimerAdverts: Int)]
    ) -> (delays: [String: Delays], notes: [String]) {
        var delays: [String: Delays] = [:]
        var notes: [String] = []
        for line in configured {
            var delay = Delays(down: line.down, up: line.up)
            for instance in instances where instance.interface == line.interface {
                let adverts = instance.downTimerAdverts
                let threshold = instance.advertInterval * max(adverts - 1, 0)
                let limit = adverts <= 1 ? .zero : threshold - instance.advertInterval / 256
                let cut = Delays(
                    down: delay.down >= threshold ? limit : delay.down, up: delay.up >= threshold ? limit : delay.up)
                if cut != delay && (delay.down > .zero || delay.up > .zero) {
                    let why =
                        adverts <= 1
                        ? "there is no delay with down_timer_adverts 1"
                        : "a delay must be under \(adverts - 1) advert intervals (\(instance.advertInterval))"
                    notes.append(
                        "interface_up_down_delays for \(line.interface): down \(cut.down), up \(cut.up): \(why)")
                }
                delay = cut
            }
            delays[line.interface] = delay
        }
        return (delays, notes)
    }
}
