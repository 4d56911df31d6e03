import Config
import Testing

@testable import VRRPWorker

/// Dropped packets are counted one by one and logged rate-limited (issue 19 item 6: a 20 s flood from one LAN
/// host wrote 427,967 lines).
@Suite("VRRP drop logging")
struct EngineDropLogTests {
    /// 10,000 packets with TTL 64 in 20 s of virtual time: every one counted, a handful of lines logged.
    @Test func aFloodIsCountedAndLoggedAFewTimes() {
        let harness = EngineTests.master()
        for _ in 0..<10_000 {
            harness.receive(priority: 150, hopLimit: 64)
            harness.system.advance(seconds: 0.002)
        }
        harness.system.advance(seconds: 1.1)
        #expect(harness.last?.counters?["dropped_hopLimit"] == 10_000)
        let lines = harness.logs.filter { $0.contains("hopLimit") }
        #expect(lines.count >= 2 && lines.count <= 4, "\(lines)")
        #expect(lines.first?.hasPrefix("VI_1: dropped: hopLimit: TTL/hop limit 64 from 192.0.2.2") == true)
        #expect(lines.dropFirst().first?.contains("more like it since the last such line") == true, "\(lines)")
        #expect(harness.last?.state == .master)
    }

    /// Each check is limited on its own; a burst that stopped is summarised by the next timer after the interval.
    @Test func kindsApartAndABurstSummarised() {
        let harness = EngineTests.master()
        for _ in 0..<100 { harness.receive(priority: 150, hopLimit: 64) }
        for _ in 0..<100 { harness.receive(priority: 150, password: "wrong") }
        #expect(harness.logs.filter { $0.contains("dropped") }.count == 2)
        harness.system.advance(seconds: 11)
        #expect(harness.logs.contains("VI_1: dropped 99 more packets (hopLimit) since the last such line"))
        #expect(harness.logs.contains("VI_1: dropped 99 more packets (authentication) since the last such line"))
        #expect(harness.last?.counters?["dropped_hopLimit"] == 100)
        #expect(harness.last?.counters?["dropped_authentication"] == 100)
    }

    /// Datagrams that are not VRRP at all (a bad IP header) are limited per interface the same way.
    @Test func malformedDatagramsPerInterface() {
        let harness = EngineTests.master()
        let failure = VRRPReceiveFailure(.ipHeader, "IP version 6 on an IPv4 socket")
        for _ in 0..<1000 { harness.core.dropMalformed(failure, interface: "eth0") }
        #expect(
            harness.logs.filter { $0.contains("ipHeader") } == [
                "dropped on eth0: ipHeader: IP version 6 on an IPv4 socket"
            ])
        harness.system.advance(seconds: 11)
        #expect(harness.logs.contains("interface eth0: dropped 999 more packets (ipHeader) since the last such line"))
    }
}
