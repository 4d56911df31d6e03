import Config
import Synchronization
import TestSupport
import Testing

@testable import WorkerIPC

@Suite("Binary codec")
struct BinaryCodecTests {
    static let fixtures = repositoryRoot + "/Tests/ConfigTests/Fixtures/valid"

    /// Every fixture's resolved configuration, as the watchdog sends it to each worker.
    static func configurations() -> [WorkerConfiguration] {
        ["lvs-everything.conf", "vrrp-full.conf", "seed-master.conf"].map { name in
            let loaded = ConfigLoader.load(path: fixtures + "/" + name)
            return WorkerConfiguration(
                globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs,
                savedState: WorkerState(
                    vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, counters: ["adverts_sent": 3])],
                    aliveAt: -5, ipvsServices: ["TCP 192.0.2.1:80"]))
        }
    }

    @Test("real configurations round-trip exactly")
    func configurationsRoundTrip() throws {
        for configuration in Self.configurations() {
            #expect(
                configuration.lvs?.virtualServers.isEmpty == false || configuration.vrrp?.instances.isEmpty == false)
            let bytes = MessageCodec.encode(WorkerMessage.configure(configuration))
            #expect(try MessageCodec.decode(WorkerMessage.self, from: bytes) == .configure(configuration))
            #expect(MessageCodec.caseName(of: bytes) == "configure")
        }
    }

    struct Primitives: Codable, Equatable {
        var int = -123_456_789
        var int8: Int8 = -128
        var uint64 = UInt64.max
        var int64 = Int64.min
        var double = -0.125
        var float: Float = 3.5
        var bool = true
        var text = "grüße \u{1F600}"
        var missing: Int? = nil
        var present: String? = "x"
        var list = [1, 2, 3]
        var nested = [["a": 1], [:]]
        var byInt = [7: "seven", -1: "minus one"]
        var duration = Duration.milliseconds(1500)
        var set: Set<String> = ["b", "a"]
    }

    @Test func primitivesRoundTrip() throws {
        let value = Primitives()
        #expect(try BinaryCodec.decode(Primitives.self, from: BinaryCodec.encode(value)) == value)
    }

    /// Writes its keys in the opposite order from the one `Primitives` reads them in, plus one unknown key.
    struct Reversed: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: BinaryCodingKey.self)
            let value = Primitives()
            try container.encode(value.set, forKey: .init("set"))
            try container.encode(value.duration, forKey: .init("duration"))
            try container.encode(value.byInt, forKey: .init("byInt"))
            try container.encode(value.nested, forKey: .init("nested"))
            try container.encode(value.list, forKey: .init("list"))
            try container.encode(["deep": [1, 2]], forKey: .init("unknown"))
            try container.encode(value.present, forKey: .init("present"))
            try container.encode(value.text, forKey: .init("text"))
            try container.encode(value.bool, forKey: .init("bool"))
            try container.encode(value.float, forKey: .init("float"))
            try container.encode(value.double, forKey: .init("double"))
            try container.encode(value.int64, forKey: .init("int64"))
            try container.encode(value.uint64, forKey: .init("uint64"))
            try container.encode(value.int8, forKey: .init("int8"))
            try container.encode(value.int, forKey: .init("int"))
        }
    }

    @Test("keys out of order and unknown keys are found and skipped through the container's index")
    func outOfOrder() throws {
        #expect(try BinaryCodec.decode(Primitives.self, from: BinaryCodec.encode(Reversed())) == Primitives())
        // Inside an array too: the reader continues after each element whatever order it read it in.
        let pair = try BinaryCodec.encode([AnyReversed(), AnyReversed()])
        #expect(try BinaryCodec.decode([Primitives].self, from: pair) == [Primitives(), Primitives()])
    }

    /// The leaves written as values (`Duration`, `SourceLocation`, `IPAddress`), in every kind of container.
    struct Leaves: Codable, Equatable {
        var durations: [Duration] = [
            .zero, .seconds(5), .milliseconds(-1500), .nanoseconds(1), .seconds(Int64.max), .seconds(Int64.min),
            Duration(secondsComponent: 3, attosecondsComponent: 999_999_999_999_999_999),
        ]
        var absent: Duration?
        var present: Duration? = .milliseconds(250)
        var location = Config.SourceLocation(file: "/etc/keepalived/keepalived.conf", line: 12)
        var addresses: [IPAddress] = [
            .v4(0xC000_0201), .v6([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]),
            // Malformed (not 16 bytes): written as `Codable` writes it, and read back the same.
            .v6([1, 2, 3]),
        ]
        var byName: [String: IPAddress] = ["web": .v4(0xCB00_7101)]
    }

    /// The same keys, declared (and so read) in the opposite order: the reader skips over every leaf to index them.
    struct LeavesReversed: Codable, Equatable {
        var byName: [String: IPAddress]
        var addresses: [IPAddress]
        var location: Config.SourceLocation
        var present: Duration?
        var absent: Duration?
        var durations: [Duration]
    }

    @Test("durations, locations and addresses are written as values and read back exactly, in any order")
    func leaves() throws {
        let value = Leaves()
        let bytes = try BinaryCodec.encode(value)
        #expect(try BinaryCodec.decode(Leaves.self, from: bytes) == value)
        let reversed = try BinaryCodec.decode(LeavesReversed.self, from: bytes)
        #expect(reversed.durations == value.durations && reversed.location == value.location)
        #expect(reversed.addresses == value.addresses && reversed.byName == value.byName)
        #expect(reversed.present == value.present && reversed.absent == nil)
        // A value, not a container: the tag, then the fields.
        struct One: Codable, Equatable {
            var d: Duration
            var a: IPAddress
        }
        let one = try BinaryCodec.encode(One(d: .seconds(5), a: .v4(0xC000_0201)))
        #expect(one == [8, 2, 0, 0, 0, 0, 1, 0x64, 10, 10, 0, 0, 1, 0x61, 12, 192, 0, 2, 1])
        // `Codable`'s form of a Duration (an unkeyed pair: the attoseconds' high and low 64 bits) is read too.
        let codable: [UInt8] =
            [8, 2, 0, 0, 0, 0, 1, 0x64, 9, 2, 0, 0, 0, 3, 0] + [4] + varint(5_000_000_000_000_000_000)
            + [0, 1, 0x61, 12, 192, 0, 2, 1]
        #expect(try BinaryCodec.decode(One.self, from: codable) == One(d: .seconds(5), a: .v4(0xC000_0201)))
        // Hostile leaves are errors: attoseconds of a whole second, a truncated address.
        #expect(throws: BinaryCodecError.self) {
            try BinaryCodec.decode([Duration].self, from: [9, 1, 0, 0, 0, 10, 0] + varint(2_000_000_000_000_000_000))
        }
        #expect(throws: BinaryCodecError.self) {
            try BinaryCodec.decode([IPAddress].self, from: [9, 1, 0, 0, 0, 13, 1, 2])
        }
    }

    func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }

    struct AnyReversed: Encodable {
        func encode(to encoder: any Encoder) throws { try Reversed().encode(to: encoder) }
    }

    /// Reads only one of the keys written: the rest must be skipped, not read by the next value.
    struct Partial: Decodable, Equatable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: BinaryCodingKey.self)
            text = try container.decode(String.self, forKey: .init("text"))
        }
    }

    @Test("a container left half-read is skipped to its end")
    func halfRead() throws {
        let bytes = try BinaryCodec.encode([Primitives(), Primitives()])
        #expect(
            try BinaryCodec.decode([Partial].self, from: bytes).map(\.text) == ["grüße \u{1F600}", "grüße \u{1F600}"])
    }

    /// A nested value read through its index, out of order (as `Dictionary` reads its keys), then an optional of its
    /// parent: `decodeNil` must look for it from the parent's position, not from where the nested read stopped.
    struct Parent: Codable, Equatable {
        var nested: Primitives
        var optional: Int?
        var last: String?
    }

    @Test("an optional after a container read out of order is found (decodeNil settles first)")
    func optionalAfterIndexedContainer() throws {
        struct Written: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: BinaryCodingKey.self)
                try container.encode(Primitives(), forKey: .init("nested"))
                try container.encode(7, forKey: .init("optional"))
                try container.encode("end", forKey: .init("last"))
            }
        }
        // `Primitives` written in one order and read in another: its reader ends inside it.
        struct ReversedParent: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: BinaryCodingKey.self)
                try container.encode(AnyReversed(), forKey: .init("nested"))
                try container.encode(7, forKey: .init("optional"))
                try container.encode("end", forKey: .init("last"))
            }
        }
        let expected = Parent(nested: Primitives(), optional: 7, last: "end")
        #expect(try BinaryCodec.decode(Parent.self, from: BinaryCodec.encode(Written())) == expected)
        #expect(try BinaryCodec.decode(Parent.self, from: BinaryCodec.encode(ReversedParent())) == expected)
        // The same with the dictionaries `vigilctl status` carries (their order differs from run to run).
        let counters = Dictionary(uniqueKeysWithValues: (0..<50).map { ("counter_\($0)", UInt64($0)) })
        struct WithCounters: Codable, Equatable {
            var counters: [String: UInt64]?
            var after: Int?
        }
        let value = WithCounters(counters: counters, after: 3)
        for _ in 0..<20 {
            #expect(try BinaryCodec.decode(WithCounters.self, from: BinaryCodec.encode(value)) == value)
        }
    }

    @Test("counters by name take a path of their own, in the bytes a generic dictionary has")
    func countersByName() throws {
        let counters = Dictionary(uniqueKeysWithValues: (0..<30).map { ("counter_\($0)", UInt64($0) << ($0 % 60)) })
        // `Dictionary`'s own `Codable`, called directly, does not pass through the codec's leaf paths.
        struct Generic: Codable {
            var counters: [String: UInt64]
            init(_ counters: [String: UInt64]) { self.counters = counters }
            init(from decoder: any Decoder) throws { counters = try [String: UInt64](from: decoder) }
            func encode(to encoder: any Encoder) throws { try counters.encode(to: encoder) }
        }
        // In a list: a value at the top is encoded by its own `Codable`, an element through the codec's paths.
        let fast = try BinaryCodec.encode([counters])
        #expect(fast == (try BinaryCodec.encode([Generic(counters)])))
        #expect(try BinaryCodec.decode([[String: UInt64]].self, from: fast) == [counters])
        #expect(try BinaryCodec.decode([Generic].self, from: fast).map(\.counters) == [counters])
        // Several in one message: the second one's names are references to the first one's keys.
        let reports = [counters, counters.mapValues { $0 + 1 }, [:]]
        let many = try BinaryCodec.encode(reports)
        #expect(many.count < 2 * fast.count)
        #expect(many == (try BinaryCodec.encode(reports.map(Generic.init))))
        #expect(try BinaryCodec.decode([[String: UInt64]].self, from: many) == reports)
        // A count of another type, or a negative one, is an error.
        struct Signed: Codable { var counters: [String: Int] }
        let signed = try BinaryCodec.encode(Signed(counters: ["a": -1]))
        struct Unsigned: Codable { var counters: [String: UInt64] }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(Unsigned.self, from: signed) }
    }

    @Test("a wrong type, a value out of range and bytes left over are errors, not crashes")
    func wrongTypes() throws {
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(String.self, from: BinaryCodec.encode(5)) }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(UInt8.self, from: BinaryCodec.encode(300)) }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(Int.self, from: BinaryCodec.encode(-1) + [0]) }
        #expect(throws: BinaryCodecError.self) {
            try BinaryCodec.decode(
                UInt64.self, from: [BinaryCodec.Tag.unsigned.rawValue] + [UInt8](repeating: 0xff, count: 11))
        }
    }

    /// A real server with every field set away from its default, and checkers of each kind of record path.
    static func everyFieldSet() -> RealServer {
        var server = RealServer(
            address: IPAddress("2001:db8::7")!, port: 8443, location: SourceLocation(file: "/etc/a.conf", line: 12))
        server.weight = 7
        server.forwarding = .directRouting
        server.inhibitOnFailure = true
        server.notifyUp = ScriptCommand(text: "/bin/up x", arguments: ["/bin/up", "x"], user: "nobody")
        server.notifyDown = ScriptCommand(text: "/bin/down", group: "nogroup")
        server.upperThreshold = 100
        server.lowerThreshold = 50
        server.smtpAlert = false
        server.virtualhost = "www.example.org"
        server.checkDefaults.connectTimeout = .milliseconds(1500)
        server.checkDefaults.retry = 4
        server.checkDefaults.delayBeforeRetry = .seconds(2)
        server.checkDefaults.warmup = .seconds(3)
        server.checkDefaults.delayLoop = .seconds(6)
        server.checkDefaults.alpha = true
        server.rise = 3
        server.fall = 2
        var tcp = Checker(kind: .tcp, location: SourceLocation(file: "/etc/a.conf", line: 14))
        tcp.connection.connectIP = IPAddress("192.0.2.9")!
        tcp.connection.connectPort = 8080
        tcp.connection.bindTo = IPAddress("192.0.2.1")!
        tcp.connection.bindPort = 40000
        tcp.connection.bindInterface = "eth1"
        tcp.connection.fwmark = 9
        tcp.connection.connectTimeout = .seconds(4)
        tcp.timing.connectTimeout = .milliseconds(250)
        tcp.timing.retry = 0
        tcp.timing.delayBeforeRetry = .seconds(9)
        tcp.timing.warmup = .zero
        tcp.timing.delayLoop = .milliseconds(500)
        tcp.timing.alpha = true
        tcp.ownTiming = [.retry, .alpha]
        tcp.logAllFailures = true
        var http = HTTPCheck()
        http.urls = [HTTPURL(path: "/health", location: SourceLocation(file: "/etc/a.conf", line: 21))]
        http.virtualhost = "h.example.org"
        let ping = Checker(kind: .ping, location: SourceLocation(file: "/etc/b.conf", line: 30))
        server.checkers = [
            tcp, Checker(kind: .http(http), location: SourceLocation(file: "/etc/a.conf", line: 20)), ping,
        ]
        return server
    }

    @Test("every stored property of a record type is one of its record's fields")
    func everyFieldIsWritten() {
        let server = Self.everyFieldSet()
        #expect(
            Mirror(reflecting: server).children.count == RealServer.fieldCount, "a RealServer field not in its record")
        #expect(Mirror(reflecting: server.checkers[0]).children.count == Checker.fieldCount)
        let virtual = VirtualServer(
            address: .endpoint(IPAddress("192.0.2.1")!, port: 80), location: .init(file: "f", line: 1))
        #expect(
            Mirror(reflecting: virtual).children.count == VirtualServer.fieldCount,
            "a VirtualServer field not in its record")
        #expect(Mirror(reflecting: CheckTiming()).children.count == CheckTiming.fieldCount)
        #expect(Mirror(reflecting: CheckDefaults()).children.count == CheckDefaults.fieldCount)
        #expect(Mirror(reflecting: ConnectionOptions()).children.count == ConnectionOptions.fieldCount)
    }

    @Test("virtual servers go as records: every kind of address and forwarding method comes back")
    func virtualServerRecords() throws {
        let location = SourceLocation(file: "/etc/v.conf", line: 3)
        let tunnel = ForwardingMethod.tunnel(TunnelOptions(encapsulation: .gue(port: 6080), checksum: .remoteChecksum))
        let addresses: [VirtualServerAddress] = [
            .endpoint(IPAddress("192.0.2.1")!, port: 80), .endpoint(IPAddress("2001:db8::1")!, port: 0),
            .fwmark(UInt32.max), .group("web"),
        ]
        var servers: [VirtualServer] = []
        for (index, address) in addresses.enumerated() {
            var server = VirtualServer(address: address, location: location)
            server.forwarding = [.nat, .directRouting, tunnel, .nat][index]
            server.persistenceTimeout = 300
            server.quorumUp = ScriptCommand(text: "/bin/q up", arguments: ["/bin/q", "up"])
            server.sorryServer = SorryServer(address: IPAddress("198.51.100.9")!, port: 8080, location: location)
            var plain = RealServer(address: IPAddress("198.51.100.10")!, port: 80, location: location)
            plain.forwarding = [nil, .nat, .directRouting, tunnel][index]
            server.realServers = [Self.everyFieldSet(), plain]
            servers.append(server)
        }
        let decoded = try BinaryCodec.decode([VirtualServer].self, from: try BinaryCodec.encode(servers))
        #expect(decoded == servers)
        #expect(decoded.map(\.location) == servers.map(\.location))
        #expect(decoded.map(\.realServers[1].forwarding) == servers.map(\.realServers[1].forwarding))
    }

    @Test("a list of records reads what Array's Codable writes, and is written the same")
    func recordListsMatchArrays() throws {
        let plain = RealServer(address: IPAddress("192.0.2.5")!, port: nil, location: .init(file: "f", line: 1))
        let servers = [Self.everyFieldSet(), plain]
        let generic = try BinaryCodec.encode(servers)
        let state = EncoderState()
        try BinaryRecordWriter(state: state).records(servers)
        #expect(state.bytes == generic)
        let reader = BinaryRecordReader(state: DecoderState(bytes: generic, offset: 0, progress: nil), depth: 0)
        #expect(try reader.records(RealServer.self) == servers)
    }

    @Test("real servers and checkers go as records and come back with every field, locations included")
    func recordsRoundTrip() throws {
        let servers = [
            Self.everyFieldSet(),
            RealServer(address: IPAddress("192.0.2.5")!, port: nil, location: .init(file: "f", line: 1)),
        ]
        let bytes = try BinaryCodec.encode(servers)
        #expect(bytes.filter { $0 == BinaryCodec.Tag.record.rawValue }.count >= 2 + 3 * 3)
        let decoded = try BinaryCodec.decode([RealServer].self, from: bytes)
        #expect(decoded == servers)
        #expect(decoded.map(\.location) == servers.map(\.location))
        #expect(decoded[0].checkers.map(\.location) == servers[0].checkers.map(\.location))
        #expect(decoded[0].checkers[0].connection == servers[0].checkers[0].connection)
        #expect(decoded[0].checkDefaults == servers[0].checkDefaults)
    }

    @Test("a record is skipped when its key is read out of order, and a wrong field count is an error")
    func recordsSkippedAndChecked() throws {
        struct Pair: Codable, Equatable {
            var server: RealServer
            var after: Int
        }
        struct Reversed: Decodable {
            var after: Int
            var server: RealServer
            enum CodingKeys: String, CodingKey { case server, after }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                after = try container.decode(Int.self, forKey: .after)
                server = try container.decode(RealServer.self, forKey: .server)
            }
        }
        let pair = Pair(server: Self.everyFieldSet(), after: 42)
        var bytes = try BinaryCodec.encode(pair)
        let reversed = try BinaryCodec.decode(Reversed.self, from: bytes)
        #expect(reversed.after == 42 && reversed.server == pair.server)
        // The real server's field count (16) made 15.
        let at = try #require(bytes.firstIndex(of: BinaryCodec.Tag.record.rawValue))
        #expect(bytes[at + 1] == 16)
        bytes[at + 1] = 15
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(Pair.self, from: bytes) }
    }

    @Test("every truncation and thousands of corruptions of a real configuration are rejected without a crash")
    func hostileBytes() throws {
        let bytes = MessageCodec.encode(WorkerMessage.configure(Self.configurations()[0]))
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
            #expect(throws: MessageError.self) {
                try MessageCodec.decode(WorkerMessage.self, from: Array(bytes[..<length]))
            }
        }
        var random = SplitMix64(seed: 7)
        var decoded = 0
        for _ in 0..<3000 {
            var corrupt = bytes
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                corrupt[Int.random(in: MessageCodec.headerSize..<corrupt.count, using: &random)] = UInt8.random(
                    in: 0...255, using: &random)
            }
            if (try? MessageCodec.decode(WorkerMessage.self, from: corrupt)) != nil { decoded += 1 }
        }
        // Some corruptions land in strings or numbers and still decode; the point is that none traps.
        #expect(decoded < 3000)
    }

    @Test("nesting is bounded and a peer's counts never size an allocation")
    func bounds() {
        let deep = [UInt8](repeating: BinaryCodec.Tag.unkeyed.rawValue, count: 1) + [1, 0, 0, 0]
        var nested: [UInt8] = []
        for _ in 0..<200 { nested += deep }
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode([[[[[[Int]]]]]].self, from: nested) }
        let huge: [UInt8] = [BinaryCodec.Tag.unkeyed.rawValue, 0xff, 0xff, 0xff, 0x7f]
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode([Int].self, from: huge) }
        let longString: [UInt8] = [BinaryCodec.Tag.string.rawValue, 0xff, 0xff, 0xff, 0xff, 0x0f, 65]
        #expect(throws: BinaryCodecError.self) { try BinaryCodec.decode(String.self, from: longString) }
    }

    @Test("a large decode marks progress")
    func progress() throws {
        let marks = Atomic<Int>(0)
        let bytes = MessageCodec.encode(WorkerMessage.configure(Self.configurations()[0]))
        var many = [WorkerConfiguration](repeating: Self.configurations()[0], count: 50)
        many[0].releaseOnStop = false
        let big = try BinaryCodec.encode(many)
        _ = try BinaryCodec.decode(
            [WorkerConfiguration].self, from: big, progress: { marks.add(1, ordering: .relaxed) })
        #expect(marks.load(ordering: .relaxed) > 0)
        #expect(bytes.count > 1000)
    }
}

@Suite("JSON text")
struct JSONTextTests {
    struct Sample: Encodable {
        var name = "a \"quoted\"\nline\u{01}"
        var counts = ["b": 2, "a": 1]
        var empty: [Int] = []
        var ratio = 0.5
        var none: Int? = nil
        var flag = false
    }

    @Test("sorted keys, escapes, pretty and compact")
    func encodes() throws {
        #expect(
            try JSONText.encode(Sample(), pretty: false)
                == #"{"counts":{"a":1,"b":2},"empty":[],"flag":false,"name":"a \"quoted\"\nline\u0001","ratio":0.5}"#)
        #expect(try JSONText.encode(["x": [1]]) == "{\n  \"x\" : [\n    1\n  ]\n}")
    }

    @Test func fixedPointFormatting() {
        #expect(fixedPoint(2.345, digits: 2) == "2.35")
        #expect(fixedPoint(0.004, digits: 2) == "0.00")
        #expect(fixedPoint(-1.5, digits: 0) == "-2")
        #expect(fixedPoint(12, digits: 1) == "12.0")
        #expect(fixedPoint(1234.5678, digits: 3) == "1234.568")
    }
}
