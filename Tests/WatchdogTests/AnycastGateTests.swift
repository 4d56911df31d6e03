import Config
import Testing
import WorkerIPC

@testable import Watchdog

/// The gate in virtual time: nanoseconds on CLOCK_MONOTONIC's scale, passed by the test.
@Suite("BGP anycast: which addresses are announced")
struct AnycastGateTests {
    static let vip = IPAddress("192.0.2.10")!
    static let second: Int64 = 1_000_000_000

    /// `192.0.2.10 80` with four real servers, announced at 3 up, withdrawn below 2.
    static let web = AnnouncedService(name: "192.0.2.10 80", addresses: [vip], up: 3, down: 2, total: 4)

    /// A checker report of `name` with `up` of `total` real servers up.
    static func report(_ name: String = "192.0.2.10 80", up: Int, of total: Int = 4) -> VirtualServerReport {
        VirtualServerReport(
            name: name,
            realServers: (0..<total).map {
                RealServerReport(
                    server: ServerAddress(configName: "198.51.100.\($0 + 1) 80")!, health: $0 < up ? .up : .down)
            })
    }

    static func gate(
        _ services: [AnnouncedService] = [web], grace: Duration = .seconds(10), adopted: Set<IPAddress> = []
    )
        -> AnycastGate
    {
        AnycastGate(plan: AnycastPlan(services: services), gracePeriod: grace, adopted: adopted, now: 0)
    }

    @Test("announced at HIGH up, kept between the watermarks, withdrawn below LOW, announced again only at HIGH")
    func hysteresis() {
        var gate = Self.gate()
        #expect(gate.checkerReported([Self.report(up: 2)], now: 1) == [])
        #expect(gate.statuses.first?.reason == "2/4 up, between announce_down 2 and announce_up 3: stays withdrawn")
        #expect(gate.checkerReported([Self.report(up: 3)], now: 2) == [.announce(Self.vip)])
        #expect(gate.statuses.first?.reason == "3/4 up >= announce_up 3")
        #expect(gate.checkerReported([Self.report(up: 4)], now: 3) == [])
        #expect(gate.checkerReported([Self.report(up: 2)], now: 4) == [])
        #expect(gate.statuses.first?.announced == true)
        #expect(gate.checkerReported([Self.report(up: 1)], now: 5) == [.withdraw(Self.vip)])
        #expect(gate.statuses.first?.reason == "1/4 up < announce_down 2")
        #expect(gate.checkerReported([Self.report(up: 2)], now: 6) == [])
        #expect(gate.checkerReported([Self.report(up: 3)], now: 7) == [.announce(Self.vip)])
        #expect(gate.statuses.first?.changes == 3)
    }

    @Test("percent watermarks round up: 60% of 4 is 3, 50% of 3 is 2")
    func percentRoundsUp() {
        #expect(AnnounceThreshold.percent(60).count(of: 4) == 3)
        #expect(AnnounceThreshold.percent(50).count(of: 3) == 2)
        #expect(AnnounceThreshold.percent(100).count(of: 4) == 4)
        #expect(AnnounceThreshold.count(2).count(of: 4) == 2)
    }

    @Test("an address shared by two virtual servers is announced only while both are healthy")
    func sharedAddressNeedsAll() {
        let tls = AnnouncedService(name: "192.0.2.10 443", addresses: [Self.vip], up: 1, down: 1, total: 2)
        var gate = Self.gate([Self.web, tls])
        #expect(gate.checkerReported([Self.report(up: 4), Self.report("192.0.2.10 443", up: 0, of: 2)], now: 1) == [])
        #expect(gate.statuses.first?.reason == "192.0.2.10 443: 0/2 up < announce_down 1")
        #expect(
            gate.checkerReported([Self.report(up: 4), Self.report("192.0.2.10 443", up: 1, of: 2)], now: 2) == [
                .announce(Self.vip)
            ])
        #expect(
            gate.statuses.first?.reason
                == "192.0.2.10 80: 4/4 up >= announce_up 3; 192.0.2.10 443: 1/2 up >= announce_up 1")
        #expect(
            gate.checkerReported([Self.report(up: 1), Self.report("192.0.2.10 443", up: 2, of: 2)], now: 3) == [
                .withdraw(Self.vip)
            ])
    }

    @Test("a lost checker worker holds the announcements for the grace period, then they are withdrawn")
    func graceExpires() {
        var gate = Self.gate()
        #expect(gate.checkerReported([Self.report(up: 4)], now: 0) == [.announce(Self.vip)])
        #expect(gate.deadline == nil)
        gate.checkerLost(now: 100 * Self.second)
        #expect(gate.deadline == 110 * Self.second)
        #expect(gate.tick(now: 109 * Self.second) == [])
        #expect(gate.statuses.first?.reason == "4/4 up >= announce_up 3 (held: the checker worker is gone)")
        #expect(gate.tick(now: 112 * Self.second) == [.withdraw(Self.vip)])
        #expect(gate.statuses.first?.reason == "the checker worker is gone for 12 s > announce_grace_period 10 s")
        #expect(gate.deadline == nil)
        // Its successor starts from the low side: 2 up (between the watermarks) does not announce.
        #expect(gate.checkerReported([Self.report(up: 2)], now: 113 * Self.second) == [])
        #expect(gate.checkerReported([Self.report(up: 3)], now: 114 * Self.second) == [.announce(Self.vip)])
    }

    @Test("a successor that reports within the grace period resumes without a withdrawal, five times over")
    func successorResumes() {
        var gate = Self.gate()
        #expect(gate.checkerReported([Self.report(up: 4)], now: 0) == [.announce(Self.vip)])
        for round in Int64(1)...5 {
            gate.checkerLost(now: round * 20 * Self.second)
            #expect(gate.tick(now: round * 20 * Self.second + 9 * Self.second) == [])
            // Between the watermarks: the kept state says announced.
            #expect(gate.checkerReported([Self.report(up: 2)], now: round * 20 * Self.second + 9 * Self.second) == [])
            #expect(gate.deadline == nil)
        }
        #expect(gate.statuses.first?.announced == true)
        #expect(gate.statuses.first?.changes == 1)
    }

    @Test("stop withdraws everything and nothing is announced after")
    func stopWithdrawsAll() {
        let other = AnnouncedService(
            name: "2001:db8::10 80", addresses: [IPAddress("2001:db8::10")!], up: 1, down: 1, total: 1)
        var gate = Self.gate([Self.web, other])
        let changes = gate.checkerReported([Self.report(up: 4), Self.report("2001:db8::10 80", up: 1, of: 1)], now: 0)
        #expect(changes.count == 2)
        #expect(Set(gate.stop()) == [.withdraw(Self.vip), .withdraw(IPAddress("2001:db8::10")!)])
        #expect(gate.statuses.allSatisfy { $0.reason == "vigild is stopping" && !$0.announced })
        #expect(gate.checkerReported([Self.report(up: 4)], now: 1) == [])
    }

    @Test("a route adopted at start stays until the first report, which keeps it between the watermarks")
    func adoptedRouteIsKept() {
        var gate = Self.gate(adopted: [Self.vip])
        #expect(gate.statuses.first?.announced == true)
        #expect(gate.deadline == 10 * Self.second)
        #expect(gate.checkerReported([Self.report(up: 2)], now: 1) == [])
        #expect(gate.statuses.first?.announced == true)
    }

    @Test(
        "a route adopted at start survives a new checker worker's first reports (alpha: all down) in the grace period")
    func adoptedRouteSurvivesFirstChecks() {
        var gate = Self.gate(adopted: [Self.vip])
        #expect(gate.checkerReported([Self.report(up: 0)], now: 1 * Self.second) == [])
        #expect(gate.statuses.first?.announced == true)
        #expect(gate.checkerReported([Self.report(up: 4)], now: 2 * Self.second) == [])
        #expect(gate.tick(now: 10 * Self.second) == [])
        #expect(gate.deadline == nil)
        #expect(gate.statuses.first?.reason == "4/4 up >= announce_up 3")
        #expect(gate.statuses.first?.changes == 0)
    }

    @Test("a route adopted at start whose checks fail is withdrawn at the grace period's end")
    func adoptedRouteFailingChecks() {
        var gate = Self.gate(adopted: [Self.vip])
        #expect(gate.checkerReported([Self.report(up: 1)], now: 1 * Self.second) == [])
        #expect(gate.tick(now: 9 * Self.second) == [])
        #expect(gate.tick(now: 10 * Self.second) == [.withdraw(Self.vip)])
        #expect(gate.statuses.first?.reason == "1/4 up < announce_down 2")
    }

    @Test("a route adopted at start is withdrawn when no checker report comes within the grace period")
    func adoptedRouteWithoutReport() {
        var gate = Self.gate(adopted: [Self.vip])
        #expect(gate.tick(now: 11 * Self.second) == [.withdraw(Self.vip)])
        #expect(
            gate.statuses.first?.reason == "no report from the checker worker for 11 s > announce_grace_period 10 s")
    }

    @Test("a reload withdraws an address no longer announced and keeps the others' state")
    func reconfigure() {
        let other = AnnouncedService(
            name: "192.0.2.11 80", addresses: [IPAddress("192.0.2.11")!], up: 1, down: 1, total: 1)
        var gate = Self.gate([Self.web, other])
        _ = gate.checkerReported([Self.report(up: 4), Self.report("192.0.2.11 80", up: 1, of: 1)], now: 0)
        #expect(
            gate.reconfigure(plan: AnycastPlan(services: [Self.web]), gracePeriod: .seconds(5)) == [
                .withdraw(IPAddress("192.0.2.11")!)
            ])
        #expect(gate.checkerReported([Self.report(up: 2)], now: 1) == [])
        #expect(gate.statuses.map(\.address) == ["192.0.2.10"])
        #expect(gate.statuses.first?.announced == true)
    }

    @Test("the plan announces an endpoint's address and every address of a group, not a fwmark service")
    func planFromConfiguration() {
        let loaded = ConfigLoader.load(
            text: """
                global_defs {
                    announce_table 100
                }
                virtual_server_group web {
                    192.0.2.20-22 80
                    fwmark 7
                }
                virtual_server group web {
                    protocol TCP
                    announce_up 50%
                    real_server 198.51.100.1 80
                    real_server 198.51.100.2 80
                    real_server 198.51.100.3 80
                }
                virtual_server 192.0.2.10 80 {
                    protocol TCP
                    announce_up 2
                    announce_down 1
                    real_server 198.51.100.1 80
                    real_server 198.51.100.2 80
                }
                virtual_server 192.0.2.30 80 {
                    protocol TCP
                    real_server 198.51.100.1 80
                }
                """)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let plan = AnycastPlan(loaded.config)
        #expect(
            plan.services == [
                AnnouncedService(
                    name: "group web", addresses: ["192.0.2.20", "192.0.2.21", "192.0.2.22"].map { IPAddress($0)! },
                    up: 2, down: 2, total: 3),
                AnnouncedService(name: "192.0.2.10 80", addresses: [Self.vip], up: 2, down: 1, total: 2),
            ])
    }
}
