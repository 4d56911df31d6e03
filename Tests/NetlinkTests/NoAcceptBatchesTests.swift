import Config
import Foundation
import Testing

@testable import Netlink

/// The no-accept filter's nftables batches against what libnftnl 1.2.4 (Debian 12) built for the same calls, as
/// `NoAcceptFilterTests` makes them: `Fixtures/libnftnl-batches.hex`, one batch a line, captured with
/// `strace -e trace=sendto -e write=all` from that test when the filter still built its messages with libnftnl.
@Suite struct NoAcceptBatchesTests {
    static let fixture: [[UInt8]] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/libnftnl-batches.hex"
        ).path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            stride(from: 0, to: line.count, by: 2).map { offset in
                let start = line.index(line.startIndex, offsetBy: offset)
                return UInt8(line[start..<line.index(start, offsetBy: 2)], radix: 16) ?? 0
            }
        }
    }()

    /// The sequence number of a batch's first message after BEGIN, less one: where a filter's count stood.
    static func sequenceBefore(_ batch: [UInt8]) -> UInt32 {
        batch.withUnsafeBytes { $0.load(fromByteOffset: 20 + 8, as: UInt32.self) } &- 1
    }

    /// The sequence numbers of a batch's messages between BEGIN and END.
    static func innerSequences(_ batch: [UInt8]) throws -> Set<UInt32> {
        let messages = try NetlinkMessage.parseAll(batch)
        return Set(messages.dropFirst().dropLast().map(\.header.sequence))
    }

    @Test func sameBytesAsLibnftnl() throws {
        let batches = Self.fixture
        try #require(batches.count == 10)
        let v4 = IPAddress("192.0.2.100")!
        let v6 = IPAddress("2001:db8::100")!
        // The first filter, with counters: both tables built with their element, then the element again.
        var first = NoAcceptBatches(
            table: "vigil", priority: -1, counters: true, sequence: Self.sequenceBefore(batches[0]))
        var built = [
            first.block([v4], family: .ipv4, buildingTable: true),
            first.block([v6], family: .ipv6, buildingTable: true),
            first.block([v4], family: .ipv4, buildingTable: false),
        ]
        // A second filter without counters (a restarted worker): the table again, two removals, the tables deleted
        // twice.
        var second = NoAcceptBatches(
            table: "vigil", priority: -1, counters: false, sequence: Self.sequenceBefore(batches[3]))
        built.append(second.block([v4], family: .ipv4, buildingTable: true))
        built.append(second.unblock(v4))
        built.append(second.unblock(IPAddress("192.0.2.7")!))
        for _ in 0..<2 {
            built.append(second.removeTable(.ipv4))
            built.append(second.removeTable(.ipv6))
        }
        for (index, batch) in built.enumerated() {
            #expect(batch.bytes == batches[index], "batch \(index)")
            #expect(batch.acknowledged == (try Self.innerSequences(batches[index])), "batch \(index)")
        }
    }

    @Test func elementsAreNumberedInOneMessage() throws {
        var batches = NoAcceptBatches(table: "vrrp", priority: 0, counters: false, sequence: 0)
        let batch = batches.block(
            [IPAddress("192.0.2.1")!, IPAddress("192.0.2.2")!], family: .ipv4, buildingTable: false)
        let messages = try NetlinkMessage.parseAll(batch.bytes)
        #expect(messages.map(\.header.type) == [0x10, 0x0a0c, 0x11])
        #expect(batch.acknowledged == [1])
        // The payload after nfgenmsg: the set, the table, then the elements nest with entries 1 and 2.
        let attributes = try NetlinkAttributeList(parsing: messages[1].payload.dropFirst(4))
        #expect(attributes.string(2) == "vips" && attributes.string(1) == "vrrp")
        let list = try #require(try attributes.nested(3, context: "elements"))
        #expect(list.contains(1) && list.contains(2) && !list.contains(3))
    }
}
