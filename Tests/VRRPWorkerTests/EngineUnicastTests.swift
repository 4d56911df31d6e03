import Config
import Testing
import WorkerIPC

@testable import VRRPWorker

/// unicast_ttl, min_ttl/max_ttl, unicast_fault_no_peer, track_src_ip, kernel_rx_buf_size and auth_type AH on the
/// engine core (fake system).
@Suite("VRRP engine: unicast options and AH")
struct EngineUnicastTests {
    static let location = SourceLocation(file: "test.conf", line: 1)

    static func unicast(_ configure: (inout VRRPInstance) -> Void = { _ in }) -> VRRPInstance {
        var instance = engineInstance()
        instance.unicastPeers = [UnicastPeer(address: ip("192.0.2.2"), minTTL: 250, maxTTL: 255, location: location)]
        instance.unicastTTL = 16
        instance.kernelRxBufSize = 262_144
        configure(&instance)
        return instance
    }

    @Test func unicastAdvertsCarryUnicastTTLAndPeersAreHeldToTheirTTLRange() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([Self.unicast()]), isReload: false)
        #expect(harness.system.socketRequests.first?.receiveBufferSize == 262_144)
        #expect(harness.system.socketRequests.first?.group == nil)
        harness.system.advance(seconds: 3.7)
        #expect(harness.system.sendOptions.allSatisfy { $0.hopLimit == 16 })
        // A peer advert at TTL 64 is outside 250…255: dropped (hop limit), the master stays.
        harness.receive(priority: 250, hopLimit: 64)
        #expect(harness.last?.state == .master)
        #expect(harness.core.state.vrrpInstances.first?.counters?["dropped_hopLimit"] == 1)
        harness.receive(priority: 250, hopLimit: 251)
        #expect(harness.last?.state == .backup)
    }

    @Test func unicastFaultNoPeerAndTrackSourceIPFault() {
        let noPeer = EngineHarness()
        noPeer.core.apply(
            engineConfiguration([
                Self.unicast {
                    $0.unicastPeers = []
                    $0.unicastFaultNoPeer = true
                }
            ]), isReload: false)
        #expect(noPeer.last?.state == .fault)
        #expect(noPeer.last?.reason == "unicast without any peer (unicast_fault_no_peer)")
        func trackingSource(present: Bool) -> EngineHarness {
            let harness = EngineHarness()
            if present { harness.system.interfaceAddresses = ["192.0.2.9 eth0"] }
            let instance = Self.unicast {
                $0.unicastSourceIP = ip("192.0.2.9")
                $0.trackSourceIP = true
            }
            harness.core.apply(engineConfiguration([instance]), isReload: false)
            return harness
        }
        #expect(trackingSource(present: false).last?.state == .fault)
        let present = trackingSource(present: true)
        #expect(present.last?.state == .backup)
        // The address goes: FAULT; it comes back: BACKUP.
        present.core.addressChanged(ip("192.0.2.9"), interface: "eth0", present: false)
        #expect(present.last?.state == .fault)
        present.core.addressChanged(ip("192.0.2.9"), interface: "eth0", present: true)
        #expect(present.last?.state == .backup)
    }

    @Test func authenticationHeaderSequencesCountUpAndReplaysAreDropped() throws {
        let harness = EngineHarness()
        var instance = engineInstance()
        instance.authentication = Authentication(type: .ah, password: "secret12")
        harness.core.apply(engineConfiguration([instance]), isReload: false)
        #expect(harness.system.socketRequests.first?.authenticationHeader == true)
        harness.system.advance(seconds: 5.7)
        let sequences = harness.system.sendOptions.map(\.authenticationSequence)
        #expect(sequences.first == 1_001 && sequences == Array(1_001..<(1_001 + UInt32(sequences.count))))
        #expect(harness.system.sendOptions.allSatisfy { $0.authenticationKey == AuthenticationHeader.key("secret12") })
        // A peer's AH advert: accepted once, its replay dropped.
        func deliver(sequence: UInt32) throws {
            let advert = VRRPAdvertisement(
                version: .v2, virtualRouterID: 51, priority: 150, advertisementInterval: .seconds(1),
                authentication: .ipAuthenticationHeader, addresses: [ip("192.0.2.100")])
            let source = ip("192.0.2.2")
            let message = try advert.encoded(source: source, destination: vrrpIPv4MulticastGroup)
            let header = IPv4Header(
                source: source, destination: vrrpIPv4MulticastGroup, protocolNumber: authenticationHeaderIPProtocol
            ).encoded(payloadLength: AuthenticationHeader.length + message.count, identification: 9)
            let datagram =
                header
                + AuthenticationHeader.seal(
                    ipHeader: header, message: message, source: source, sequence: sequence,
                    key: AuthenticationHeader.key("secret12"), unicast: false) + message
            let stripped = try IPv4Header.strip(datagram)
            harness.core.receive(stripped.message, packet: stripped.packet, interface: "eth0")
        }
        try deliver(sequence: 40)
        #expect(harness.last?.state == .backup)
        try deliver(sequence: 40)
        #expect(harness.core.state.vrrpInstances.first?.counters?["dropped_authenticationHeader"] == 1)
        try deliver(sequence: 41)
        #expect(harness.core.state.vrrpInstances.first?.counters?["dropped_authenticationHeader"] == 1)
    }
}
