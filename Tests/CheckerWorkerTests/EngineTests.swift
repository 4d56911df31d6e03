import Config
import Foundation
import IPVSShim
import Logging
import NIOCore
import NIOEmbedded
import Netlink
import Testing
import WorkerIPC

@testable import CheckerWorker

/// Real servers the fake probes "reach": an address is up unless marked down. Single-threaded (the embedded loop).
final class FakeNetwork: @unchecked Sendable {
    var down: Set<String> = []
    var attempts: [String: Int] = [:]
    /// Probes of these addresses do not answer until the test completes `pending`.
    var hold: Set<String> = []
    var pending: [String: EventLoopPromise<ProbeOutcome>] = [:]
}

struct FakeProbe: HealthProbe {
    let network: FakeNetwork
    let address: String
    let keyword: String

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        network.attempts[address, default: 0] += 1
        if network.hold.contains(address) {
            let promise = loop.makePromise(of: ProbeOutcome.self)
            network.pending[address] = promise
            return promise.futureResult
        }
        return loop.makeSucceededFuture(
            network.down.contains(address) ? .failure("\(keyword) \(address): connection refused") : .success())
    }
}

/// One engine on a check loop in virtual time, fake probes and a fake kernel.
final class EngineHarness {
    let loop = CheckLoop(virtualTimeFrom: .seconds(1000))
    let network = FakeNetwork()
    var kernel: IPVSFakeKernel? = IPVSFakeKernel()
    var ipvsAvailable = true
    var reports: [WorkerState] = []
    /// The services in the fake kernel when each report was sent.
    var servicesAtReport: [Int] = []
    var events: [String] = []
    var ipvsReports: [IPVSStatisticsReport] = []
    /// The traffic counters as the watchdog holds them after each report (`following`), and the reports that did not
    /// fit.
    var heldStatistics: IPVSStatisticsReport?
    var statisticsMisfits = 0
    var engine: CheckerEngine!
    /// With `reportChanges`: the changes sent after a whole report, each applied to the last report (as the watchdog
    /// does) and appended to `reports`; those that did not fit are counted.
    var changes: [WorkerStateChange] = []
    var misfits = 0

    init(reportChanges: Bool = false) {
        engine = CheckerEngine(
            loop: loop,
            sink: CheckerEngine.Sink(
                report: { [unowned self] in
                    reports.append($0)
                    servicesAtReport.append(kernel?.state.virtualServers.count ?? 0)
                },
                reportChange: !reportChanges
                    ? nil
                    : { [unowned self] change in
                        changes.append(change)
                        if let last = reports.last, let next = change.applied(to: last) {
                            reports.append(next)
                        } else {
                            misfits += 1
                        }
                    },
                event: { [unowned self] in events.append($0) },
                ipvsStatistics: { [unowned self] report in
                    ipvsReports.append(report)
                    if let next = report.following(heldStatistics) {
                        heldStatistics = next
                    } else {
                        statisticsMisfits += 1
                    }
                }),
            logger: Logger(label: "test"),
            makeProbe: { [network] checker, real, _, _ in
                FakeProbe(network: network, address: "\(real.address)", keyword: checker.kind.keyword)
            },
            makeIPVSClient: { [unowned self] () throws(NetlinkError) -> any IPVSClient in
                guard ipvsAvailable, let kernel else { throw NetlinkError(kernelErrno: 2, operation: "resolve IPVS") }
                return kernel
            })
    }

    func configuration(_ text: String, saved: WorkerState? = nil) throws -> WorkerConfiguration {
        let loaded = ConfigLoader.load(text: text)
        let errors = loaded.diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
        return WorkerConfiguration(
            globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs, savedState: saved)
    }

    func advance(seconds: Int64) { loop.advance(by: .seconds(seconds)) }

    /// The kernel's real servers of the first service, as `ADDRESS:PORT weight`.
    var destinations: [String] {
        (kernel?.state.virtualServers.first?.destinations ?? []).map { "\($0.address):\($0.port) w\($0.weight)" }
            .sorted()
    }

    func health(_ address: String) -> ServerHealth? {
        reports.last?.virtualServers.flatMap(\.realServers).first { $0.address == address }?.health
    }
}

@Suite("Checker engine: probes, IPVS and reports on an embedded loop")
struct EngineTests {
    static let twoServers = """
        virtual_server 192.0.2.100 80 {
            delay_loop 2
            lb_algo rr
            lb_kind DR
            protocol TCP
            real_server 198.51.100.11 80 {
                TCP_CHECK {
                    connect_timeout 1
                    retry 2
                    delay_before_retry 1
                    warmup 0
                }
            }
            real_server 198.51.100.12 80 {
                TCP_CHECK {
                    connect_timeout 1
                    retry 2
                    delay_before_retry 1
                    warmup 0
                }
            }
        }
        """

    @Test("after a whole report, one real server's change is sent as its virtual server's report alone")
    func reportChanges() throws {
        let three = (0..<3).map { Self.twoServers.replacingOccurrences(of: "192.0.2.100", with: "192.0.2.10\($0)") }
            .joined(separator: "\n")
        let whole = EngineHarness()
        let changing = EngineHarness(reportChanges: true)
        for harness in [whole, changing] {
            harness.engine.apply(try harness.configuration(three), isReload: false)
            harness.advance(seconds: 1)
            harness.network.down = ["198.51.100.12"]
            harness.advance(seconds: 5)
        }
        // 198.51.100.12 is in all three virtual servers: down in each, in one change after the first whole report.
        #expect(whole.health("198.51.100.12 80") == .down)
        #expect(changing.reports.count == whole.reports.count && changing.reports.last == whole.reports.last)
        #expect(changing.misfits == 0)
        #expect(changing.changes.map(\.indices) == [[0, 1, 2]])
        #expect(changing.changes.allSatisfy { $0.virtualServerCount == 3 && $0.ipvsServices == nil })
        // A reload: a whole report again (the virtual servers' indices may have moved); then the server back up is a
        // change again.
        let slower = three.replacingOccurrences(of: "delay_loop 2", with: "delay_loop 3")
        for harness in [whole, changing] {
            harness.engine.apply(try harness.configuration(slower), isReload: true)
            harness.network.down = []
            harness.advance(seconds: 10)
        }
        #expect(changing.reports.last == whole.reports.last && whole.health("198.51.100.12 80") == .up)
        // The three checks back up may end in one turn of the loop or in two (their order after the reload is the
        // scheduler's): each virtual server is named once, by whichever change carries it.
        #expect(changing.misfits == 0)
        #expect(changing.changes.dropFirst().flatMap(\.indices).sorted() == [0, 1, 2])
        // A change that does not fit the report it patches is refused.
        let last = try #require(whole.reports.last)
        let server = VirtualServerReport(name: "x", health: .up)
        #expect(
            WorkerStateChange(virtualServerCount: 3, indices: [3], virtualServers: [server]).applied(to: last) == nil)
        #expect(WorkerStateChange(virtualServerCount: 2, indices: [], virtualServers: []).applied(to: last) == nil)
        #expect(
            WorkerStateChange(virtualServerCount: 3, indices: [0, 1], virtualServers: [server]).applied(to: last) == nil
        )
        #expect(
            WorkerStateChange(virtualServerCount: 3, indices: [1], virtualServers: [server]).applied(to: last)?
                .virtualServers.map(\.name) == [last.virtualServers[0].name, "x", last.virtualServers[2].name])
    }

    @Test("a failing real server leaves IPVS after its retries and comes back; reports and events follow")
    func downAndUp() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: false)
        #expect(harness.destinations == ["198.51.100.11:80 w1", "198.51.100.12:80 w1"])
        harness.advance(seconds: 1)
        #expect(harness.network.attempts["198.51.100.11"] == 1)
        harness.network.down = ["198.51.100.11"]
        // Fails at ~2 s, retries at ~3 s and ~4 s: down after the third failed attempt.
        harness.advance(seconds: 2)
        #expect(harness.destinations.count == 2)
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.12:80 w1"])
        #expect(harness.health("198.51.100.11 80") == .down)
        #expect(harness.health("198.51.100.12 80") == .up)
        #expect(
            harness.events.contains(
                "RS 198.51.100.11:80 of 192.0.2.100:80 DOWN (TCP_CHECK 198.51.100.11: connection refused)"))
        let detail = harness.reports.last?.virtualServers[0].realServers[0].detail
        #expect(detail == "TCP_CHECK 198.51.100.11: connection refused")
        harness.network.down = []
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.11:80 w1", "198.51.100.12:80 w1"])
        #expect(harness.events.last == "RS 198.51.100.11:80 of 192.0.2.100:80 UP")
        // The three failed attempts that took it down, counted per checker type; the first check's random phase in its
        // delay_loop decides whether one more failed before the server came back.
        let failed = harness.engine.statistics().split(separator: "\n")
            .first { $0.hasPrefix("checks_failed_TCP_CHECK ") }
            .flatMap { Int($0.split(separator: " ").last ?? "") }
        #expect(failed.map { (3...4).contains($0) } == true, "\(harness.engine.statistics())")
    }

    @Test("inhibit_on_failure keeps a failed server with weight 0; a lost quorum brings in the sorry server")
    func inhibitAndSorry() throws {
        let harness = EngineHarness()
        let text = """
            virtual_server 192.0.2.100 80 {
                delay_loop 1
                lb_kind DR
                quorum 2
                sorry_server 203.0.113.5 80
                real_server 198.51.100.11 80 {
                    inhibit_on_failure
                    TCP_CHECK {
                        retry 0
                        warmup 0
                    }
                }
                real_server 198.51.100.12 80 {
                    TCP_CHECK {
                        retry 0
                        warmup 0
                    }
                }
            }
            """
        harness.engine.apply(try harness.configuration(text), isReload: false)
        #expect(harness.destinations == ["198.51.100.11:80 w1", "198.51.100.12:80 w1"])
        harness.network.down = ["198.51.100.11"]
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.11:80 w0", "198.51.100.12:80 w1", "203.0.113.5:80 w1"])
        #expect(harness.reports.last?.virtualServers[0].health == .down)
        #expect(harness.events.contains { $0.hasPrefix("VS 192.0.2.100:80 quorum lost") })
        harness.network.down = []
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.11:80 w1", "198.51.100.12:80 w1"])
        #expect(harness.reports.last?.virtualServers[0].health == .up)
    }

    static let instance = """
        vrrp_instance VI_1 {
            interface lo
            virtual_router_id 51
            priority 100
            virtual_ipaddress {
                192.0.2.100/24
            }
        }

        """

    @Test("a first configuration's report comes once its rules are written, and no probe runs before")
    func firstReportAfterTheRules() throws {
        let harness = EngineHarness()
        // More services than one slice of the sync: it runs over later turns of the loop, after `apply` returns.
        var text = ""
        for service in 1...(IPVSSync.servicesPerSlice + 6) {
            text += "virtual_server 192.0.2.\(service) 80 {\n delay_loop 2\n lb_kind DR\n"
            text += " real_server 198.51.100.11 80 {\n  TCP_CHECK {\n   warmup 0\n  }\n }\n}\n"
        }
        harness.engine.apply(try harness.configuration(text), isReload: false)
        #expect(harness.reports.isEmpty)
        harness.advance(seconds: 1)
        #expect(harness.servicesAtReport.first == IPVSSync.servicesPerSlice + 6, "\(harness.servicesAtReport)")
        #expect(harness.network.attempts["198.51.100.11"] ?? 0 > 0)
    }

    @Test("ha_suspend: no checks while the virtual server's address is not held by a MASTER VRRP instance")
    func haSuspend() throws {
        let harness = EngineHarness()
        let text =
            Self.instance
            + Self.twoServers.replacingOccurrences(of: "delay_loop 2", with: "delay_loop 2\n    ha_suspend")
        harness.engine.apply(try harness.configuration(text), isReload: false)
        harness.advance(seconds: 5)
        #expect(harness.network.attempts.isEmpty)
        harness.engine.peerStateChanged(
            WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .backup)]))
        harness.advance(seconds: 5)
        #expect(harness.network.attempts.isEmpty)
        // MASTER, but holding another address: still suspended.
        harness.engine.peerStateChanged(
            WorkerState(
                vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, heldAddresses: ["192.0.2.200/32"])]))
        harness.advance(seconds: 5)
        #expect(harness.network.attempts.isEmpty)
        harness.engine.peerStateChanged(
            WorkerState(
                vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, heldAddresses: ["192.0.2.100/24"])]))
        harness.advance(seconds: 1)
        #expect(harness.network.attempts["198.51.100.11"] == 1)
        #expect(harness.engine.dump().contains("real_server 198.51.100.11 80 up weight 1"))
        // Back to BACKUP: paused again.
        harness.engine.peerStateChanged(
            WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .backup)]))
        harness.advance(seconds: 10)
        #expect(harness.network.attempts["198.51.100.11"] == 1)
        #expect(harness.engine.dump().contains("suspended"))
    }

    @Test("ha_suspend on an address no VRRP instance manages: always on this host, always checked")
    func haSuspendStaticAddress() throws {
        let harness = EngineHarness()
        let text =
            Self.instance.replacingOccurrences(of: "192.0.2.100/24", with: "192.0.2.200/24")
            + Self.twoServers.replacingOccurrences(of: "delay_loop 2", with: "delay_loop 2\n    ha_suspend")
        harness.engine.apply(try harness.configuration(text), isReload: false)
        harness.engine.peerStateChanged(
            WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .backup)]))
        harness.advance(seconds: 1)
        #expect(harness.network.attempts["198.51.100.11"] == 1)
    }

    @Test("a reload keeps the timing and in-flight checks of unchanged real servers; changed ones start fresh")
    func reloadKeepsTiming() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: false)
        harness.advance(seconds: 1)
        harness.network.hold = ["198.51.100.11"]
        harness.advance(seconds: 2)
        // Second attempts at ~2 s; .11's is still in flight.
        #expect(harness.network.attempts["198.51.100.11"] == 2)
        #expect(harness.network.pending["198.51.100.11"] != nil)
        let changed = Self.twoServers.replacingOccurrences(
            of: "real_server 198.51.100.12 80 {", with: "real_server 198.51.100.12 80 {\n weight 2")
        harness.engine.apply(try harness.configuration(changed), isReload: true)
        harness.advance(seconds: 1)
        // .11 was not started again (its check is in flight); the changed .12 ran at once, fresh.
        #expect(harness.network.attempts["198.51.100.11"] == 2)
        #expect(harness.network.attempts["198.51.100.12"] == 3)
        harness.network.hold = []
        harness.network.pending.removeValue(forKey: "198.51.100.11")?.succeed(.failure("held check failed"))
        let dump = harness.engine.dump()
        // The in-flight result counted against the kept state: 2 runs (not a fresh 1), one failure.
        #expect(dump.contains("TCP_CHECK passing runs 2 failures 1 last_failure \"held check failed\""), "\(dump)")
        #expect(dump.contains("real_server 198.51.100.12 80 up weight 2"), "\(dump)")
        #expect(dump.contains("TCP_CHECK passing runs 1 failures 0"), "\(dump)")
        // The failure's retry runs delay_before_retry (1 s) later.
        harness.advance(seconds: 1)
        #expect(harness.network.attempts["198.51.100.11"] == 3)
    }

    @Test("hysteresis governs the sorry server: kept out within the band, kept in until the quorum is regained")
    func hysteresisSorry() throws {
        let harness = EngineHarness()
        let text = Self.twoServers.replacingOccurrences(
            of: "lb_algo rr",
            with: "lb_algo rr\n    quorum 2\n    hysteresis 1\n    sorry_server 203.0.113.9 80"
        ).replacingOccurrences(of: "real_server 198.51.100.11 80 {", with: "real_server 198.51.100.11 80 {\n weight 2")
        harness.engine.apply(try harness.configuration(text), isReload: false)
        harness.advance(seconds: 1)
        #expect(harness.destinations == ["198.51.100.11:80 w2", "198.51.100.12:80 w1"])
        // .11 (weight 2) fails: live weight 1 is below quorum 2 but not below 2 - 1: no sorry server.
        harness.network.down = ["198.51.100.11"]
        harness.advance(seconds: 4)
        #expect(harness.destinations == ["198.51.100.12:80 w1"])
        harness.network.down = ["198.51.100.11", "198.51.100.12"]
        harness.advance(seconds: 4)
        #expect(harness.destinations == ["203.0.113.9:80 w1"])
        // .11 returns: live weight 2 reaches quorum 2 but not 2 + 1: the sorry server stays.
        harness.network.down = ["198.51.100.12"]
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.11:80 w2", "203.0.113.9:80 w1"])
        harness.network.down = []
        harness.advance(seconds: 2)
        #expect(harness.destinations == ["198.51.100.11:80 w2", "198.51.100.12:80 w1"])
    }

    @Test("a reload keeps the health of real servers that stay and checks new ones; only the difference is written")
    func reloadKeepsHealth() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: false)
        harness.network.down = ["198.51.100.12"]
        harness.advance(seconds: 6)
        #expect(harness.destinations == ["198.51.100.11:80 w1"])
        let added = Self.twoServers.replacingOccurrences(
            of: "real_server 198.51.100.12 80 {",
            with: "real_server 198.51.100.13 80 {\n TCP_CHECK {\nwarmup 0\n}\n}\nreal_server 198.51.100.12 80 {")
        harness.kernel?.resetLog()
        harness.engine.apply(try harness.configuration(added), isReload: true)
        // .12 stays down (not re-added), .13 comes in; one write.
        #expect(harness.destinations == ["198.51.100.11:80 w1", "198.51.100.13:80 w1"])
        #expect(harness.kernel?.writeCount == 1)
        #expect(harness.health("198.51.100.12 80") == .down)
    }

    @Test("a restarted worker adopts the kernel's rules and its saved health: zero writes")
    func savedStateAdoption() throws {
        let first = EngineHarness()
        first.engine.apply(try first.configuration(Self.twoServers), isReload: false)
        first.network.down = ["198.51.100.12"]
        first.advance(seconds: 6)
        let saved = try #require(first.reports.last)
        // The next incarnation finds the rules the first left (stop without release) and the saved state.
        first.engine.stop(release: false) {}
        let second = EngineHarness()
        second.kernel = first.kernel
        second.kernel?.resetLog()
        second.network.down = ["198.51.100.12"]
        second.engine.apply(try second.configuration(Self.twoServers, saved: saved), isReload: false)
        #expect(second.kernel?.writeCount == 0)
        #expect(second.health("198.51.100.12 80") == .down)
        second.advance(seconds: 10)
        #expect(second.kernel?.writeCount == 0)
    }

    static let secondService = """

        virtual_server 192.0.2.100 8080 {
            lb_algo rr
            lb_kind DR
            real_server 198.51.100.11 8080 {
            }
        }
        """

    var services: (EngineHarness) -> [String] {
        { harness in (harness.kernel?.state.virtualServers ?? []).map { "\($0.service.key)" }.sorted() }
    }

    @Test("a reload that drops a service deletes it from the kernel: one write")
    func reloadRemovesService() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.twoServers + Self.secondService), isReload: false)
        #expect(services(harness) == ["TCP 192.0.2.100:80", "TCP 192.0.2.100:8080"])
        harness.kernel?.resetLog()
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: true)
        #expect(services(harness) == ["TCP 192.0.2.100:80"])
        #expect(harness.kernel?.writeCount == 1)
        #expect(harness.reports.last?.ipvsServices == ["TCP 192.0.2.100:80"])
    }

    @Test("a worker restarted on a newer file deletes the services its predecessor owned that the file dropped")
    func restartedWorkerDeletesRetiredService() throws {
        let first = EngineHarness()
        first.engine.apply(try first.configuration(Self.twoServers + Self.secondService), isReload: false)
        let saved = try #require(first.reports.last)
        first.engine.stop(release: false) {}
        // A foreign service (not Vigil's) must survive.
        let second = EngineHarness()
        second.kernel = first.kernel
        try second.kernel?.apply(
            .addService(IPVSService(key: .address(.v4(0xcb00_7101), port: 53, protocol: .udp), scheduler: "wlc")))
        second.engine.apply(try second.configuration(Self.twoServers, saved: saved), isReload: false)
        #expect(services(second) == ["TCP 192.0.2.100:80", "UDP 203.0.113.1:53"])
    }

    @Test("a large start reads and writes in slices, a turn of the loop apart")
    func largePlansAreSliced() throws {
        var text = ""
        for index in 0..<600 {
            text += "virtual_server 192.0.2.\(index % 250 + 1) \(80 + index / 250) {\n lb_kind DR\n"
            text += " real_server 198.51.100.11 80 {\n }\n}\n"
        }
        let harness = EngineHarness()
        // The kernel already has the first 200 services: the read of their real servers is sliced too.
        let warm = try harness.configuration(text)
        var head = warm
        head.lvs?.virtualServers = Array(warm.lvs!.virtualServers.prefix(200))
        harness.engine.apply(head, isReload: false)
        harness.loop.runQueued()
        #expect(harness.kernel?.state.virtualServers.count == 200)
        harness.engine.stop(release: false) {}
        let other = EngineHarness()
        other.kernel = harness.kernel
        other.kernel?.resetLog()
        other.engine.apply(warm, isReload: false)
        // Nothing written in the applying task itself: the read (200 services, 64 a turn) is not finished.
        #expect(other.kernel?.writeCount == 0)
        var turns = 0
        while other.kernel?.state.virtualServers.count != 600 && turns < 100 {
            other.loop.runTurn()
            turns += 1
        }
        // 200 services read 64 a turn (the first slice in `apply`, three more turns), the desired state in a turn
        // of its own, the plan in the next with the first 512 of the 800 operations, the rest in the next.
        #expect(turns == 6)
        #expect(other.kernel?.writeCount == 800)
    }

    @Test("at start the rules go into the kernel before the first check; the checks start as much later as held")
    func checksWaitForTheFirstProgramming() throws {
        let harness = EngineHarness()
        // 600 services: the read, plan and writes take several turns; every check is due within 0.1 s of the start.
        harness.engine.apply(
            try harness.configuration(EngineIPVSTests.farm(services: 600, reals: 1)), isReload: false)
        var turns = 0
        while harness.kernel?.state.virtualServers.count != 600 && turns < 100 {
            #expect(harness.network.attempts.isEmpty)
            // Each turn of the programming takes 0.1 s: without the hold, every check would be due before it ends.
            harness.loop.elapse(.milliseconds(100))
            harness.loop.runTurn()
            turns += 1
        }
        #expect(turns >= 3)
        harness.advance(seconds: 1)
        #expect(harness.network.attempts.values.reduce(0, +) == 600)
        // Held, not late: each check starts at its own time, moved by the hold.
        let lateness = try #require(harness.engine.currentStatistics().latenessP99Milliseconds)
        #expect(lateness < 20)
    }

    @Test("stop with release removes the configured services; without, leaves them")
    func stopRelease() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: false)
        harness.engine.stop(release: true) {}
        #expect(harness.kernel?.state.virtualServers.isEmpty == true)
        let keeper = EngineHarness()
        keeper.engine.apply(try keeper.configuration(Self.twoServers), isReload: false)
        keeper.engine.stop(release: false) {}
        #expect(keeper.kernel?.state.virtualServers.count == 1)
    }

    @Test("without IPVS the engine says so once, keeps checking and reporting, and programs IPVS when it appears")
    func ipvsUnavailable() throws {
        let harness = EngineHarness()
        harness.ipvsAvailable = false
        // Down before the apply: a first check due within the loop's slack runs inside `apply` itself.
        harness.network.down = ["198.51.100.11"]
        harness.engine.apply(try harness.configuration(Self.twoServers), isReload: false)
        harness.advance(seconds: 4)
        #expect(harness.events.filter { $0 == "IPVS is not available: modprobe ip_vs" }.count == 1)
        #expect(harness.health("198.51.100.11 80") == .down)
        #expect(harness.kernel?.writeCount == 0)
        harness.ipvsAvailable = true
        harness.advance(seconds: 5)
        #expect(harness.destinations == ["198.51.100.12:80 w1"])
        #expect(harness.engine.dump().hasPrefix("ipvs available"))
    }
}

@Suite("Checker engine: incremental IPVS writes and drift repair, in virtual time")
struct EngineIPVSTests {
    /// `services` × `reals` with TCP_CHECKs every 2 s.
    /// A harness whose engine applied `farm(services:reals:extra:)` and ran its first second.
    static func started(services: Int, reals: Int, extra: String = "") throws -> EngineHarness {
        let harness = EngineHarness()
        harness.engine.apply(
            try harness.configuration(farm(services: services, reals: reals, extra: extra)), isReload: false)
        harness.loop.runQueued()
        harness.advance(seconds: 1)
        return harness
    }

    static func farm(services: Int, reals: Int, extra: String = "") -> String {
        var text = "global_defs {\n\(extra)\n}\n"
        for service in 0..<services {
            text += "virtual_server 192.0.2.\(service % 250 + 1) \(80 + service / 250) {\n delay_loop 2\n lb_kind DR\n"
            for real in 0..<reals {
                text += " real_server 198.51.100.\(real + 11) 80 {\n  TCP_CHECK {\n   connect_timeout 1\n   retry 0\n"
                text += "   warmup 0\n  }\n }\n"
            }
            text += "}\n"
        }
        return text
    }

    @Test("a real server going down with 1,000 in the table: its virtual servers' writes only, no read of the table")
    func incrementalWrites() throws {
        let harness = EngineHarness()
        harness.engine.apply(try harness.configuration(Self.farm(services: 100, reals: 10)), isReload: false)
        harness.loop.runQueued()
        #expect(harness.kernel?.state.destinationKeys.count == 1000)
        let before = harness.engine.currentStatistics()
        #expect(before.ipvsFullReads == 1)
        harness.kernel?.resetLog()
        // One real server address behind all 100 services goes down: 100 deletions, one per service.
        harness.network.down = ["198.51.100.15"]
        harness.advance(seconds: 3)
        let after = harness.engine.currentStatistics()
        #expect(harness.kernel?.writeCount == 100)
        #expect(harness.kernel?.log.allSatisfy { if case .deleteDestination = $0 { true } else { false } } == true)
        #expect(after.ipvsFullReads == 1, "no whole-table read for a health change")
        #expect(harness.kernel?.state.destinationKeys.count == 900)
    }

    @Test("a reload changing one weight among 1,000 real servers: one write, no read of the kernel's table")
    func reloadOneWeight() throws {
        let harness = EngineHarness()
        let text = Self.farm(services: 100, reals: 10)
        harness.engine.apply(try harness.configuration(text), isReload: false)
        harness.loop.runQueued()
        harness.kernel?.resetLog()
        let first = try #require(text.range(of: "real_server 198.51.100.11 80 {\n  TCP_CHECK"))
        let changed = text.replacingCharacters(
            in: first, with: "real_server 198.51.100.11 80 {\n  weight 7\n  TCP_CHECK")
        harness.engine.apply(try harness.configuration(changed), isReload: true)
        harness.loop.runQueued()
        #expect(harness.kernel?.log.count == 1)
        if case .editDestination(let destination, _)? = harness.kernel?.log.first {
            #expect(destination.weight == 7)
        } else {
            Issue.record("expected one SET_DEST, got \(harness.kernel?.log ?? [])")
        }
        #expect(harness.engine.currentStatistics().ipvsFullReads == 1, "the reload read nothing")
    }

    @Test(
        "rules changed behind Vigil's back come back within ipvs_repair_interval; when nothing drifted, nothing is written"
    )
    func driftRepair() throws {
        let harness = EngineHarness()
        harness.engine.apply(
            try harness.configuration(Self.farm(services: 20, reals: 2, extra: "ipvs_repair_interval 10")),
            isReload: false)
        harness.loop.runQueued()
        harness.kernel?.resetLog()
        harness.advance(seconds: 60)
        #expect(harness.kernel?.writeCount == 0, "a quiet minute of drift checks writes nothing")
        // `ipvsadm -d` of one real server, and a service edited with ipvsadm -E.
        let first = try #require(harness.kernel?.state.virtualServers.first)
        try harness.kernel?.apply(
            .deleteDestination(IPVSDestinationKey(service: first.service.key, destination: first.destinations[0])))
        var edited = try #require(harness.kernel?.state.virtualServers.last?.service)
        #expect(edited.scheduler == "wlc", "keepalived's default lb_algo")
        edited.scheduler = "sh"
        try harness.kernel?.apply(.editService(edited))
        harness.kernel?.resetLog()
        harness.advance(seconds: 11)
        #expect(harness.kernel?.state.destinationKeys.count == 40)
        #expect(harness.kernel?.state.virtualServers.last?.service.scheduler == "wlc")
        #expect(harness.kernel?.writeCount == 2)
        #expect(harness.engine.currentStatistics().ipvsRepairs == 2)
        #expect(harness.events.contains { $0.contains("changed behind Vigil's back") })
        // `ipvsadm -C`: everything back within a second (the services list is read every second).
        try harness.kernel?.apply(.flush)
        harness.advance(seconds: 2)
        #expect(harness.kernel?.state.virtualServers.count == 20)
        #expect(harness.kernel?.state.destinationKeys.count == 40)
    }

    @Test(
        """
        traffic counters: a service whose counters stood still and whose rules this worker did not write is not read \
        again, and only what changed is reported
        """)
    func countersReadWhatMoved() throws {
        // 20 services with 198.51.100.11 and .12, and a 21st whose only real server is 198.51.100.40.
        let harness = EngineHarness()
        let alone = """
            virtual_server 192.0.2.200 8080 {
             delay_loop 2
             lb_kind DR
             real_server 198.51.100.40 80 {
              TCP_CHECK {
               connect_timeout 1
               retry 0
               warmup 0
              }
             }
            }

            """
        harness.engine.apply(
            try harness.configuration(Self.farm(services: 20, reals: 2, extra: "ipvs_repair_interval 0") + alone),
            isReload: false)
        harness.loop.runQueued()
        harness.advance(seconds: 1)
        // The first read: every service's real servers, in full.
        var statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps == 21)
        let first = try #require(harness.ipvsReports.last)
        #expect(first.changed == nil && first.services.count == 21 && first.serviceCount == 21)
        #expect(first.services.filter { $0.realServers.count == 2 }.count == 20)
        // A quiet interval: no real server's dump, and a report of its time only, which the watchdog folds in.
        harness.advance(seconds: 5)
        statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps == 21)
        #expect(statistics.ipvsCountersKept == 21)
        let quiet = try #require(harness.ipvsReports.last)
        #expect(quiet.unchanged && quiet.services.isEmpty && quiet.readAt > first.readAt)
        #expect(quiet.following(first)?.services == first.services)
        #expect(quiet.following(first)?.readAt == quiet.readAt)
        // Traffic through one real server: that service alone is read again, and the report carries it alone.
        let key = try #require(harness.kernel?.state.virtualServers[3].service.key)
        harness.kernel?.carry(connections: 7, to: IPAddress("198.51.100.12")!, of: key)
        harness.advance(seconds: 5)
        statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps == 22)
        let busy = try #require(harness.ipvsReports.last)
        #expect(busy.services.count == 1 && busy.changed?.count == 1 && busy.serviceCount == 21)
        var held = try #require(harness.heldStatistics)
        #expect(held.services.count == 21 && held.readAt == busy.readAt)
        let service = try #require(held.services.first { $0.counters.connections == 7 })
        #expect(service.realServers.first { $0.address == "198.51.100.12:80" }?.counters.connections == 7)
        #expect(held.services.filter { $0.counters.connections > 0 }.count == 1)
        // A rule written for one service (its one real server down): a weight or a real server may differ with no
        // counter moved, so that service is read again; the others' readings are still good.
        harness.network.down = ["198.51.100.40"]
        harness.advance(seconds: 5)
        let writes = harness.engine.currentStatistics().ipvsWrites
        #expect(writes > 0)
        harness.advance(seconds: 5)
        statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps == 23)
        let down = try #require(harness.ipvsReports.last { !$0.unchanged })
        #expect(down.services.count == 1 && down.services[0].address == "192.0.2.200:8080")
        held = try #require(harness.heldStatistics)
        #expect(held.services.first { $0.address == "192.0.2.200:8080" }?.realServers.isEmpty == true)
        // 198.51.100.11 down: a write to each of the 20 services, and each of them read again.
        harness.network.down = ["198.51.100.11", "198.51.100.40"]
        harness.advance(seconds: 5)
        harness.advance(seconds: 5)
        statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps >= 43)
        held = try #require(harness.heldStatistics)
        #expect(held.services.filter { $0.realServers.count == 1 }.count == 20, "198.51.100.11 left every service")
        // Readings older than `refresh` are not used again, counters moving or not.
        let before = harness.engine.currentStatistics().ipvsCounterDumps
        harness.advance(seconds: 31)
        #expect(harness.engine.currentStatistics().ipvsCounterDumps >= before + 21)
        #expect(harness.statisticsMisfits == 0)
    }

    @Test("a report of counters' changes fits only the whole report it follows")
    func countersChangesFit() {
        func service(_ name: String, connections: UInt64) -> IPVSServiceStatistics {
            IPVSServiceStatistics(
                virtualServer: name, address: name, protocolNumber: 6,
                counters: IPVSCounters(connections: connections), realServers: [])
        }
        let whole = IPVSStatisticsReport(
            services: [service("a", connections: 1), service("b", connections: 2)], readAt: 1)
        let change = IPVSStatisticsReport(
            services: [service("b", connections: 5)], readAt: 2, serviceCount: 2, changed: [1])
        #expect(change.following(whole)?.services.map(\.counters.connections) == [1, 5])
        #expect(change.following(whole)?.readAt == 2)
        #expect(change.following(nil) == nil, "nothing held")
        #expect(
            IPVSStatisticsReport(services: [service("b", connections: 5)], readAt: 2, serviceCount: 3, changed: [1])
                .following(whole) == nil, "another number of services")
        #expect(
            IPVSStatisticsReport(services: [service("b", connections: 5)], readAt: 2, serviceCount: 2, changed: [2])
                .following(whole) == nil, "a place out of range")
        #expect(
            IPVSStatisticsReport(services: [], readAt: 2, serviceCount: 2, changed: [1]).following(whole) == nil,
            "a place without its service")
        let quiet = IPVSStatisticsReport(readAt: 3, serviceCount: 2, changed: [])
        #expect(quiet.following(whole)?.services == whole.services)
    }

    /// The drift check's reads of real servers serve the traffic counters: with the default repair interval, the
    /// counters' 30 s refresh makes no dump of its own, the counters stay right when traffic moves, and a write
    /// still sends the reader back to the kernel.
    @Test func driftReadsServeTheCounters() throws {
        let harness = try Self.started(services: 20, reals: 2)
        #expect(harness.engine.currentStatistics().ipvsCounterDumps == 20)
        // Two minutes, four refreshes: every service's real servers were read by the drift check within each.
        for _ in 0..<24 { harness.advance(seconds: 5) }
        var statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps == 20, "the refresh used the drift check's reads")
        #expect(statistics.ipvsVerifyDumps >= 20 * 4)
        #expect(statistics.ipvsWrites == 0 || statistics.ipvsRepairs == 0)
        #expect(harness.ipvsReports.suffix(10).allSatisfy { $0.unchanged })
        // Traffic through one real server: the next report carries it, whoever read it.
        let key = try #require(harness.kernel?.state.virtualServers[7].service.key)
        harness.kernel?.carry(connections: 9, to: IPAddress("198.51.100.12")!, of: key)
        harness.advance(seconds: 5)
        statistics = harness.engine.currentStatistics()
        #expect(statistics.ipvsCounterDumps <= 21)
        let busy = try #require(harness.ipvsReports.last)
        #expect(busy.changed?.count == 1 && busy.services.count == 1)
        let service = try #require(harness.heldStatistics?.services.first { $0.counters.connections == 9 })
        #expect(service.realServers.first { $0.address == "198.51.100.12:80" }?.counters.connections == 9)
        // A write: the readings from before it are not used, whoever made them.
        harness.network.down = ["198.51.100.11"]
        harness.advance(seconds: 5)
        #expect(harness.engine.currentStatistics().ipvsWrites > 0)
        harness.advance(seconds: 5)
        let after = try #require(harness.heldStatistics)
        #expect(after.services.count == 20)
        #expect(after.services.allSatisfy { $0.realServers.count == 1 }, "198.51.100.11 left every service")
        #expect(harness.statisticsMisfits == 0)
    }

    /// A reading the drift check hands over and the reader keeps is still reported when it differs from what the
    /// watchdog last got: counters that moved between two reads of the reader, seen first by the drift check.
    @Test func anObservedReadingIsReported() throws {
        let harness = try Self.started(services: 3, reals: 2, extra: "ipvs_repair_interval 0")
        let kernel = try #require(harness.kernel)
        var reports: [IPVSStatisticsReport] = []
        let names = Dictionary(
            uniqueKeysWithValues: kernel.state.virtualServers.map {
                ($0.service.key, IPVSStatisticsReader.Names(virtualServer: "\($0.service.key)", realServers: []))
            })
        let reader = IPVSStatisticsReader(
            loop: harness.loop, makeClient: { () throws(NetlinkError) -> any IPVSClient in kernel },
            names: { names }, writes: { _ in 0 }, report: { reports.append($0) })
        reader.start()
        harness.loop.runQueued()
        #expect(reader.destinationDumps == 3 && reports.count == 1)
        // Traffic, read by someone else before the reader's next read.
        let key = kernel.state.virtualServers[1].service.key
        kernel.carry(connections: 4, to: IPAddress("198.51.100.12")!, of: key)
        let service = try #require(try kernel.services().first { $0.key == key })
        reader.observe(service, destinations: try kernel.destinations(of: key))
        #expect(reader.readingsObserved == 1)
        harness.advance(seconds: 5)
        #expect(reader.destinationDumps == 3, "the observed reading was used")
        let report = try #require(reports.last)
        #expect(!report.unchanged)
        #expect(report.services.first { $0.counters.connections == 4 } != nil)
        reader.stop()
    }
}
