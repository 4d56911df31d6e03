import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// A `NETLINK_GENERIC` socket through libnl: the only place in Vigil's netlink code that makes system calls.
///
/// Requests are built and replies parsed by the pure codec (`GenericNetlinkMessage`, `NetlinkTransaction`); this
/// class only moves bytes. Every call retries `EINTR` (libnl's `NLE_INTR`) and turns negative libnl results into
/// `NetlinkError` with `nl_geterror` text naming the operation. Blocking: use it from a thread that may block, not
/// from the cooperative pool. One owner at a time; not `Sendable`.
public final class GenericNetlinkSocket: GenericNetlinkTransport {
    private let socket: OpaquePointer

    /// Opens and connects the socket.
    /// The corresponding C calls are `nl_socket_alloc`, `genl_connect` and `nl_socket_enable_msg_peek`.
    /// - Throws: `NetlinkError` when libnl cannot allocate or connect (e.g. no permission, no netlink).
    public init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: "allocating a generic netlink socket")
        }
        let result = Self.retryingInterrupts { genl_connect(socket) }
        guard result >= 0 else {
            nl_socket_free(socket)
            throw NetlinkError(libnlResult: result, operation: "connecting a generic netlink socket")
        }
        // Peeking lets nl_recv size its buffer to the datagram, so large dump parts are never truncated.
        nl_socket_enable_msg_peek(socket)
        // A batch of requests is acknowledged one skb per request: room for a whole batch's acknowledgements.
        // SO_RCVBUFFORCE (CAP_NET_ADMIN) passes net.core.rmem_max; without the capability, SO_RCVBUF.
        var size: Int32 = 4 << 20
        let fd = nl_socket_get_fd(socket)
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, 4) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, 4)
        }
        self.socket = socket
    }

    /// Requests per `sendmsg` in `exchangeAcknowledged`: their acknowledgements (an skb each, about 1 KiB of
    /// receive buffer) must fit the socket's buffer.
    public static let batchLimit = 128
    /// Bytes per `sendmsg`, well under the socket's send buffer.
    public static let batchBytes = 32 * 1024

    public func exchangeAcknowledged(_ requests: [(message: GenericNetlinkMessage, operation: String)])
        throws(NetlinkError) -> [NetlinkError?]
    {
        var failures: [NetlinkError?] = []
        failures.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            var bytes: [UInt8] = []
            var operations: [String] = []
            var firstSequence: UInt32 = 0
            var end = start
            while end < requests.count, operations.count < Self.batchLimit {
                let sequence = nextSequence()
                if operations.isEmpty { firstSequence = sequence }
                let encoded = requests[end].message.encode(sequence: sequence)
                if !operations.isEmpty, bytes.count + encoded.count > Self.batchBytes { break }
                bytes += encoded
                operations.append(requests[end].operation)
                end += 1
            }
            // The batch's sequence numbers are consecutive (nl_socket_use_seq counts up by one); a request left out
            // by the byte limit is encoded again, with a new number, in the next batch.
            try send(bytes, operation: operations.count == 1 ? operations[0] : "\(operations.count) IPVS requests")
            var batch = NetlinkBatch(firstSequence: firstSequence, operations: operations)
            while !batch.isComplete { try batch.receive(receive(operation: operations[0])) }
            failures += batch.failures
            start = end
        }
        return failures
    }

    deinit {
        nl_socket_free(socket)
    }

    /// The family id the kernel gave `name`.
    /// The corresponding C call is `genl_ctrl_resolve`.
    /// - Throws: `NetlinkError` (`NLE_OBJ_NOTFOUND` when the family is not registered, e.g. `ip_vs` not loaded).
    public func resolveFamily(named name: String) throws(NetlinkError) -> UInt16 {
        let result = Self.retryingInterrupts { genl_ctrl_resolve(socket, name) }
        guard result >= 0 else {
            throw NetlinkError(libnlResult: result, operation: "resolving generic netlink family \(name)")
        }
        return UInt16(truncatingIfNeeded: result)
    }

    /// Sends raw bytes built by the codec.
    /// The corresponding C call is `nl_sendto`.
    public func send(_ bytes: [UInt8], operation: String) throws(NetlinkError) {
        var bytes = bytes
        let result = Self.retryingInterrupts {
            bytes.withUnsafeMutableBytes { nl_sendto(socket, $0.baseAddress, $0.count) }
        }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
    }

    /// Receives one datagram (possibly several netlink messages).
    /// The corresponding C call is `nl_recv`.
    public func receive(operation: String) throws(NetlinkError) -> [UInt8] {
        var sender = sockaddr_nl()
        var buffer: UnsafeMutablePointer<UInt8>?
        let result = Self.retryingInterrupts { nl_recv(socket, &sender, &buffer, nil) }
        defer { free(buffer) }
        guard result > 0, let buffer else {
            throw NetlinkError(libnlResult: result == 0 ? -NLE_MSG_TRUNC : result, operation: operation)
        }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(result)))
    }

    /// A fresh sequence number from the socket's counter.
    /// The corresponding C call is `nl_socket_use_seq`.
    public func nextSequence() -> UInt32 {
        UInt32(nl_socket_use_seq(socket))
    }

    public func exchange(_ request: GenericNetlinkMessage, style: NetlinkTransaction.Style, operation: String)
        throws(NetlinkError) -> [NetlinkMessage]
    {
        let sequence = nextSequence()
        try send(request.encode(sequence: sequence), operation: operation)
        var transaction = NetlinkTransaction(sequence: sequence, style: style, operation: operation)
        while true {
            if case .finished(let messages) = try transaction.receive(receive(operation: operation)) {
                return messages
            }
        }
    }

    /// Repeats `call` while libnl reports an interrupted system call.
    private static func retryingInterrupts(_ call: () -> Int32) -> Int32 {
        var result: Int32
        repeat { result = call() } while result == -NLE_INTR
        return result
    }
}
