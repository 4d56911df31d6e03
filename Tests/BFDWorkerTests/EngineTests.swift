import Config
import TestSupport
import Testing
import WorkerIPC

@testable import BFDWorker

/// A `BFDSystem` in virtual time: records what the engine sends and arms, and runs the armed timers in deadline
/// order when the test advances the clock.
final class FakeBFDSystem: BFDSystem {
    typealias Instant = MonotonicInstant

    var now = epoch
    var generator = SplitMix64(seed: 99)
    var listening: [IPAddress.Family] = []
    var opened: [String: BFDSessionEndpoint] = [:]
    /// (time, session, packet, port)
    var sent: [(MonotonicInstant, String, BFDControlPacket, UInt16)] = []
    var timers: [String: MonotonicInstant] = [:]
    weak var core: BFDEngineCore<FakeBFDSystem>?

    func monotonicNanoseconds(_ instant: MonotonicInstant) -> Int64 { instant.nanoseconds }
    func random() -> UInt64 { generator.next() }

    func listen(family: IPAddress.Family) -> Bool {
        listening.append(family)
        return true
    }

    var nextPort: UInt16 = 49152

    func openSession(_ name: String, endpoint: BFDSessionEndpoint, preferredPort: UInt16?) -> UInt16? {
        opened[name] = endpoint
        nextPort += 1
        return preferredPort ?? nextPort
    }

    func closeSession(_ name: String) { opened[name] = nil }

    func send(_ packet: [UInt8], session name: String, to neighbor: IPAddress, port: UInt16) -> Bool {
        sent.append((now, name, try! BFDControlPacket(decoding: packet), port))
        return true
    }

    func schedule(_ timer: BFDTimer, session: String, at deadline: MonotonicInstant) {
        timers["\(session)/\(timer.rawValue)"] = deadline
    }

    func cancel(_ timer: BFDTimer, session: String) { timers["\(session)/\(timer.rawValue)"] = nil }

    /// Fires every timer due up to `end`, in deadline order.
    func advance(to end: MonotonicInstant) {
        while let (key, deadline) = timers.filter({ $0.value <= end }).min(by: { $0.value < $1.value }) {
            timers[key] = nil
            now = deadline
            let parts = key.split(separator: "/")
            core?.timerFired(BFDTimer(rawValue: String(parts[1]))!, session: String(parts[0]))
        }
        now = end
    }

    func advance(milliseconds: Double) { advance(to: now.advanced(by: .microseconds(Int64(milliseconds * 1000)))) }
}

/// An engine core on the fake, with what it reported and told the trackers.
final class EngineHarness {
    let system = FakeBFDSystem()
    let core: BFDEngineCore<FakeBFDSystem>
    var reports: [WorkerState] = []
    var events: [String] = []
    var vrrp: [[BFDSessionReport]] = []
    var checker: [[BFDSessionReport]] = []

    init(_ text: String, saved: WorkerState? = nil, firstPort: UInt16 = 49152) {
        system.nextPort = firstPort
        core = BFDEngineCore(system: system)
        system.core = core
        core.onReport = { [unowned self] in reports.append($0) }
        core.onEvent = { [unowned self] in events.append($0) }
        core.onTrackers = { [unowned self] in
            if !$0.isEmpty { vrrp.append($0) }
            if !$1.isEmpty { checker.append($1) }
        }
        apply(text, saved: saved)
    }

    func apply(_ text: String, saved: WorkerState? = nil, isReload: Bool = false) {
        let loaded = ConfigLoader.load(text: text)
        precondition(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics.errors)")
        core.apply(
            WorkerConfiguration(globalDefs: loaded.config.globalDefs, savedState: saved, bfd: loaded.config.bfd),
            isReload: isReload)
    }

    /// The neighbour at `source` sends `packet` to port `port` with `ttl`.
    func receive(
        _ packet: BFDControlPacket, from source: String = "192.0.2.2", to destination: String? = "192.0.2.1",
        port: UInt16 = 3784, ttl: Int? = 255
    ) {
        core.receive(
            BFDDatagram(
                payload: packet.encoded(), source: IPAddress(source)!, destination: destination.flatMap(IPAddress.init),
                port: port, ttl: ttl))
    }

    func session(_ name: String) -> BFDSession<MonotonicInstant> { core.sessions[name]!.machine }

    /// What the neighbour sends to session `name` in `state`.
    func neighbor(_ name: String, _ state: BFDState, discriminator: UInt32 = 0xbeef, final: Bool = false)
        -> BFDControlPacket
    {
        BFDControlPacket(
            state: state, final: final, detectMultiplier: 3, myDiscriminator: discriminator,
            yourDiscriminator: state == .down || state == .adminDown ? 0 : session(name).localDiscriminator,
            desiredMinTxInterval: 10_000, requiredMinRxInterval: 10_000)
    }

    /// Brings session `name` Up as a neighbour would: Down, then Up with a Final.
    func bringUp(_ name: String, from source: String = "192.0.2.2") {
        receive(neighbor(name, .down), from: source)
        receive(neighbor(name, .up, final: true), from: source)
    }
}

@Suite("BFD engine core: sessions, demultiplexing, trackers, restarts")
struct EngineTests {
    static let two = """
        bfd_instance b1 {
            neighbor_ip 192.0.2.2
            source_ip 192.0.2.1
            multiplier 3
        }
        bfd_instance b2 {
            neighbor_ip 2001:db8::2
            min_rx 50
            min_tx 50
            checker
        }
        """

    @Test("Each bfd_instance is a session with its own socket; the families in use are listened on")
    func configures() {
        let harness = EngineHarness(Self.two)
        #expect(harness.core.order == ["b1", "b2"])
        #expect(Set(harness.system.listening) == [.ipv4, .ipv6])
        #expect(
            harness.system.opened["b1"]
                == BFDSessionEndpoint(neighbor: IPAddress("192.0.2.2")!, source: IPAddress("192.0.2.1"), ttl: 255))
        // RFC 5881 §5: TTL 255 on IPv6 as well (keepalived sends 64 unless told).
        #expect(harness.system.opened["b2"]?.ttl == 255)
        // An active session sends its first Down packet at once, to 3784.
        #expect(harness.system.sent.map { "\($0.1) \($0.2.state) \($0.3)" } == ["b1 Down 3784", "b2 Down 3784"])
        // The trackers hear of every session after a configuration, each only of those that notify it.
        #expect(harness.vrrp.last?.map(\.name) == ["b1"])
        #expect(harness.checker.last?.map(\.name) == ["b1", "b2"])
        #expect(harness.reports.last?.bfdSessions?.map(\.state) == [.down, .down])
    }

    @Test("A packet is matched by Your Discriminator, else by its source and destination (RFC 5880 §6.8.6)")
    func demultiplexes() {
        let harness = EngineHarness(Self.two)
        harness.receive(harness.neighbor("b1", .down))
        #expect(harness.session("b1").state == .initializing)
        // A Down packet from an unknown address matches nothing.
        harness.receive(harness.neighbor("b1", .down), from: "192.0.2.99")
        #expect(harness.core.dropped[.noSession] == 1)
        // b1 has source_ip 192.0.2.1: a packet to another address of ours is not b1's.
        harness.receive(harness.neighbor("b1", .down), to: "192.0.2.7")
        #expect(harness.core.dropped[.noSession] == 2)
        // Your Discriminator of b1 from another source: dropped.
        harness.receive(harness.neighbor("b1", .up), from: "192.0.2.3")
        #expect(harness.core.dropped[.noSession] == 3)
        harness.receive(harness.neighbor("b1", .up))
        #expect(harness.session("b1").state == .up)
        // Garbage is counted by its check.
        harness.core.receive(
            BFDDatagram(payload: [1, 2, 3], source: IPAddress("192.0.2.2")!, destination: nil, port: 3784, ttl: 255))
        #expect(harness.core.dropped[.truncated] == 1)
    }

    @Test("Single hop: a packet with a TTL below 255 is dropped (RFC 5881 §5); max_hops allows fewer")
    func ttl() {
        let harness = EngineHarness(
            Self.two + "\nbfd_instance far {\n neighbor_ip 198.51.100.9\n max_hops 2\n}\n")
        harness.receive(harness.neighbor("b1", .down), ttl: 254)
        #expect(harness.session("b1").state == .down)
        #expect(harness.core.sessions["b1"]!.dropped[.ttl] == 1)
        harness.receive(harness.neighbor("b1", .down), ttl: nil)
        #expect(harness.session("b1").state == .initializing)
        harness.receive(harness.neighbor("far", .down), from: "198.51.100.9", to: nil, port: 4784, ttl: 253)
        #expect(harness.session("far").state == .initializing)
        harness.receive(harness.neighbor("far", .down), from: "198.51.100.9", to: nil, port: 4784, ttl: 252)
        #expect(harness.core.sessions["far"]!.dropped[.ttl] == 1)
    }

    @Test("A multihop session sends to 4784, and to 3784 once its neighbour's packets arrive there (keepalived)")
    func multihopPort() {
        let harness = EngineHarness("bfd_instance far {\n neighbor_ip 198.51.100.9\n max_hops 5\n}\n")
        #expect(harness.system.sent.last?.3 == 4784)
        harness.receive(harness.neighbor("far", .down), from: "198.51.100.9", to: nil, port: 3784, ttl: 251)
        #expect(harness.system.sent.last?.3 == 3784)
    }

    @Test("Trackers hear when the session comes Up and when it goes Down, not of Init or the neighbour's AdminDown")
    func trackers() {
        let harness = EngineHarness(Self.two)
        harness.vrrp = []
        harness.receive(harness.neighbor("b1", .down))
        #expect(harness.vrrp.isEmpty)
        harness.receive(harness.neighbor("b1", .up))
        #expect(harness.vrrp.map { $0.map(\.up) } == [[true]])
        // The neighbour is taken down by its operator: the session is Down, trackers keep it up (§6.8.16).
        harness.receive(harness.neighbor("b1", .adminDown))
        #expect(harness.session("b1").state == .down)
        #expect(harness.vrrp.count == 1)
        #expect(harness.reports.last?.bfdSessions?.first?.up == true)
        // It comes back: Up again, nothing new for trackers; then the link dies: Down for them.
        harness.bringUp("b1")
        #expect(harness.vrrp.count == 1)
        harness.system.advance(milliseconds: 100)
        #expect(harness.session("b1").state == .down)
        #expect(harness.vrrp.map { $0.map(\.up) } == [[true], [false]])
        #expect(harness.events.last?.contains("Up -> Down (Control Detection Time Expired") == true)
    }

    @Test("Detection: Down exactly multiplier × agreed interval after the last packet")
    func detectionTiming() {
        let harness = EngineHarness(Self.two)
        harness.bringUp("b1")
        harness.system.advance(milliseconds: 7)
        harness.receive(harness.neighbor("b1", .up))
        let last = harness.system.now
        harness.system.advance(milliseconds: 29.999)
        #expect(harness.session("b1").state == .up)
        harness.system.advance(milliseconds: 0.001)
        #expect(harness.session("b1").state == .down)
        let down = harness.reports.last!.bfdSessions!.first!
        #expect(down.since - last.nanoseconds == 30_000_000)
    }

    @Test("A restarted worker resumes an Up session from the last report: no transition, no tracker hears Down")
    func resumes() {
        let first = EngineHarness(Self.two)
        first.bringUp("b1")
        let report = first.reports.last!
        let second = EngineHarness(Self.two, saved: report, firstPort: 60000)
        #expect(second.session("b1").state == .up)
        #expect(second.session("b1").localDiscriminator == first.session("b1").localDiscriminator)
        // RFC 5881 §4: the same source port for the session's life, across the restart.
        #expect(second.core.sessions["b1"]?.sourcePort == first.core.sessions["b1"]?.sourcePort)
        #expect(second.events.isEmpty)
        #expect(second.vrrp.last?.first?.up == true)
        #expect(second.vrrp.last?.first?.since == report.bfdSessions?.first?.since)
        // It sent Up at once.
        #expect(second.system.sent.first { $0.1 == "b1" }?.2.state == .up)
        // And it keeps matching the neighbour's packets by their discriminator.
        second.receive(second.neighbor("b1", .up))
        #expect(second.core.dropped.isEmpty)
    }

    @Test(
        "A reload keeps a session whose neighbour is unchanged (new timers by a Poll), replaces a moved one, and takes a removed one AdminDown"
    )
    func reload() {
        let harness = EngineHarness(Self.two)
        harness.bringUp("b1")
        let discriminator = harness.session("b1").localDiscriminator
        harness.system.sent = []
        harness.apply(
            """
            bfd_instance b1 {
                neighbor_ip 192.0.2.2
                source_ip 192.0.2.1
                multiplier 3
                min_tx 20
            }
            bfd_instance b3 {
                neighbor_ip 192.0.2.3
            }
            """, isReload: true)
        #expect(harness.session("b1").state == .up)
        #expect(harness.session("b1").localDiscriminator == discriminator)
        #expect(harness.session("b1").isPolling)
        #expect(harness.core.sessions["b2"] == nil)
        #expect(harness.system.sent.contains { $0.1 == "b2" && $0.2.state == .adminDown })
        #expect(harness.system.opened["b2"] == nil)
        #expect(harness.core.order == ["b1", "b3"])
    }

    @Test("A reload that changes nothing BFD-related touches no session: no packet, no timer, no socket, no event")
    func reloadWithoutChange() {
        let harness = EngineHarness(Self.two)
        harness.bringUp("b1")
        let (timers, opened, ports) = (
            harness.system.timers, harness.system.opened, harness.core.sessions.mapValues(\.sourcePort)
        )
        func states() -> [String: String] {
            harness.core.sessions.mapValues {
                "\($0.machine.state) \($0.machine.localDiscriminator) \($0.machine.isPolling)"
            }
        }
        let before = states()
        let events = harness.events.count
        harness.system.sent = []
        // The same sessions beside a new VRRP instance: the BFD part of the file is unchanged.
        harness.apply(
            Self.two + """

                vrrp_instance VI_1 {
                    interface eth0
                    virtual_router_id 1
                    priority 100
                    virtual_ipaddress {
                        192.0.2.100/24
                    }
                }
                """, isReload: true)
        #expect(harness.system.sent.isEmpty)
        #expect(harness.system.timers == timers)
        #expect(harness.system.opened == opened)
        #expect(harness.core.sessions.mapValues(\.sourcePort) == ports)
        #expect(states() == before)
        #expect(harness.session("b1").state == .up)
        #expect(harness.events.count == events)
    }

    @Test("SIGUSR1 and SIGUSR2 texts name every session")
    func dumps() {
        let harness = EngineHarness(Self.two)
        harness.bringUp("b1")
        #expect(harness.core.dumpText.contains("BFD Instance = b1"))
        #expect(harness.core.dumpText.contains("State = Up"))
        #expect(harness.core.statisticsText.contains("b1.packets_received 2"))
        #expect(harness.core.statisticsText.contains("b1.went_up 1"))
    }
}
