/// Keeps a log line an outsider can trigger (a dropped packet, a malformed message) from flooding the log:
/// the first event of a kind is logged at once, the ones after it within `interval` are only counted, and the
/// next line of that kind (or `summaries(at:)`, called from a timer) says how many were held back.
///
/// Pure and clock-injected: the caller passes `now`. Kinds are the caller's bounded keys (an instance and a
/// receive check, never an attacker-chosen value such as a source address); at most `maxKinds` are tracked,
/// and events of further kinds are counted under the overflow total.
public struct LogRateLimiter<Kind: Hashable & Sendable, Instant: InstantProtocol & Sendable>: Sendable
where Instant.Duration == Duration {
    /// What to do with one event.
    public enum Decision: Hashable, Sendable {
        /// Log it; `suppressed` events of its kind were held back since the last line.
        case log(suppressed: Int)
        /// Only count it.
        case suppress
    }

    /// One line to write for events held back: `count` of `kind` since the last line.
    public struct Summary: Hashable, Sendable {
        public var kind: Kind
        public var count: Int

        public init(kind: Kind, count: Int) {
            self.kind = kind
            self.count = count
        }
    }

    public let interval: Duration
    public let maxKinds: Int
    private var kinds: [Kind: (loggedAt: Instant, suppressed: Int)] = [:]
    /// Every event recorded, logged or not.
    public private(set) var total: UInt64 = 0
    /// Events of kinds past `maxKinds`: counted, never logged one by one.
    public private(set) var overflow: UInt64 = 0

    public init(interval: Duration = .seconds(10), maxKinds: Int = 256) {
        self.interval = interval
        self.maxKinds = maxKinds
    }

    /// Records one event of `kind` at `now` and says whether to log it.
    public mutating func record(_ kind: Kind, at now: Instant) -> Decision {
        total &+= 1
        guard let entry = kinds[kind] else {
            if kinds.count >= maxKinds {
                forgetQuiet(at: now)
                guard kinds.count < maxKinds else {
                    overflow &+= 1
                    return .suppress
                }
            }
            kinds[kind] = (now, 0)
            return .log(suppressed: 0)
        }
        guard entry.loggedAt.duration(to: now) >= interval else {
            kinds[kind]?.suppressed += 1
            return .suppress
        }
        kinds[kind] = (now, 0)
        return .log(suppressed: entry.suppressed)
    }

    /// The kinds with events held back for a whole `interval`: one summary line each, so the count of the
    /// last burst is logged even when no further event comes. Their windows restart at `now`.
    public mutating func summaries(at now: Instant) -> [Summary] {
        var due: [Summary] = []
        for (kind, entry) in kinds where entry.suppressed > 0 && entry.loggedAt.duration(to: now) >= interval {
            due.append(Summary(kind: kind, count: entry.suppressed))
            kinds[kind] = (now, 0)
        }
        return due
    }

    /// Drops kinds quiet for a whole interval with nothing held back (their next event is a first again).
    private mutating func forgetQuiet(at now: Instant) {
        kinds = kinds.filter { $0.value.suppressed > 0 || $0.value.loggedAt.duration(to: now) < interval }
    }

    /// `" (and 1234 more like it since the last such line)"`, or "" for none: the tail of a logged line.
    public func heldBackText(_ suppressed: Int) -> String {
        suppressed == 0 ? "" : " (and \(suppressed) more like it since the last such line)"
    }
}
