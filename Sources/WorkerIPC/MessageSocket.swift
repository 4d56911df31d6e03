#if canImport(Glibc)
    import Glibc
#endif

/// A failed socket call, naming the operation and the peer.
public struct SocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, _ operation: String) {
        self.code = code
        self.message = "\(operation): \(String(cString: strerror(code)))"
    }

    public var description: String { message }
}

/// One end of a `SOCK_SEQPACKET` Unix socket carrying framed, versioned messages: a worker's IPC
/// socket or a control-socket connection. Not thread-safe; one event loop owns it.
public final class MessageSocket {
    /// What one read from the socket gave.
    public enum Received<Body> {
        case message(Body)
        /// A datagram or message that was dropped; the text says why (for the log).
        case malformed(String)
        /// Nothing more to read now.
        case wouldBlock
        /// The peer closed its end (or died).
        case closed
    }

    public let fd: Int32
    public let version: Int
    private var reader: WorkerFrameReader
    private var nextID: UInt32 = 1
    private var buffer = [UInt8](repeating: 0, count: WorkerFrame.headerSize + WorkerFrame.maxChunk)
    public private(set) var malformedCount = 0
    /// Datagrams `enqueue` could not send yet, oldest at `outgoingHead`.
    private var outgoing: [[UInt8]] = []
    private var outgoingHead = 0
    /// Datagrams `enqueue(encoded:ahead:)` queued ahead of `outgoing`, oldest first: each a whole message.
    private var ahead: [[UInt8]] = []
    /// Bytes queued by `enqueue` and not yet taken by the kernel.
    public private(set) var outgoingBytes = 0

    /// Takes ownership of `fd` (closed on `close()` or deinit). A message longer than `maxMessageSize` is
    /// dropped as malformed (the control socket's requests are small; a worker's configuration is not).
    public init(fd: Int32, version: Int = workerProtocolVersion, maxMessageSize: Int = 256 << 20) {
        self.fd = fd
        self.version = version
        reader = WorkerFrameReader(maxMessageSize: maxMessageSize)
    }

    deinit { close() }

    private var closed = false

    public func close() {
        if !closed {
            closed = true
            _ = Glibc.close(fd)
        }
    }

    /// A connected pair (`socketpair(AF_UNIX, SOCK_SEQPACKET)`), both close-on-exec.
    /// The corresponding C call is `socketpair`.
    public static func pair() throws(SocketError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let result = socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        guard result == 0 else { throw SocketError(code: errno, "socketpair") }
        return (fds[0], fds[1])
    }

    /// Sends `body` as one message; waits up to `timeoutMilliseconds` for room in the socket buffer.
    public func send<Body: Codable>(_ body: Body, timeoutMilliseconds: Int32 = 1000) throws(SocketError) {
        for datagram in frames(body) { try sendDatagram(datagram, timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// `body` encoded and cut into the datagrams of one message (a new message id).
    private func frames<Body: Codable>(_ body: Body) -> [[UInt8]] {
        let payload = MessageCodec.encode(body, version: version)
        let id = nextID
        nextID &+= 1
        return WorkerFrame.datagrams(for: payload, id: id)
    }

    /// One `send` without waiting: true when the kernel took the datagram, false when the socket buffer is full.
    private func sendNow(_ datagram: [UInt8]) throws(SocketError) -> Bool {
        while true {
            let sent = datagram.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 { return true }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw SocketError(code: code, "send") }
            return false
        }
    }

    /// Queues `body` behind what is already queued and sends what the socket buffer takes now; never waits.
    /// The rest goes out on `flush()`, which the owner's loop calls when the socket is writable (`POLLOUT`
    /// while `hasOutgoing`). The watchdog sends this way: a worker that stops reading (stopped, hung, busy
    /// decoding a large configuration) never blocks the loop that judges its heartbeats. `ahead`: see
    /// `enqueue(encoded:ahead:)`.
    public func enqueue<Body: Codable>(_ body: Body, ahead: Bool = false) throws(SocketError) {
        try enqueue(encoded: MessageCodec.encode(body, version: version), ahead: ahead)
    }

    /// `enqueue` of a message already encoded (`MessageCodec.encode` with this socket's `version`): a sender that
    /// shares the socket under a lock encodes before taking it.
    /// - Parameter ahead: queue it ahead of the messages already waiting (behind those queued ahead before it, and
    ///   behind the rest of a message the kernel has taken in part: one message's datagrams are never interleaved
    ///   with another's). Heartbeats and their answers go this way: behind a backlog of reports they would reach a
    ///   busy peer seconds late, and a busy worker would look like a hung one.
    public func enqueue(encoded payload: [UInt8], ahead: Bool = false) throws(SocketError) {
        let id = nextID
        nextID &+= 1
        for datagram in WorkerFrame.datagrams(for: payload, id: id) {
            if ahead { self.ahead.append(datagram) } else { outgoing.append(datagram) }
            outgoingBytes += datagram.count
        }
        try flush()
    }

    /// Datagrams queued and not yet taken by the kernel (see `enqueue`).
    public var hasOutgoing: Bool { outgoingHead < outgoing.count || !ahead.isEmpty }

    /// Forgets what is queued (the peer is gone: it would never be read).
    public func discardOutgoing() {
        outgoing.removeAll()
        outgoingHead = 0
        ahead.removeAll()
        outgoingBytes = 0
    }

    /// Sends queued datagrams, those queued ahead first (at a message's end), until the queues are empty or the
    /// socket buffer is full.
    public func flush() throws(SocketError) {
        defer {
            if outgoingHead == outgoing.count {
                outgoing.removeAll()
                outgoingHead = 0
            } else if outgoingHead >= 256 {
                outgoing.removeFirst(outgoingHead)
                outgoingHead = 0
            }
        }
        while true {
            // At a message's end when the next datagram waiting begins a message (or none waits).
            let atMessageEnd = outgoingHead == outgoing.count || WorkerFrame.chunkIndex(of: outgoing[outgoingHead]) == 0
            if atMessageEnd, let datagram = ahead.first {
                guard try sendNow(datagram) else { return }
                outgoingBytes -= datagram.count
                ahead.removeFirst()
                continue
            }
            guard outgoingHead < outgoing.count else { return }
            let datagram = outgoing[outgoingHead]
            guard try sendNow(datagram) else { return }
            outgoingBytes -= datagram.count
            outgoing[outgoingHead] = []
            outgoingHead += 1
        }
    }

    /// Sends raw bytes as one datagram (tests use it to play a misbehaving peer).
    public func sendDatagram(_ datagram: [UInt8], timeoutMilliseconds: Int32 = 1000) throws(SocketError) {
        while true {
            if try sendNow(datagram) { return }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&descriptor, 1, timeoutMilliseconds)
            if ready == 0 { throw SocketError(code: EAGAIN, "send (peer is not reading)") }
            if ready < 0 && errno != EINTR { throw SocketError(code: errno, "poll") }
        }
    }

    /// Reads one datagram without blocking and returns a message if it completes one.
    /// A datagram longer than the largest frame is truncated by the kernel: it is counted as malformed.
    public func receive<Body: Codable>(_ type: Body.Type) -> Received<Body> {
        switch receivePayload() {
        case .message(let payload):
            do {
                return .message(try MessageCodec.decode(type, from: payload, version: version))
            } catch {
                malformedCount += 1
                return .malformed(error.message)
            }
        case .malformed(let why): return .malformed(why)
        case .wouldBlock: return .wouldBlock
        case .closed: return .closed
        }
    }

    /// Reads one datagram without blocking and returns a message's payload, still encoded, if it completes one:
    /// a worker decodes a large message off its IPC thread.
    public func receivePayload() -> Received<[UInt8]> {
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
                return .closed
            }
            if count == 0 { return .closed }
            guard count <= buffer.count else {
                malformedCount += 1
                return .malformed("datagram of \(count) bytes is larger than a frame (\(buffer.count)); dropped")
            }
            let payload: [UInt8]?
            do {
                payload = try reader.receive(Array(buffer[0..<count]))
            } catch {
                malformedCount += 1
                return .malformed(error.message)
            }
            guard let payload else { continue }
            return .message(payload)
        }
    }

    /// Counts a message that was received here and failed to decode elsewhere.
    public func countMalformed() { malformedCount += 1 }

    /// Waits up to `timeoutMilliseconds` for one whole message (`vigilctl`, tests).
    public func receive<Body: Codable>(
        _ type: Body.Type, timeoutMilliseconds: Int
    ) -> Received<Body> {
        let deadline = monotonicMilliseconds() + timeoutMilliseconds
        while true {
            let left = deadline - monotonicMilliseconds()
            if left <= 0 { return .wouldBlock }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(left))
            if ready < 0 && errno != EINTR { return .closed }
            if ready <= 0 { continue }
            switch receive(type) {
            case .wouldBlock: continue
            case let other: return other
            }
        }
    }
}

/// CLOCK_MONOTONIC in milliseconds.
public func monotonicMilliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// A `sockaddr_un` for `path`, passed to `body` (bind or connect).
/// - Returns: nil when `path` does not fit in `sun_path` (107 bytes).
public func withUnixSocketAddress<Result>(
    _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
) -> Result? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
