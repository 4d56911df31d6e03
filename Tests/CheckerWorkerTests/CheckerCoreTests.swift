import Config
import TestSupport
import Testing
import WorkerIPC

@testable import CheckerWorker

@Suite("Checker core")
struct CheckerCoreTests {
    static func configuration(services: Int = 1, reals: Int = 10, quorum: String = "") throws -> WorkerConfiguration {
        var text = ""
        for service in 0..<services {
            text += "virtual_server 192.0.2.\(service + 1) 80 {\n delay_loop 1\n lb_kind DR\n\(quorum)\n"
            for real in 0..<reals {
                text += " real_server 198.51.100.\(real + 11) 80 {\n  TCP_CHECK {\n   retry 0\n   warmup 0\n  }\n }\n"
            }
            text += "}\n"
        }
        let loaded = ConfigLoader.load(text: text)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        return WorkerConfiguration(globalDefs: loaded.config.globalDefs, lvs: loaded.config.lvs)
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
