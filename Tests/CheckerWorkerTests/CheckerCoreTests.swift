import Config
import TestSupport
import Testing
import WorkerIPC

@testable import CheckerWorker

@Suite("Checker core")
struct CheckerCoreTests {
    static func configuration(services: Int = 1, reals: Int = 10, quorum: String = "") throws -> WorkerConfiguration {
        workerConfiguration(text(services: services, reals: reals, quorum: quorum))
    }

    static func text(services: Int, reals: Int = 10, quorum: String = "") -> String {
        var text = ""
        for service in 0..<services {
            text += "virtual_server 192.0.2.\(service + 1) 80 {\n delay_loop 1\n lb_kind DR\n\(quorum)\n"
            for real in 0..<reals {
                text += " real_server 198.51.100.\(real + 11) 80 {\n  TCP_CHECK {\n   retry 0\n   warmup 0\n  }\n }\n"
            }
            text += "}\n"
        }
        return text
    }

    /// The worker's configuration from a file's text, which must be valid.
    static func workerConfiguration(_ text: String) -> WorkerConfiguration {
        let loaded = ConfigLoader.load(text: text)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        return WorkerConfiguration(globalDefs: loaded.config.globalDefs, lvs: loaded.config.lvs)
    }

    @Test("the jitter generator is SplitMix64: its published first outputs for seed 0, and two seeds differ")
    func splitMixKnownAnswers() {
        var zero = SplitMix64(seed: 0)
        let published: [UInt64] = [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F]
        #expect([zero.next(), zero.next(), zero.next()] == published)
        var one = SplitMix64(seed: 1)
        var other = SplitMix64(seed: 2)
        #expect(one.next() != other.next())
    }

    @Test("a first delay's draw stays within its bound and reaches both ends of a small one")
    func drawsStayInRange() {
        var random = SplitMix64(seed: 3)
        for bound: Int64 in [0, 1, 10, 60_000_000_000] {
            let draws = (0..<2_000).map { _ in HealthScheduler.draw(upTo: bound, using: &random) }
            #expect(draws.allSatisfy { (0...bound).contains($0) }, "bound \(bound)")
            if bound <= 10 { #expect(Set(draws) == Set(0...bound), "bound \(bound)") }
        }
    }

    @Test("a first start matches no real server by identity, and a restart still resumes each one's saved health")
    func firstStartAndSavedHealth() throws {
        var configuration = try Self.configuration(services: 2, reals: 3)
        var core = CheckerCore()
        var random = SplitMix64(seed: 7)
        let first = core.configure(configuration, isReload: false, now: .zero, using: &random)
        #expect(first.build.count == 6 && first.dropped.isEmpty)
        // A successor worker: the previous one's report says the second real server of the first service is down.
        var report = core.report(ipvsServices: [])
        report.virtualServers[0].realServers[1].health = .down
        configuration.savedState = report
        var successor = CheckerCore()
        _ = successor.configure(configuration, isReload: false, now: .zero, using: &random)
        #expect(successor.scheduler.servers.map(\.isUp) == [true, false, true, true, true, true])
    }

    @Test("a reload that only moved the virtual servers (lines added above them) keeps every probe and schedule")
    func movedIsNotChanged() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 3)
        let old = try Self.configuration(services: 3)
        _ = core.configure(old, isReload: false, now: .zero, using: &random)
        let tokens = core.entries.map(\.token)
        var moved = Self.workerConfiguration("global_defs {\n router_id moved\n}\n\n" + Self.text(services: 3))
        let first = try #require(moved.lvs?.virtualServers.first)
        #expect(first.location.line != old.lvs?.virtualServers.first?.location.line)
        #expect(
            first.realServers[0].checkers[0].location.line
                != old.lvs?.virtualServers[0].realServers[0].checkers[0].location.line)
        let change = core.configure(moved, isReload: true, now: .seconds(1), using: &random)
        #expect(change.build.isEmpty && change.dropped.isEmpty && change.changed.isEmpty)
        #expect(core.entries.map(\.token) == tokens)
        // A real setting changed is still a change.
        moved.lvs?.virtualServers[1].realServers[2].weight = 5
        let weighed = core.configure(moved, isReload: true, now: .seconds(2), using: &random)
        #expect(weighed.changed == [1] && weighed.build.count == 1 && weighed.dropped.count == 1)
    }

    @Test("more checks due than may fly: the rest wait and start later, their lateness recorded")
    func limitAndLateness() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 1)
        _ = core.configure(try Self.configuration(), isReload: false, now: .zero, using: &random)
        // Every first check falls due within the jitter (at most 100 ms after configuring).
        let first = core.due(now: .milliseconds(100), limit: 3)
        #expect(first.count == 3)
        #expect(core.scheduler.inFlight == 3)
        // Half a second later the other seven start, about half a second late.
        let rest = core.due(now: .milliseconds(600), limit: 100)
        #expect(rest.count == 7)
        let p50 = try #require(core.lateness.quantile(0.5, now: .milliseconds(600)))
        #expect(p50 >= .milliseconds(400) && p50 <= .milliseconds(700))
        for check in first + rest {
            _ = core.completed(check.ticket, .success(), now: .seconds(2))
        }
        #expect(core.scheduler.inFlight == 0)
        #expect(core.counters.started == 10 && core.counters.succeeded == 10)
    }

    @Test("a check that could not run is no failure: the real server stays up and the check runs again within a second")
    func notRun() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 2)
        _ = core.configure(try Self.configuration(reals: 1), isReload: false, now: .zero, using: &random)
        let check = try #require(core.due(now: .seconds(1)).first)
        let update = core.completed(
            check.ticket, .notRun("TCP_CHECK x: socket: Too many open files"), now: .seconds(1))
        #expect(update.events.isEmpty && update.dirty.isEmpty)
        #expect(core.scheduler.servers[0].isUp)
        #expect(core.counters.notRun == 1 && core.counters.failed == 0)
        #expect(core.nextWakeup == .seconds(2))
        #expect(core.scheduler.servers[0].checks[0].consecutiveFailures == 0)
    }

    @Test("a real server down changes its virtual server only; losing the quorum is an event")
    func downAndQuorum() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 3)
        _ = core.configure(
            try Self.configuration(services: 2, reals: 2, quorum: " quorum 2"), isReload: false, now: .zero,
            using: &random)
        let due = core.due(now: .seconds(1))
        #expect(due.count == 4)
        let target = try #require(due.first { core.entries[$0.entry].virtualServer == 1 })
        let update = core.completed(target.ticket, .failure("refused"), now: .seconds(1))
        #expect(update.dirty == [1])
        #expect(update.events.contains(.quorum(virtualServer: 1, met: false, liveWeight: 1)))
        #expect(
            update.events.contains {
                if case .realServer(1, _, false, let reason) = $0 { reason == "refused" } else { false }
            })
        #expect(core.desiredServices(of: 1).first?.destinations.count == 1)
        #expect(core.desiredServices(of: 0).first?.destinations.count == 2)
    }

    @Test("latency histogram: quantiles over a sliding window")
    func histogram() {
        var histogram = LatencyHistogram(window: .seconds(30))
        for index in 0..<100 { histogram.record(.milliseconds(Int64(index < 99 ? 1 : 900)), now: .seconds(1)) }
        #expect((histogram.quantile(0.5, now: .seconds(1)) ?? .zero) <= .milliseconds(2))
        #expect((histogram.quantile(0.99, now: .seconds(1)) ?? .zero) <= .milliseconds(2))
        #expect((histogram.quantile(1.0, now: .seconds(1)) ?? .zero) >= .milliseconds(900))
        // Two windows later the samples have aged out; the totals stay for metrics.
        #expect(histogram.quantile(0.5, now: .seconds(70)) == nil)
        #expect(histogram.count == 100)
    }
}

@Suite("Check periods")
struct CheckPeriodTests {
    @Test("periods run start to start: checks spread at start stay spread after a stall that made them all late")
    func phaseKept() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 9)
        _ = core.configure(try CheckerCoreTests.configuration(reals: 10), isReload: false, now: .zero, using: &random)
        let phases = core.scheduler.servers.map { $0.checks[0].nextDue }
        // The loop was busy for 3.2 s: every first check is late, and they all run in one turn.
        let late = core.due(now: .milliseconds(3200))
        #expect(late.count == 10)
        for check in late { _ = core.completed(check.ticket, .success(), now: .milliseconds(3250)) }
        // Each keeps its phase: due at its first due time plus whole periods, the first after 3.25 s.
        for (index, server) in core.scheduler.servers.enumerated() {
            let expected =
                phases[index]
                + .seconds(Int64(((Duration.milliseconds(3250) - phases[index]) / .seconds(1)).rounded(.down)) + 1)
            #expect(server.checks[0].nextDue == expected)
        }
        #expect(Set(core.scheduler.servers.map { $0.checks[0].nextDue }).count == 10, "still spread")
    }

    @Test("a retry waits delay_before_retry after the failed attempt; the period after it keeps the phase")
    func retryThenPhase() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 4)
        var configuration = try CheckerCoreTests.configuration(reals: 1)
        configuration.lvs?.virtualServers[0].realServers[0].checkers[0].timing.retry = 1
        _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
        let first = core.scheduler.servers[0].checks[0].nextDue
        let attempt = try #require(core.due(now: first).first)
        _ = core.completed(attempt.ticket, .failure("refused"), now: first + .milliseconds(10))
        #expect(core.scheduler.servers[0].checks[0].nextDue == first + .milliseconds(10) + .seconds(1))
        let retry = try #require(core.due(now: first + .milliseconds(1010)).first)
        _ = core.completed(retry.ticket, .success(), now: first + .milliseconds(1020))
        #expect(core.scheduler.servers[0].checks[0].nextDue == first + .seconds(2))
    }
}

@Suite("log_all_failures")
struct LogAllFailuresTests {
    static func configuration(global: Bool, checker: Bool) throws -> WorkerConfiguration {
        let text = """
            global_defs {
            \(global ? " checker_log_all_failures" : "")
            }
            virtual_server 192.0.2.1 80 {
             delay_loop 10
             lb_kind DR
             protocol TCP
             real_server 198.51.100.11 80 {
              TCP_CHECK {
               retry 2
               delay_before_retry 1
               warmup 0
            \(checker ? "   log_all_failures" : "")
              }
             }
            }
            """
        #expect(ConfigLoader.load(text: text).diagnostics.isEmpty, "no 'not implemented' warning")
        return CheckerCoreTests.workerConfiguration(text)
    }

    /// Fails the one check `count` times in a row (each retry when due) and returns the failures logged.
    static func failures(_ configuration: WorkerConfiguration, count: Int) throws -> [String] {
        var core = CheckerCore()
        var random = SplitMix64(seed: 5)
        _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
        var now = Duration.zero
        var logged: [String] = []
        for _ in 0..<count {
            now = try #require(core.nextWakeup)
            let check = try #require(core.due(now: now).first)
            for event in core.completed(check.ticket, .failure("TCP_CHECK: refused"), now: now).events {
                if case .checkFailed(_, _, let reason, let attempt, let fall) = event {
                    logged.append("\(attempt)/\(fall) \(reason)")
                }
            }
        }
        return logged
    }

    @Test("each failed attempt of a passing checker is an event; none once it has failed, none without the keyword")
    func everyAttempt() throws {
        let expected = ["1/3 TCP_CHECK: refused", "2/3 TCP_CHECK: refused", "3/3 TCP_CHECK: refused"]
        #expect(try Self.failures(Self.configuration(global: false, checker: true), count: 5) == expected)
        #expect(try Self.failures(Self.configuration(global: true, checker: false), count: 5) == expected)
        #expect(try Self.failures(Self.configuration(global: false, checker: false), count: 5).isEmpty)
    }
}

@Suite("Checker changes and real servers that start up")
struct CheckerChangeTests {
    static func configuration(alpha: Bool = false) throws -> WorkerConfiguration {
        let check = "   warmup 0\n   retry 0\n" + (alpha ? "   alpha\n" : "")
        let text = """
            virtual_server 192.0.2.1 80 {
             delay_loop 1
             lb_kind DR
             real_server 198.51.100.11 80 {
              TCP_CHECK {
            \(check)  }
              TCP_CHECK {
               connect_port 81
            \(check)  }
             }
            }
            """
        return CheckerCoreTests.workerConfiguration(text)
    }

    @Test("a checker passing or failing while its real server stays down is a checker event, not a real server one")
    func checkerEvents() throws {
        var core = CheckerCore()
        var random = SplitMix64(seed: 6)
        _ = core.configure(try Self.configuration(), isReload: false, now: .zero, using: &random)
        var now = Duration.zero
        /// Runs checker `index`'s next attempt with `outcome`; its events.
        func run(_ index: Int, _ outcome: ProbeOutcome) throws -> [CheckerCore.Event] {
            var pending = core.due(now: now)
            while !pending.contains(where: { $0.ticket.checker == index }) {
                for check in pending { _ = core.completed(check.ticket, .success(), now: now) }
                now = try #require(core.nextWakeup)
                pending = core.due(now: now)
            }
            var events: [CheckerCore.Event] = []
            for check in pending {
                let result = core.completed(
                    check.ticket, check.ticket.checker == index ? outcome : .success(), now: now)
                if check.ticket.checker == index { events = result.events } else { #expect(result.events.isEmpty) }
            }
            return events
        }
        let down = try run(0, .failure("refused"))
        #expect(down.contains { if case .realServer(_, _, false, _) = $0 { true } else { false } })
        #expect(!down.contains { if case .checker = $0 { true } else { false } })
        #expect(try run(1, .failure("refused")) == [.checker(entry: 0, checker: 1, passing: false)])
        #expect(try run(0, .success()) == [.checker(entry: 0, checker: 0, passing: true)])
        let up = try run(1, .success())
        #expect(up.contains { if case .realServer(_, _, true, _) = $0 { true } else { false } })
        #expect(!up.contains { if case .checker = $0 { true } else { false } })
    }

    @Test(
        "real servers new to checking that start up are listed (rs_init_notifies); none with alpha, a saved state or a reload that keeps them"
    )
    func startedUp() throws {
        var random = SplitMix64(seed: 7)
        var core = CheckerCore()
        #expect(core.configure(try Self.configuration(), isReload: false, now: .zero, using: &random).startedUp == [0])
        #expect(core.configure(try Self.configuration(), isReload: true, now: .zero, using: &random).startedUp.isEmpty)
        var alpha = CheckerCore()
        #expect(
            alpha.configure(try Self.configuration(alpha: true), isReload: false, now: .zero, using: &random).startedUp
                .isEmpty)
        var saved = try Self.configuration()
        saved.savedState = WorkerState(
            virtualServers: [
                VirtualServerReport(
                    name: "192.0.2.1 80", health: .up,
                    realServers: [RealServerReport(server: ServerAddress(configName: "198.51.100.11 80")!, health: .up)]
                )
            ])
        var restarted = CheckerCore()
        #expect(restarted.configure(saved, isReload: false, now: .zero, using: &random).startedUp.isEmpty)
    }
}
