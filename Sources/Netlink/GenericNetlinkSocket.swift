import CNetlink

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
        self.socket = socket
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
