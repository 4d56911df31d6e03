import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// `interface_up_down_delays`: the pure filter, the limits keepalived puts on it, and the engine acting through it.
@Suite("Interface up/down delays")
struct LinkDebounceTests {
    typealias Debounce = LinkDebounce<VirtualInstant>
    static let location = SourceLocation(file: "test.conf", line: 1)

    static func filter(down: Double, up: Double) -> Debounce {
        var filter = Debounce(
            delays: ["eth0": .init(down: .milliseconds(Int64(down * 1000)), up: .milliseconds(Int64(up * 1000)))])
        #expect(filter.observe("eth0", isUp: true, at: at(0)) == .act(isUp: true))
        return filter
    }

    @Test func aFlapShorterThanTheDelayIsNeverActedOn() {
        var filter = Self.filter(down: 2, up: 1)
        #expect(filter.observe("eth0", isUp: false, at: at(1_000_000)) == .wait(until: at(3_000_000)))
        // Repeated while waiting: the first deadline stays.
        #expect(filter.observe("eth0", isUp: false, at: at(1_500_000)) == .none)
        #expect(filter.observe("eth0", isUp: true, at: at(2_000_000)) == .cancel)
        #expect(filter.isUp("eth0") == true)
        #expect(filter.fire("eth0") == nil)
    }

    @Test func aChangeThatLastsIsActedOnWhenItsDelayEnds() {
        var filter = Self.filter(down: 2, up: 1)
        #expect(filter.observe("eth0", isUp: false, at: at(1_000_000)) == .wait(until: at(3_000_000)))
        #expect(filter.fire("eth0") == false)
        #expect(filter.isUp("eth0") == false)
        // Coming back waits the up delay.
        #expect(filter.observe("eth0", isUp: true, at: at(4_000_000)) == .wait(until: at(5_000_000)))
        #expect(filter.fire("eth0") == true)
    }

    @Test func noDelayOrNeverSeenUpActsAtOnce() {
        var filter = Self.filter(down: 2, up: 0)
        #expect(filter.observe("eth0", isUp: false, at: at(0)) == .wait(until: at(2_000_000)))
        #expect(filter.fire("eth0") == false)
        #expect(filter.observe("eth0", isUp: true, at: at(3_000_000)) == .act(isUp: true))
        // An interface without a line, and one first seen down: at once (keepalived delays only after seen up).
        #expect(filter.observe("eth1", isUp: true, at: at(0)) == .act(isUp: true))
        #expect(filter.observe("eth1", isUp: false, at: at(1)) == .act(isUp: false))
        var down = Debounce(delays: ["eth2": .init(down: .seconds(2), up: .seconds(2))])
        #expect(down.observe("eth2", isUp: false, at: at(0)) == .act(isUp: false))
        #expect(down.observe("eth2", isUp: true, at: at(1)) == .act(isUp: true))
        #expect(down.observe("eth2", isUp: false, at: at(2)) == .wait(until: at(2_000_002)))
    }

    @Test func delaysAreHeldUnderTheAdvertIntervalsTheInstancesAllow() {
        let lines = [
            InterfaceUpDownDelay(interface: "eth0", down: .seconds(5), up: .seconds(1), location: Self.location),
            InterfaceUpDownDelay(interface: "eth1", down: .seconds(1), up: .seconds(1), location: Self.location),
        ]
        // advert_int 1, down_timer_adverts 3: at least 2 s becomes 2 s − 1/256 s.
        let (delays, notes) = Debounce.effectiveDelays(
            lines, instances: [("eth0", .seconds(1), 3), ("eth1", .seconds(1), 1)])
        #expect(delays["eth0"] == .init(down: .seconds(2) - .seconds(1) / 256, up: .seconds(1)))
        #expect(delays["eth1"] == .init(down: .zero, up: .zero))
        #expect(notes.count == 2)
        #expect(notes[1].contains("down_timer_adverts 1"))
        let (kept, none) = Debounce.effectiveDelays(lines, instances: [("eth0", .seconds(3), 3)])
        #expect(kept["eth0"] == .init(down: .seconds(5), up: .seconds(1)) && none.isEmpty)
    }

    @Test func theEngineGoesToFaultOnlyWhenTheLinkStaysDown() {
        let harness = EngineHarness()
        var configuration = engineConfiguration([engineInstance(advert: .seconds(3))])
        configuration.vrrp?.interfaceUpDownDelays = [
            InterfaceUpDownDelay(interface: "eth0", down: .seconds(2), up: .seconds(1), location: Self.location)
        ]
        harness.core.apply(configuration, isReload: false)
        harness.system.advance(seconds: 10)
        #expect(harness.last?.state == .master)
        harness.core.linkChanged(interface: "eth0", isUp: false)
        harness.system.advance(seconds: 1.5)
        harness.core.linkChanged(interface: "eth0", isUp: true)
        harness.system.advance(seconds: 5)
        #expect(harness.last?.state == .master)
        #expect(!harness.events.contains { $0.contains("FAULT") })
        harness.core.linkChanged(interface: "eth0", isUp: false)
        harness.system.advance(seconds: 1.9)
        #expect(harness.last?.state == .master)
        harness.system.advance(seconds: 0.2)
        #expect(harness.last?.state == .fault)
        #expect(harness.system.addresses.isEmpty)
        harness.core.linkChanged(interface: "eth0", isUp: true)
        harness.system.advance(seconds: 0.9)
        #expect(harness.last?.state == .fault)
        harness.system.advance(seconds: 0.2)
        #expect(harness.last?.state == .backup)
    }
}
