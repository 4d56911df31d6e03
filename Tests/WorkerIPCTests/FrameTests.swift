import Config
import TestSupport
import Testing

@testable import WorkerIPC

@Suite("Worker frames")
struct FrameTests {
    @Test func smallMessageIsOneDatagram() throws {
        let datagrams = WorkerFrame.datagrams(for: Array("hello".utf8), id: 7)
        #expect(datagrams == [Array("VGL1".utf8) + [0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1] + Array("hello".utf8)])
        var reader = WorkerFrameReader()
        #expect(try reader.receive(datagrams[0]) == Array("hello".utf8))
    }

    @Test func emptyMessageStillTravels() throws {
        let datagrams = WorkerFrame.datagrams(for: [], id: 1)
        #expect(datagrams.count == 1)
        var reader = WorkerFrameReader()
        #expect(try reader.receive(datagrams[0]) == [])
    }

    @Test func largeMessageIsChunkedAndReassembled() throws {
        let payload = (0..<250_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let datagrams = WorkerFrame.datagrams(for: payload, id: 99)
        #expect(datagrams.count == 5)
        #expect(datagrams.allSatisfy { $0.count <= WorkerFrame.headerSize + WorkerFrame.maxChunk })
        var reader = WorkerFrameReader()
        for datagram in datagrams.dropLast() {
            #expect(try reader.receive(datagram) == nil)
        }
        #expect(try reader.receive(datagrams.last!) == payload)
    }

    @Test func malformedDatagramsAreRejected() {
        var reader = WorkerFrameReader()
        #expect(throws: FrameError.self) { try reader.receive([1, 2, 3]) }
        #expect(throws: FrameError.self) { try reader.receive(Array("XXXX".utf8) + [UInt8](repeating: 0, count: 12)) }
        // Chunk index past the count.
        #expect(throws: FrameError.self) {
            try reader.receive(Array("VGL1".utf8) + [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2])
        }
        // A huge announced length is refused before anything is buffered.
        #expect(throws: FrameError.self) {
            try reader.receive(Array("VGL1".utf8) + [0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
        }
    }

    @Test func outOfSequenceChunkDropsTheMessage() throws {
        let payload = [UInt8](repeating: 1, count: WorkerFrame.maxChunk * 2 + 10)
        let datagrams = WorkerFrame.datagrams(for: payload, id: 5)
        var reader = WorkerFrameReader()
        #expect(try reader.receive(datagrams[0]) == nil)
        #expect(throws: FrameError.self) { try reader.receive(datagrams[2]) }
        // The stream recovers with the next whole message.
        #expect(try reader.receive(WorkerFrame.datagrams(for: [9], id: 6)[0]) == [9])
    }

    @Test func newMessageCutsOffAnUnfinishedOne() throws {
        let payload = [UInt8](repeating: 1, count: WorkerFrame.maxChunk + 1)
        var reader = WorkerFrameReader()
        #expect(try reader.receive(WorkerFrame.datagrams(for: payload, id: 1)[0]) == nil)
        #expect(try reader.receive(WorkerFrame.datagrams(for: [4], id: 2)[0]) == [4])
        #expect(reader.cutOffMessages == 1)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 42)
        var reader = WorkerFrameReader(maxMessageSize: 1 << 20)
        for _ in 0..<5_000 {
            let length = Int(generator.next() % 64)
            var datagram = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if generator.next() % 2 == 0, datagram.count >= 4 {
                datagram.replaceSubrange(0..<4, with: WorkerFrame.magic)
            }
            _ = try? reader.receive(datagram)
        }
    }
}
