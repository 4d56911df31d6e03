import Foundation
import Testing

@testable import Config

/// `RealServer` is stored narrow (the watchdog and the checker each hold 10,000 for 1,000 × 10): what it holds reads
/// back as written, its encoding is unchanged, and it stays small.
struct RealServerStorageTests {
    static let here = SourceLocation(file: "keepalived.conf", line: 7)

    @Test("every narrow setting reads back at both ends of its range; 184 bytes with its checker inline, not 176 + 128")
    func readsBack() {
        var real = RealServer(address: .v4(0xC633_640B), port: 65535, location: Self.here)
        #expect(real.port == 65535 && real.weight == 1 && real.rise == nil && real.fall == nil)
        real.port = nil
        #expect(real.port == nil)
        real.port = 0
        #expect(real.port == 0)
        real.weight = RealServer.maximumWeight
        real.upperThreshold = Int(UInt32.max)
        real.lowerThreshold = 1
        real.rise = 65535
        real.fall = 1
        #expect(real.weight == 65535 && real.upperThreshold == Int(UInt32.max) && real.lowerThreshold == 1)
        #expect(real.rise == 65535 && real.fall == 1)
        real.weight = 0
        real.upperThreshold = 0
        #expect(real.weight == 0 && real.upperThreshold == 0)
        real.virtualhost = "www.example.com"
        #expect(real.virtualhost == "www.example.com")
        // Was 176 bytes, and an array of 128 bytes for its one checker.
        #expect(MemoryLayout<RealServer>.stride <= 184, "\(MemoryLayout<RealServer>.stride)")
        #expect(MemoryLayout<Checkers>.size <= MemoryLayout<Checker>.size, "one checker inline, nothing more")
    }

    @Test("its Codable form keeps the settings' names and plain integers")
    func codable() throws {
        var real = RealServer(address: .v4(0xC633_640B), port: 8080, location: Self.here)
        real.weight = 300
        real.upperThreshold = 4_000_000_000
        real.fall = 3
        let json = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(real)) as? [String: Any])
        #expect(json["port"] as? Int == 8080 && json["weight"] as? Int == 300 && json["fall"] as? Int == 3)
        #expect(json["upperThreshold"] as? Int == 4_000_000_000)
        #expect(json["rise"] is NSNull)
        #expect(try JSONDecoder().decode(RealServer.self, from: JSONEncoder().encode(real)) == real)
    }

    static func checker(_ kind: CheckerKind, line: Int) -> Checker {
        Checker(kind: kind, location: SourceLocation(file: "keepalived.conf", line: line))
    }

    @Test("checkers: none, one and several read, change, grow and shrink as an array does, and compare by value")
    func checkers() {
        let tcp = Self.checker(.tcp, line: 3)
        var ping = Self.checker(.ping, line: 9)
        var checkers: Checkers = []
        #expect(checkers.isEmpty && Array(checkers) == [])
        checkers.append(tcp)
        #expect(checkers.count == 1 && checkers[0] == tcp && checkers.first == tcp)
        #expect(checkers.holdsOneInline, "one checker takes no array of its own")
        checkers.append(ping)
        #expect(Array(checkers) == [tcp, ping])
        ping.logAllFailures = true
        checkers[1] = ping
        #expect(checkers[1].logAllFailures && !checkers[0].logAllFailures)
        checkers[0].timing.retry = 4
        #expect(checkers[0].timing.retry == 4 && checkers[1].timing.retry != 4)
        let copy = checkers
        checkers.removeFirst()
        #expect(Array(checkers) == [ping] && copy.count == 2, "a copy keeps its own checkers")
        // One checker reached by removal equals one written alone, and hashes the same.
        #expect(checkers == [ping] && checkers.hashValue == Checkers([ping]).hashValue)
        #expect(checkers.holdsOneInline && Checkers([ping]).holdsOneInline)
        checkers[0].logAllFailures = false
        #expect(checkers[0] != ping)
        checkers.removeAll()
        #expect(checkers == [] && checkers.count == 0)
        #expect(checkers.filter { _ in true } == [])
        #expect(Checkers([tcp, ping]).filter(\.isMisc) == [])
    }

    @Test("checkers encode as the array they replace")
    func checkersCodable() throws {
        let one: Checkers = [Self.checker(.tcp, line: 3)]
        let two: Checkers = [Self.checker(.tcp, line: 3), Self.checker(.ping, line: 4)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for checkers in [Checkers(), one, two] {
            let data = try encoder.encode(checkers)
            #expect(data == (try encoder.encode(Array(checkers))))
            let decoded = try JSONDecoder().decode(Checkers.self, from: data)
            #expect(decoded == checkers && decoded.holdsOneInline == (checkers.count == 1))
        }
    }
}
