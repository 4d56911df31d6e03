import Config
import Testing

@testable import CheckerWorker

@Suite("Checker engine: scheduling and health in virtual time")
struct EngineSchedulerTests {
    /// A plan with keepalived's TCP_CHECK knobs, in seconds.
    func plan(
        delayLoop: Int = 2, retry: Int = 2, delayBeforeRetry: Int = 1, warmup: Int = 0, alpha: Bool = false,
        rise: Int? = nil, fall: Int? = nil
    ) -> HealthScheduler.CheckPlan {
        var timing = CheckTiming()
        timing.delayLoop = .seconds(delayLoop)
        timing.retry = retry
        timing.delayBeforeRetry = .seconds(delayBeforeRetry)
        timing.warmup = .seconds(warmup)
        timing.alpha = alpha
        return HealthScheduler.CheckPlan(keyword: "TCP_CHECK", timing: timing, rise: rise, fall: fall)
    }

    /// Runs the scheduler from 0 to `until` in 10 ms steps; `outcome(check, time)` answers each attempt at once.
    /// Returns the times (ms) of every attempt and of every health change.
    func simulate(
        _ scheduler: inout HealthScheduler, until: Duration,
        outcome: (HealthScheduler.CheckID, Duration) -> ProbeOutcome
    ) -> (attempts: [Int64], changes: [(Int64, Bool)]) {
        var attempts: [Int64] = []
        var changes: [(Int64, Bool)] = []
        var now = Duration.zero
        while now <= until {
            for id in scheduler.due(now: now).map(\.id) {
                attempts.append(HealthScheduler.nanoseconds(now) / 1_000_000)
                let change = scheduler.record(outcome(id, now), for: id, now: now)
                if change.healthChanged { changes.append((HealthScheduler.nanoseconds(now) / 1_000_000, change.isUp)) }
            }
            now += .milliseconds(10)
        }
        return (attempts, changes)
    }

    func scheduler(_ plans: [HealthScheduler.CheckPlan], initiallyUp: Bool? = nil) -> HealthScheduler {
        var scheduler = HealthScheduler()
        var random = SystemRandomNumberGenerator()
        scheduler.addServer(plans, initiallyUp: initiallyUp, now: .zero, using: &random)
        return scheduler
    }

    @Test("a check's state is stored narrow (128 bytes) and reads back what was written")
    func narrowState() {
        var state = HealthScheduler.CheckState(
            plan: plan(rise: 3, fall: Int.max), passing: true, nextDue: .milliseconds(1_500), periodDue: .seconds(1))
        #expect(state.plan.keyword == "TCP_CHECK" && state.plan.kind == 0)
        #expect(state.plan.rise == 3 && state.plan.fall == Int(UInt32.max))
        #expect(state.nextDue == .milliseconds(1_500) && state.periodDue == .seconds(1) && state.startedAt == .zero)
        state.consecutiveFailures = 4
        state.consecutiveSuccesses = -1
        state.startedAt = .nanoseconds(123_456_789)
        #expect(state.consecutiveFailures == 4 && state.consecutiveSuccesses == 0)
        #expect(state.startedAt == .nanoseconds(123_456_789))
        #expect(HealthScheduler.CheckPlan(keyword: "BFD_CHECK", timing: CheckTiming()).keyword == "BFD_CHECK")
        #expect(HealthScheduler.CheckPlan(keyword: "NO_SUCH_CHECK", timing: CheckTiming()).keyword == "other")
        #expect(MemoryLayout<HealthScheduler.CheckState>.stride <= 128)
        #expect(MemoryLayout<DueEntry>.stride == 16)
    }

    @Test("a failing server is retried `retry` times, `delay_before_retry` apart, then declared down")
    func retryTiming() {
        var scheduler = scheduler([plan(delayLoop: 2, retry: 2, delayBeforeRetry: 1)])
        // warmup 0: the first check runs within the jitter (≤ 100 ms); the server dies at t = 3 s.
        var first: Int64?
        let result = simulate(&scheduler, until: .seconds(12)) { _, now in
            first = first ?? HealthScheduler.nanoseconds(now) / 1_000_000
            return now < .seconds(3) ? .success() : .failure("TCP_CHECK: connection refused")
        }
        let start = try! #require(first)
        #expect(start <= 100)
        // Attempts every 2 s while up; after the first failure at start+4 s, retries at +1 s and +2 s.
        #expect(Array(result.attempts.prefix(5)) == [start, start + 2000, start + 4000, start + 5000, start + 6000])
        #expect(result.changes.count == 1)
        #expect(result.changes.first?.0 == start + 6000)
        #expect(result.changes.first?.1 == false)
        // Down: back to the normal period.
        #expect(result.attempts.dropFirst(5).first == start + 8000)
    }

    @Test("rise and fall count consecutive attempts")
    func riseAndFall() {
        var scheduler = scheduler([plan(delayLoop: 1, retry: 0, delayBeforeRetry: 1, rise: 3, fall: 2)])
        // Fails from 2 s to 6 s, then succeeds.
        let result = simulate(&scheduler, until: .seconds(14)) { _, now in
            now >= .seconds(2) && now < .seconds(6) ? .failure("down") : .success()
        }
        let attempts = result.attempts
        let firstFailure = try! #require(attempts.first { $0 >= 2000 })
        let firstSuccessAfter = try! #require(attempts.first { $0 >= 6000 })
        #expect(result.changes.map(\.1) == [false, true])
        // fall 2: down on the second failed attempt (1 s later); rise 3: up on the third success (2 s later).
        #expect(result.changes[0].0 == firstFailure + 1000)
        #expect(result.changes[1].0 == firstSuccessAfter + 2000)
    }

    @Test("a single blip does not take a server down when retries remain; keepalived's default")
    func blipDoesNotFlap() {
        var scheduler = scheduler([plan(delayLoop: 2, retry: 1, delayBeforeRetry: 1)])
        var failedOnce = false
        let result = simulate(&scheduler, until: .seconds(10)) { _, now in
            if now >= .seconds(4), !failedOnce {
                failedOnce = true
                return .failure("blip")
            }
            return .success()
        }
        #expect(failedOnce)
        #expect(result.changes.isEmpty)
    }

    @Test("alpha starts the server down until a check succeeds")
    func alpha() {
        var scheduler = scheduler([plan(alpha: true)])
        #expect(!scheduler.servers[0].isUp)
        #expect(scheduler.servers[0].detail == "TCP_CHECK: not yet passed")
        let result = simulate(&scheduler, until: .seconds(1)) { _, _ in .success() }
        #expect(result.changes.count == 1)
        #expect(result.changes.first?.1 == true)
        #expect(scheduler.servers[0].isUp)
        #expect(scheduler.servers[0].detail == nil)
    }

    @Test("a real server with several checkers is up only while all of them pass")
    func severalCheckers() {
        var scheduler = scheduler([plan(retry: 0), plan(retry: 0)])
        // The second checker fails from 3 s to 7 s.
        let result = simulate(&scheduler, until: .seconds(12)) { id, now in
            id.checker == 1 && now >= .seconds(3) && now < .seconds(7) ? .failure("HTTP_GET: status 503") : .success()
        }
        #expect(result.changes.map(\.1) == [false, true])
        #expect(scheduler.servers[0].checks[0].failures == 0)
        #expect(scheduler.servers[0].checks[1].failures >= 1)
    }

    @Test("a dynamic weight from misc_dynamic / FILE_CHECK is a weight change, not a health change")
    func dynamicWeight() {
        var scheduler = scheduler([plan()])
        let id = HealthScheduler.CheckID(server: 0, checker: 0)
        _ = scheduler.due(now: .seconds(1))
        let change = scheduler.record(.success(weight: 7), for: id, now: .seconds(1))
        #expect(change.weightChanged)
        #expect(!change.healthChanged)
        #expect(scheduler.servers[0].dynamicWeight == 7)
    }

    @Test("the first check waits a random time within warmup, spreading a thousand checks")
    func warmupSpreads() {
        var scheduler = HealthScheduler()
        var random = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            scheduler.addServer([plan(delayLoop: 1, warmup: 5)], initiallyUp: true, now: .zero, using: &random)
        }
        let dues = scheduler.servers.map { HealthScheduler.nanoseconds($0.checks[0].nextDue) }
        #expect(dues.allSatisfy { $0 >= 0 && $0 <= 5_100_000_000 })
        // 1,000 checks in 5 s: no millisecond holds more than a handful.
        let perMillisecond = Dictionary(grouping: dues, by: { $0 / 1_000_000 }).values.map(\.count)
        #expect(perMillisecond.max() ?? 0 <= 5)
        // Without warmup the jitter alone still spreads them over 100 ms.
        var plain = HealthScheduler()
        for _ in 0..<1000 {
            plain.addServer([plan(delayLoop: 1, warmup: 0)], initiallyUp: true, now: .zero, using: &random)
        }
        let spread = Set(plain.servers.map { HealthScheduler.nanoseconds($0.checks[0].nextDue) / 1_000_000 })
        #expect(spread.count > 50)
    }

    @Test("suspended servers are not checked and do not set the wake-up time")
    func suspension() {
        var scheduler = scheduler([plan()])
        scheduler.setSuspended(true, server: 0)
        #expect(scheduler.due(now: .seconds(100)).isEmpty)
        #expect(scheduler.nextWakeup == nil)
        scheduler.setSuspended(false, server: 0)
        #expect(scheduler.due(now: .seconds(100)).count == 1)
    }

    @Test("the due queue: each check runs once per period in order; nextWakeup is the earliest waiting check")
    func dueQueueMatchesAScan() {
        var scheduler = HealthScheduler()
        var random = SystemRandomNumberGenerator()
        for index in 0..<200 {
            scheduler.addServer(
                [plan(delayLoop: 1 + index % 3, warmup: 2), plan(delayLoop: 2, warmup: 1)], initiallyUp: nil,
                now: .zero, using: &random)
        }
        scheduler.setSuspended(true, server: 7)
        var now = Duration.zero
        var runs = 0
        while now <= .seconds(12) {
            // What a scan of every check would give.
            let waiting = scheduler.servers.enumerated().filter { !$0.element.suspended }.flatMap { server in
                server.element.checks.enumerated().filter { !$0.element.inFlight }.map {
                    (HealthScheduler.CheckID(server: server.offset, checker: $0.offset), $0.element.nextDue)
                }
            }
            #expect(scheduler.nextWakeup == waiting.map(\.1).min())
            let due = scheduler.due(now: now).map(\.id)
            #expect(due.sorted() == waiting.filter { $0.1 <= now }.map(\.0).sorted())
            for id in due {
                // Every tenth attempt fails, so retries (delay_before_retry) mix with periods.
                runs += 1
                _ = scheduler.record(runs % 10 == 0 ? .failure("x") : .success(), for: id, now: now)
            }
            if now == .seconds(6) { scheduler.setSuspended(false, server: 7) }
            now += .milliseconds(50)
        }
        #expect(scheduler.servers[7].checks[0].runs > 0)
        #expect(runs > 2000)
    }

    @Test("quorum with hysteresis keeps its verdict inside the band")
    func quorumHysteresis() {
        #expect(QuorumRule.isMet(liveWeight: 3, quorum: 3, hysteresis: 1, wasMet: nil))
        #expect(QuorumRule.isMet(liveWeight: 2, quorum: 3, hysteresis: 1, wasMet: true))
        #expect(!QuorumRule.isMet(liveWeight: 1, quorum: 3, hysteresis: 1, wasMet: true))
        #expect(!QuorumRule.isMet(liveWeight: 3, quorum: 3, hysteresis: 1, wasMet: false))
        #expect(QuorumRule.isMet(liveWeight: 4, quorum: 3, hysteresis: 1, wasMet: false))
    }
}
