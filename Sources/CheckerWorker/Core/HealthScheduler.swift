import Config

/// The checker worker's pure core: when each check runs and what its results mean for the real servers.
/// No clock, no sockets: the shell passes `now` (any monotonic origin) and the probe outcomes in, and acts on
/// what comes back (start these checks, this real server changed, wake me at this time).
///
/// Per checker, keepalived's semantics (keepalived.conf(5), `check_*.c`):
/// - the first check runs after a random delay in [0, `warmup`], plus a small jitter (at most a tenth of
///   `delay_loop`, capped at 100 ms) so a thousand checks configured alike don't fire in the same millisecond;
/// - then one check every `delay_loop`, counted start to start (a check that ran late keeps its phase: checks
///   spread at start stay spread, and a burst after a busy moment does not repeat every period);
/// - a failed attempt is tried again `retry` times, `delay_before_retry` apart, before the checker fails.
///
/// Vigil's `fall N` replaces `retry + 1` as the number of consecutive failed attempts that fail a passing
/// checker, and `rise N` is the number of consecutive successes that make a failed checker pass again (1 in
/// keepalived). A real server is up only while every one of its checkers passes. `alpha` starts a checker failed.
public struct HealthScheduler: Sendable {
    /// One check of one real server: indexes into `servers` and the server's `checkers`.
    public struct CheckID: Hashable, Sendable, Comparable {
        public var server: Int
        public var checker: Int

        public init(server: Int, checker: Int) {
            self.server = server
            self.checker = checker
        }

        public static func < (lhs: CheckID, rhs: CheckID) -> Bool {
            (lhs.server, lhs.checker) < (rhs.server, rhs.checker)
        }
    }

    /// How one checker is run: its resolved timing and the real server's `rise`/`fall`. Stored narrow, like
    /// `CheckState` (one per real server's checker): the keyword is the kind's entry in `HealthScheduler.keywords`.
    public struct CheckPlan: Hashable, Sendable {
        public var timing: CheckTiming
        /// Consecutive failed attempts that fail a passing checker: `fall`, else `retry + 1`.
        @StoredAs<UInt32> public var fall: Int
        /// Consecutive successes that make a failed checker pass: `rise`, else 1.
        @StoredAs<UInt32> public var rise: Int
        private var kindIndex: UInt8
        /// Never probed: its verdict arrives as events (`BFD_CHECK` follows its BFD session).
        public var eventDriven = false

        /// The keyword's index in `HealthScheduler.keywords` (per-kind counters without hashing a string).
        public var kind: Int { Int(kindIndex) }
        /// The checker's keyword (`TCP_CHECK`, …; "other" for one `HealthScheduler.keywords` does not list).
        public var keyword: String { HealthScheduler.keywords[kind] }

        public init(keyword: String, timing: CheckTiming, rise: Int? = nil, fall: Int? = nil) {
            kindIndex = UInt8(HealthScheduler.keywords.firstIndex(of: keyword) ?? HealthScheduler.keywords.count - 1)
            self.timing = timing
            self.fall = max(1, fall ?? timing.retry + 1)
            self.rise = max(1, rise ?? 1)
        }

        public init(checker: Checker, realServer: RealServer) {
            if case .bfd = checker.kind {
                // The session's state is the verdict: no retries, no rise or fall.
                self.init(keyword: checker.kind.keyword, timing: checker.timing, rise: 1, fall: 1)
                eventDriven = true
                return
            }
            self.init(
                keyword: checker.kind.keyword, timing: checker.timing, rise: realServer.rise, fall: realServer.fall)
        }
    }

    /// One checker's state: one per real server's checker (10,000 in a farm of 1,000 × 10), so its fields are
    /// ordered and sized to pack (128 bytes; 240 with `Duration`s and `Int`s): instants in whole nanoseconds, the
    /// consecutive counts in `UInt32`s. Each reads and writes as before.
    public struct CheckState: Hashable, Sendable {
        public var plan: CheckPlan
        public var passing: Bool
        public var inFlight = false
        @StoredAs<UInt32> public var consecutiveFailures = 0
        @StoredAs<UInt32> public var consecutiveSuccesses = 0
        /// When the next attempt is due; meaningless while `inFlight`.
        @StoredAsNanoseconds public var nextDue: Duration
        /// When the current period's check was due: periods are counted from it (start to start), not from when a
        /// check ended, so checks spread at start stay spread whatever happens to one turn of the loop.
        @StoredAsNanoseconds public var periodDue: Duration
        /// When the attempt in flight started (the `started` of `due`), for its duration.
        @StoredAsNanoseconds public var startedAt: Duration = .zero
        /// The last failure's reason, cleared when the checker passes again.
        public var lastFailure: String?
        public var runs = 0
        public var failures = 0
        /// Attempts that could not run (a shortage of this host's), rescheduled without a verdict.
        public var notRun = 0

        public init(plan: CheckPlan, passing: Bool, nextDue: Duration, periodDue: Duration) {
            self.plan = plan
            self.passing = passing
            self.nextDue = nextDue
            self.periodDue = periodDue
        }
    }

    /// One real server's state.
    public struct ServerState: Hashable, Sendable {
        public var checks: [CheckState]
        /// The weight a `misc_dynamic` MISC_CHECK or FILE_CHECK set; `nil` is the configured one.
        public var dynamicWeight: Int?
        /// Checks paused (`ha_suspend` while no VRRP instance is MASTER).
        public var suspended = false

        /// Up while every checker passes (a real server without checkers is always up).
        public var isUp: Bool { checks.allSatisfy(\.passing) }

        /// The failing checkers' reasons, or nil when all pass.
        public var detail: String? {
            let reasons = checks.filter { !$0.passing }.map { $0.lastFailure ?? "\($0.plan.keyword): not yet passed" }
            return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
        }
    }

    /// What one recorded outcome changed for its real server.
    public struct Change: Hashable, Sendable {
        public var server: Int
        public var wasUp: Bool
        public var isUp: Bool
        public var weightChanged: Bool
        /// The outcome's failure reason, when it was one.
        public var reason: String?

        public var healthChanged: Bool { wasUp != isUp }
    }

    /// The checker keywords, in a fixed order (`CheckPlan.kind` indexes it; the last one stands for anything else).
    public static let keywords = [
        "TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK",
        "MISC_CHECK", "BFD_CHECK", "other",
    ]

    public private(set) var servers: [ServerState] = []
    /// Checks started and not recorded yet.
    public private(set) var inFlight = 0
    /// Every waiting check by its due time: `due` and `nextWakeup` cost O(log n) per check, not a scan of all
    /// of them (a thousand real servers checked every second would be a million visits a second). Entries go
    /// stale when a check is rescheduled, started or its server suspended; stale ones are dropped when they
    /// reach the top, which after every mutation is valid (or the queue empty).
    private var queue = MinHeap<DueEntry>()

    public init() {}

    /// Adds a real server whose checkers start at `now` (after their warm-up and jitter).
    /// - Parameter initiallyUp: the saved or kept health; nil lets each checker's `alpha` decide.
    /// - Returns: the server's index.
    @discardableResult
    public mutating func addServer(
        _ plans: [CheckPlan], initiallyUp: Bool?, dynamicWeight: Int? = nil, now: Duration,
        using random: inout some RandomNumberGenerator
    ) -> Int {
        let checks = plans.map { plan in
            let due = now + Self.firstDelay(plan.timing, using: &random)
            return CheckState(plan: plan, passing: initiallyUp ?? !plan.timing.alpha, nextDue: due, periodDue: due)
        }
        servers.append(ServerState(checks: checks, dynamicWeight: dynamicWeight))
        enqueueAll(server: servers.count - 1)
        return servers.count - 1
    }

    /// Adds a real server with the state it had (a reload that did not change its checkers): its timing, counters
    /// and in-flight checks carry on.
    /// - Returns: the server's index.
    @discardableResult
    public mutating func adoptServer(_ state: ServerState) -> Int {
        servers.append(state)
        inFlight += state.checks.filter(\.inFlight).count
        enqueueAll(server: servers.count - 1)
        return servers.count - 1
    }

    private mutating func enqueueAll(server: Int) {
        for (index, check) in servers[server].checks.enumerated() where !check.inFlight && !check.plan.eventDriven {
            queue.push(DueEntry(due: check.nextDue, id: CheckID(server: server, checker: index)))
        }
        dropStale()
    }

    /// Whether a queued entry still stands for a waiting check due at `due`.
    private func isCurrent(_ due: Duration, _ id: CheckID) -> Bool {
        let server = servers[id.server]
        let check = server.checks[id.checker]
        return !server.suspended && !check.inFlight && check.nextDue == due
    }

    private mutating func dropStale() {
        while let top = queue.top, !isCurrent(top.due, top.id) { queue.pop() }
    }

    /// The first check's delay: random in [0, warmup] plus the jitter.
    static func firstDelay(_ timing: CheckTiming, using random: inout some RandomNumberGenerator) -> Duration {
        let warmup = nanoseconds(timing.warmup)
        let jitterCap = min(nanoseconds(timing.delayLoop) / 10, 100_000_000)
        let delay =
            (warmup > 0 ? draw(upTo: warmup, using: &random) : 0)
            + (jitterCap > 0 ? draw(upTo: jitterCap, using: &random) : 0)
        return .nanoseconds(delay)
    }

    /// A value in 0...bound (bound ≥ 0): the high word of a 64-bit draw times the range (each value's chance off by
    /// less than 10⁻⁸ for a bound of a minute in nanoseconds). `Int64.random(in:using:)` ran the standard library's unspecialized generic
    /// code, about 2,000 instructions a draw, two draws per real server at each start.
    static func draw(upTo bound: Int64, using random: inout some RandomNumberGenerator) -> Int64 {
        Int64(random.next().multipliedFullWidth(by: UInt64(bound) + 1).high)
    }

    /// A duration in whole nanoseconds, never negative (the conversion is `Duration.clampedNanoseconds`).
    static func nanoseconds(_ duration: Duration) -> Int64 { max(0, duration.clampedNanoseconds) }

    /// Pauses or resumes a server's checks. Resumed checks run at once if their time has passed.
    public mutating func setSuspended(_ suspended: Bool, server: Int) {
        guard servers[server].suspended != suspended else { return }
        servers[server].suspended = suspended
        if suspended { dropStale() } else { enqueueAll(server: server) }
    }

    /// Moves every waiting check `delay` later, keeping its phase: time stood still for the checks while they
    /// were held (the worker's first IPVS programming, which a check's verdict could not act on before). Checks in
    /// flight are left alone.
    public mutating func shift(by delay: Duration) {
        guard delay > .zero else { return }
        queue = MinHeap<DueEntry>()
        for server in servers.indices {
            for checker in servers[server].checks.indices where !servers[server].checks[checker].inFlight {
                servers[server].checks[checker].nextDue += delay
                servers[server].checks[checker].periodDue += delay
            }
            enqueueAll(server: server)
        }
    }

    /// A check to start now, and how late it starts.
    public struct DueCheck: Hashable, Sendable {
        public var id: CheckID
        /// How long after its due time it starts (zero when it starts early, within the caller's slack).
        public var lateness: Duration
    }

    /// The checks due at `now`, earliest first, marked in flight; the shell starts one probe for each and calls
    /// `record`. At most `limit` start: the rest wait in the queue (their lateness grows, and shows), so a host
    /// that cannot keep up spreads the checks instead of opening more sockets than it has.
    /// - Parameter started: the time the checks start (lateness is measured from it); `now` may lie a little
    ///   ahead of it, to start checks due within the next few milliseconds in the same turn.
    public mutating func due(now: Duration, started: Duration? = nil, limit: Int = .max) -> [DueCheck] {
        let start = started ?? now
        var result: [DueCheck] = []
        while result.count < limit, let top = queue.top, top.due <= now {
            queue.pop()
            guard isCurrent(top.due, top.id) else { continue }
            servers[top.id.server].checks[top.id.checker].inFlight = true
            servers[top.id.server].checks[top.id.checker].startedAt = start
            result.append(DueCheck(id: top.id, lateness: max(.zero, start - top.due)))
        }
        inFlight += result.count
        dropStale()
        return result
    }

    /// The first period start after `now`: `delay_loop` after the current period's, or as many as it takes to pass
    /// `now` (a check that ran late, or past a whole period, keeps its phase and skips what it missed).
    static func nextPeriod(_ check: inout CheckState, after now: Duration) -> Duration {
        let period = check.plan.timing.delayLoop
        var next = check.periodDue + period
        if next <= now {
            guard period > .zero else { return now }
            let missed = Int64(((now - next) / period).rounded(.down)) + 1
            next += period * missed
        }
        check.periodDue = next
        return next
    }

    /// How soon a check that could not run is tried again.
    public static func notRunRetry(_ timing: CheckTiming) -> Duration { min(timing.delayLoop, .seconds(1)) }

    /// When the next check falls due, nil when none is waiting (all in flight, suspended, or none configured).
    public var nextWakeup: Duration? { queue.top?.due }

    /// Records one attempt's outcome and schedules the next attempt.
    public mutating func record(_ outcome: ProbeOutcome, for id: CheckID, now: Duration) -> Change {
        let wasUp = servers[id.server].isUp
        let oldWeight = servers[id.server].dynamicWeight
        var check = servers[id.server].checks[id.checker]
        if check.inFlight { inFlight -= 1 }
        check.inFlight = false
        var reason: String?
        switch outcome {
        case .notRun:
            check.notRun += 1
            check.nextDue = now + Self.notRunRetry(check.plan.timing)
            servers[id.server].checks[id.checker] = check
            if !servers[id.server].suspended { queue.push(DueEntry(due: check.nextDue, id: id)) }
            dropStale()
            let isUp = servers[id.server].isUp
            return Change(server: id.server, wasUp: wasUp, isUp: isUp, weightChanged: false, reason: nil)
        case .success(let weight):
            check.runs += 1
            check.consecutiveFailures = 0
            check.consecutiveSuccesses += 1
            if !check.passing, check.consecutiveSuccesses >= check.plan.rise {
                check.passing = true
                check.lastFailure = nil
            }
            if let weight { servers[id.server].dynamicWeight = weight }
            check.nextDue = Self.nextPeriod(&check, after: now)
        case .failure(let text):
            check.runs += 1
            reason = text
            check.failures += 1
            check.consecutiveSuccesses = 0
            check.consecutiveFailures += 1
            check.lastFailure = text
            if check.passing, check.consecutiveFailures >= check.plan.fall { check.passing = false }
            // Retry while a passing checker has attempts left before it fails (delay_before_retry after this
            // attempt); otherwise the next period.
            check.nextDue =
                check.passing ? now + check.plan.timing.delayBeforeRetry : Self.nextPeriod(&check, after: now)
        }
        servers[id.server].checks[id.checker] = check
        if !servers[id.server].suspended && !check.plan.eventDriven {
            queue.push(DueEntry(due: check.nextDue, id: id))
        }
        dropStale()
        return Change(
            server: id.server, wasUp: wasUp, isUp: servers[id.server].isUp,
            weightChanged: oldWeight != servers[id.server].dynamicWeight, reason: reason)
    }

    /// Sets an event-driven check's verdict (`BFD_CHECK`: its session went up or down); `failure` is the reason
    /// when it fails. The server's other checks go on as scheduled.
    public mutating func set(passing: Bool, for id: CheckID, failure: String? = nil) -> Change {
        let wasUp = servers[id.server].isUp
        var check = servers[id.server].checks[id.checker]
        check.runs += 1
        check.passing = passing
        check.lastFailure = passing ? nil : failure
        if !passing { check.failures += 1 }
        servers[id.server].checks[id.checker] = check
        return Change(
            server: id.server, wasUp: wasUp, isUp: servers[id.server].isUp, weightChanged: false,
            reason: passing ? nil : failure)
    }
}

/// One waiting check by its due time: the scheduler's queue entries (ties broken by server, then checker).
///
/// The due time is kept in whole nanoseconds, as `CheckState` keeps it: comparing `Duration`s goes through 128-bit
/// arithmetic, and the heap compares about 2 log₂(n) times per check. With the check's indexes as `UInt32`s an
/// entry is 16 bytes, not 40 (the queue holds one per check and the stale ones not yet popped).
struct DueEntry: Comparable, Sendable {
    let order: Int64
    private let server: UInt32
    private let checker: UInt32

    init(due: Duration, id: HealthScheduler.CheckID) {
        order = due.clampedNanoseconds
        server = UInt32(id.server)
        checker = UInt32(id.checker)
    }

    var due: Duration { .nanoseconds(order) }
    var id: HealthScheduler.CheckID { HealthScheduler.CheckID(server: Int(server), checker: Int(checker)) }

    static func < (a: DueEntry, b: DueEntry) -> Bool {
        (a.order, a.server, a.checker) < (b.order, b.server, b.checker)
    }
}

/// `quorum` with `hysteresis` (keepalived's `update_quorum_state`): the quorum is gained when the live weight
/// reaches `quorum + hysteresis` and lost when it falls below `quorum - hysteresis`; in between it keeps its
/// previous verdict.
public enum QuorumRule {
    public static func isMet(liveWeight: Int, quorum: Int, hysteresis: Int, wasMet: Bool?) -> Bool {
        switch wasMet {
        case nil: liveWeight >= quorum
        case true?: liveWeight >= quorum - hysteresis
        case false?: liveWeight >= quorum + hysteresis
        }
    }
}
