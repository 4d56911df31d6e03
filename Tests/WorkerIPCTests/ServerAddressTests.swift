import Config
import Testing

@testable import WorkerIPC

/// The reports hold real servers' addresses in fixed size and carry them as text, as before (issue 13).
@Suite("Server addresses in reports")
struct ServerAddressTests {
    @Test(arguments: ["198.51.100.11 80", "2001:db8::11 443", "198.51.100.11", "2001:db8::11", "203.0.113.1 65535"])
    func configNamesReadAsWritten(_ text: String) throws {
        let server = try #require(ServerAddress(configName: text))
        #expect(server.configName == text)
    }

    @Test(arguments: ["198.51.100.11:80", "[2001:db8::11]:443", "203.0.113.1:0"])
    func endpointsReadAsWritten(_ text: String) throws {
        let server = try #require(ServerAddress(endpoint: text))
        #expect(server.endpoint == text)
    }

    @Test(arguments: [
        "", "web1 80", "198.51.100.11 80 1", "198.51.100.11  80", "198.51.100.11 65536", "198.51.100.11 -1",
        "198.51.100.11:80",
    ])
    func otherTextIsNoConfigName(_ text: String) {
        #expect(ServerAddress(configName: text) == nil)
    }

    @Test(arguments: [
        "", "198.51.100.11", "198.51.100.11:", "[198.51.100.11]:80", "2001:db8::11:80", "[2001:db8::11:80",
        "198.51.100.11:70000", "198.51.100.11 80",
    ])
    func otherTextIsNoEndpoint(_ text: String) {
        #expect(ServerAddress(endpoint: text) == nil)
    }

    static func statistics(_ endpoint: String, _ naming: IPVSRealServerStatistics.Naming) -> IPVSRealServerStatistics {
        IPVSRealServerStatistics(
            endpoint: ServerAddress(endpoint: endpoint)!, naming: naming, weight: 3, activeConnections: 1,
            inactiveConnections: 2, persistentConnections: 4,
            counters: IPVSCounters(connections: 5, inPackets: 6, outPackets: 7, inBytes: 8, outBytes: 9))
    }

    @Test func statisticsNameTheirRealServer() {
        let named = Self.statistics("198.51.100.11:80", .withPort)
        #expect(named.address == "198.51.100.11:80")
        #expect(named.realServer == "198.51.100.11 80")
        #expect(named.isNamed(ServerAddress(configName: "198.51.100.11 80")!))
        #expect(!named.isNamed(ServerAddress(configName: "198.51.100.11 81")!))
        #expect(!named.isNamed(ServerAddress(configName: "198.51.100.11")!))
        let portless = Self.statistics("[2001:db8::11]:8080", .withoutPort)
        #expect(portless.address == "[2001:db8::11]:8080")
        #expect(portless.realServer == "2001:db8::11")
        #expect(portless.isNamed(ServerAddress(configName: "2001:db8::11")!))
        #expect(!portless.isNamed(ServerAddress(configName: "2001:db8::11 8080")!))
        let sorry = Self.statistics("198.51.100.99:80", .unnamed)
        #expect(sorry.realServer == nil)
        #expect(!sorry.isNamed(ServerAddress(configName: "198.51.100.99 80")!))
    }

    /// The status JSON (and so `vigilctl status --json` and the status page's readers) keeps its text fields.
    @Test func theJSONCarriesTheText() throws {
        let report = IPVSStatisticsReport(
            services: [
                IPVSServiceStatistics(
                    virtualServer: "192.0.2.10 80", address: "192.0.2.10:80", protocolNumber: 6,
                    counters: IPVSCounters(),
                    realServers: [
                        Self.statistics("198.51.100.11:80", .withPort), Self.statistics("198.51.100.12:80", .unnamed),
                    ])
            ], readAt: 1)
        let json = try JSONText.encode(report, pretty: false)
        let counters = #""counters":{"connections":5,"inBytes":8,"inPackets":6,"outBytes":9,"outPackets":7}"#
        #expect(
            json.contains(
                #"{"activeConnections":1,"address":"198.51.100.11:80","# + counters
                    + #","inactiveConnections":2,"persistentConnections":4,"realServer":"198.51.100.11 80","weight":3}"#
            ))
        #expect(
            json.contains(
                #"{"activeConnections":1,"address":"198.51.100.12:80","# + counters
                    + #","inactiveConnections":2,"persistentConnections":4,"weight":3}"#))
        let state = RealServerReport(server: ServerAddress(configName: "198.51.100.11")!, health: .up, weight: 2)
        #expect(try JSONText.encode(state, pretty: false) == #"{"address":"198.51.100.11","health":"up","weight":2}"#)
    }

    @Test func reportsRoundTripThroughTheCodec() throws {
        let statistics = IPVSStatisticsReport(
            services: [
                IPVSServiceStatistics(
                    virtualServer: "fwmark 5", address: "fwmark:5", protocolNumber: 0, counters: IPVSCounters(),
                    realServers: [
                        Self.statistics("198.51.100.11:80", .withPort),
                        Self.statistics("[2001:db8::11]:0", .withoutPort),
                        Self.statistics("198.51.100.12:80", .unnamed),
                    ])
            ], readAt: 1)
        let message = WorkerMessage.ipvsStatistics(statistics)
        #expect(try MessageCodec.decode(WorkerMessage.self, from: MessageCodec.encode(message)) == message)
        let state = WorkerMessage.state(
            WorkerState(virtualServers: [
                VirtualServerReport(
                    name: "fwmark 5",
                    realServers: [
                        RealServerReport(
                            server: ServerAddress(configName: "2001:db8::11")!, detail: "TCP_CHECK: timeout"),
                        RealServerReport(server: ServerAddress(configName: "198.51.100.11 80")!, weight: 0),
                    ])
            ]))
        #expect(try MessageCodec.decode(WorkerMessage.self, from: MessageCodec.encode(state)) == state)
    }

    /// A name that is not the endpoint's address is refused, not taken for another real server.
    @Test func aMismatchedNameIsRefused() throws {
        struct Wire: Codable {
            var address: String
            var realServer: String?
            var weight = 1
            var activeConnections: UInt32 = 0
            var inactiveConnections: UInt32 = 0
            var persistentConnections: UInt32 = 0
            var counters = IPVSCounters()
        }
        for (address, name) in [("198.51.100.11:80", "198.51.100.12 80"), ("198.51.100.11:80", "198.51.100.11 81")] {
            let bytes = try BinaryCodec.encode(Wire(address: address, realServer: name))
            #expect(throws: BinaryCodecError.self) {
                try BinaryCodec.decode(IPVSRealServerStatistics.self, from: bytes)
            }
        }
        let good = try BinaryCodec.encode(Wire(address: "198.51.100.11:80", realServer: "198.51.100.11"))
        #expect(try BinaryCodec.decode(IPVSRealServerStatistics.self, from: good).naming == .withoutPort)
        let bad = try BinaryCodec.encode(Wire(address: "web1:80", realServer: nil))
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(IPVSRealServerStatistics.self, from: bad) }
    }
}
