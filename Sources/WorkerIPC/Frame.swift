/// Splits messages into datagrams for a `SOCK_SEQPACKET` socket and puts them back together.
///
/// A datagram is a 16-byte header and up to `maxChunk` bytes of payload:
///
///     magic "VGL1" (4) | message id (4, big endian) | chunk index (4) | chunk count (4) | payload
///
/// Seqpacket keeps datagram boundaries and order, but one datagram is bounded by the socket buffer, so a
/// large message (a resolved configuration of a thousand virtual servers) travels as several chunks.
/// The reader never trusts the peer: every malformed datagram is reported as a `FrameError` and dropped,
/// and a message may not grow past `maxMessageSize`.
public enum WorkerFrame {
    public static let magic: [UInt8] = Array("VGL1".utf8)
    public static let headerSize = 16
    /// Payload bytes per datagram: well under the default `net.core.wmem_default` of 208 KiB.
    public static let maxChunk = 60 * 1024

    /// The datagrams that carry `payload` as message `id`.
    public static func datagrams(for payload: [UInt8], id: UInt32, maxChunk: Int = maxChunk) -> [[UInt8]] {
        let count = max(1, (payload.count + maxChunk - 1) / maxChunk)
        return (0..<count).map { index in
            var datagram = magic
            datagram.reserveCapacity(headerSize + maxChunk)
            append(id, to: &datagram)
            append(UInt32(index), to: &datagram)
            append(UInt32(count), to: &datagram)
            let start = index * maxChunk
            datagram += payload[start..<min(payload.count, start + maxChunk)]
            return datagram
        }
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// The chunk index of a datagram `datagrams(for:id:)` made: 0 begins a message.
    static func chunkIndex(of datagram: [UInt8]) -> UInt32 {
        readUInt32(datagram, at: 8)
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// Why a datagram was dropped.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case tooShort
        case badMagic
        case badChunkIndex
        case unexpectedChunk
        case tooLarge
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Reassembles messages from datagrams, one message at a time (seqpacket keeps order).
public struct WorkerFrameReader: Sendable {
    public let maxMessageSize: Int
    private var partial: (id: UInt32, count: UInt32, next: UInt32, payload: [UInt8])?
    /// Messages abandoned part-way because the next message started.
    public private(set) var cutOffMessages = 0

    public init(maxMessageSize: Int = 256 << 20) {
        self.maxMessageSize = maxMessageSize
    }

    /// Takes one datagram; returns a complete message's payload when this datagram finishes one.
    /// - Throws: `FrameError` for a malformed datagram, which is dropped together with any message it
    ///   interrupted.
    public mutating func receive(_ datagram: [UInt8]) throws(FrameError) -> [UInt8]? {
        guard datagram.count >= WorkerFrame.headerSize else {
            partial = nil
            throw FrameError(.tooShort, "datagram of \(datagram.count) bytes is shorter than the 16-byte header")
        }
        guard Array(datagram[0..<4]) == WorkerFrame.magic else {
            partial = nil
            throw FrameError(.badMagic, "datagram does not start with the frame magic")
        }
        let id = WorkerFrame.readUInt32(datagram, at: 4)
        let index = WorkerFrame.chunkIndex(of: datagram)
        let count = WorkerFrame.readUInt32(datagram, at: 12)
        let payload = datagram[WorkerFrame.headerSize...]
        guard count >= 1, index < count else {
            partial = nil
            throw FrameError(.badChunkIndex, "chunk \(index) of \(count) in message \(id)")
        }
        if index == 0 {
            if partial != nil {
                // A new message began before the last one ended: the sender died mid-message.
                cutOffMessages += 1
                partial = nil
            }
            guard UInt64(count) * UInt64(WorkerFrame.maxChunk) <= UInt64(maxMessageSize) + UInt64(WorkerFrame.maxChunk)
            else {
                throw FrameError(
                    .tooLarge, "message \(id) announces \(count) chunks, more than \(maxMessageSize) bytes")
            }
            if count == 1 { return Array(payload) }
            partial = (id, count, 1, Array(payload))
            return nil
        }
        guard var current = partial, current.id == id, current.next == index, current.count == count else {
            partial = nil
            throw FrameError(.unexpectedChunk, "chunk \(index) of message \(id) arrived out of sequence")
        }
        guard current.payload.count + payload.count <= maxMessageSize else {
            partial = nil
            throw FrameError(.tooLarge, "message \(id) is larger than \(maxMessageSize) bytes")
        }
        current.payload += payload
        current.next += 1
        if current.next == current.count {
            partial = nil
            return current.payload
        }
        partial = current
        return nil
    }
}
