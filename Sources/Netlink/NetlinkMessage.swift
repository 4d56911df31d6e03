/// Netlink message types below `NLMSG_MIN_TYPE` (include/uapi/linux/netlink.h).
public enum NetlinkMessageType {
    public static let noop: UInt16 = 0x1  // NLMSG_NOOP
    public static let error: UInt16 = 0x2  // NLMSG_ERROR
    public static let done: UInt16 = 0x3  // NLMSG_DONE
    public static let overrun: UInt16 = 0x4  // NLMSG_OVERRUN
    /// Families and generic netlink family ids start here (`NLMSG_MIN_TYPE`).
    public static let minimum: UInt16 = 0x10  // NLMSG_MIN_TYPE
    /// The generic netlink controller's fixed id (`GENL_ID_CTRL`).
    public static let genericNetlinkController: UInt16 = 0x10  // GENL_ID_CTRL
}

/// `nlmsg_flags`. Bits 8–11 mean different things for GET, NEW and ACK messages, so some options share bits.
public struct NetlinkMessageFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = NetlinkMessageFlags(rawValue: 0x1)  // NLM_F_REQUEST
    public static let multi = NetlinkMessageFlags(rawValue: 0x2)  // NLM_F_MULTI
    public static let ack = NetlinkMessageFlags(rawValue: 0x4)  // NLM_F_ACK
    public static let echo = NetlinkMessageFlags(rawValue: 0x8)  // NLM_F_ECHO
    public static let dumpInterrupted = NetlinkMessageFlags(rawValue: 0x10)  // NLM_F_DUMP_INTR
    public static let dumpFiltered = NetlinkMessageFlags(rawValue: 0x20)  // NLM_F_DUMP_FILTERED
    // GET requests
    public static let root = NetlinkMessageFlags(rawValue: 0x100)  // NLM_F_ROOT
    public static let match = NetlinkMessageFlags(rawValue: 0x200)  // NLM_F_MATCH
    public static let dump: NetlinkMessageFlags = [.root, .match]  // NLM_F_DUMP
    // NEW requests
    public static let replace = NetlinkMessageFlags(rawValue: 0x100)  // NLM_F_REPLACE
    public static let exclusive = NetlinkMessageFlags(rawValue: 0x200)  // NLM_F_EXCL
    public static let create = NetlinkMessageFlags(rawValue: 0x400)  // NLM_F_CREATE
    public static let append = NetlinkMessageFlags(rawValue: 0x800)  // NLM_F_APPEND
    // ACK messages (NLMSG_ERROR)
    public static let capped = NetlinkMessageFlags(rawValue: 0x100)  // NLM_F_CAPPED
    public static let acknowledgementTLVs = NetlinkMessageFlags(rawValue: 0x200)  // NLM_F_ACK_TLVS
}

/// `struct nlmsghdr`: 16 bytes in host byte order.
public struct NetlinkHeader: Hashable, Sendable {
    public static let length = 16  // NLMSG_HDRLEN

    /// `nlmsg_len`: header and payload, without the final padding.
    public var length: UInt32
    /// `nlmsg_type`: a control type or, for generic netlink, the family id.
    public var type: UInt16
    public var flags: NetlinkMessageFlags
    public var sequence: UInt32
    /// `nlmsg_pid`: the sender's port id; 0 lets the kernel fill in ours.
    public var portID: UInt32

    public init(length: UInt32, type: UInt16, flags: NetlinkMessageFlags, sequence: UInt32, portID: UInt32 = 0) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    func encode(into buffer: inout [UInt8]) {
        buffer.appendHostOrder(length)
        buffer.appendHostOrder(type)
        buffer.appendHostOrder(flags.rawValue)
        buffer.appendHostOrder(sequence)
        buffer.appendHostOrder(portID)
    }

    /// Reads a header at the start of `bytes`, nil when fewer than 16 bytes.
    static func decode(_ bytes: ArraySlice<UInt8>) -> NetlinkHeader? {
        guard let length = bytes.loadHostOrder(UInt32.self, at: 0), let type = bytes.loadHostOrder(UInt16.self, at: 4),
            let flags = bytes.loadHostOrder(UInt16.self, at: 6), let sequence = bytes.loadHostOrder(UInt32.self, at: 8),
            let portID = bytes.loadHostOrder(UInt32.self, at: 12)
        else { return nil }
        return NetlinkHeader(
            length: length, type: type, flags: NetlinkMessageFlags(rawValue: flags), sequence: sequence, portID: portID)
    }
}

/// One netlink message: a header and the payload after it.
public struct NetlinkMessage: Hashable, Sendable {
    public var header: NetlinkHeader
    /// The bytes after the 16-byte header, up to `nlmsg_len`.
    public var payload: ArraySlice<UInt8>

    public init(header: NetlinkHeader, payload: ArraySlice<UInt8>) {
        self.header = header
        self.payload = payload
    }

    /// Encodes a message, filling in `nlmsg_len` (`nlmsg_put`).
    public static func encode(
        type: UInt16, flags: NetlinkMessageFlags, sequence: UInt32, portID: UInt32 = 0, payload: [UInt8]
    ) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(NetlinkHeader.length + payload.count)
        let header = NetlinkHeader(
            length: UInt32(NetlinkHeader.length + payload.count), type: type, flags: flags, sequence: sequence,
            portID: portID)
        header.encode(into: &buffer)
        buffer.append(contentsOf: payload)
        buffer.padToNetlinkAlignment()
        return buffer
    }

    /// Splits a received datagram into its messages (`NLMSG_OK` / `NLMSG_NEXT`).
    /// - Throws: `.truncated` when the buffer ends inside a header, `.badLength` when `nlmsg_len` is below 16
    ///   or past the end of the buffer.
    public static func parseAll(_ bytes: [UInt8]) throws(NetlinkError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset < bytes.count {
            let remaining = bytes.count - offset
            guard let header = NetlinkHeader.decode(bytes[offset...]) else {
                throw .malformed(.truncated, "netlink: \(remaining) bytes left, too short for a message header")
            }
            guard header.length >= NetlinkHeader.length, header.length <= remaining else {
                throw .malformed(
                    .badLength, "netlink: message length \(header.length) with \(remaining) bytes left")
            }
            let end = offset + Int(header.length)
            messages.append(NetlinkMessage(header: header, payload: bytes[(offset + NetlinkHeader.length)..<end]))
            offset += min(netlinkAligned(Int(header.length)), remaining)
        }
        return messages
    }
}

/// `struct genlmsghdr` and the attributes after it: a generic netlink request or reply.
public struct GenericNetlinkMessage: Hashable, Sendable {
    public static let headerLength = 4  // GENL_HDRLEN

    /// The family id (`nlmsg_type`), resolved at run time by name.
    public var family: UInt16
    public var command: UInt8
    public var version: UInt8
    public var flags: NetlinkMessageFlags
    public var attributes: [NetlinkAttribute]

    public init(
        family: UInt16, command: UInt8, version: UInt8, flags: NetlinkMessageFlags, attributes: [NetlinkAttribute]
    ) {
        self.family = family
        self.command = command
        self.version = version
        self.flags = flags
        self.attributes = attributes
    }

    /// The request's bytes (`genlmsg_put` and `nla_put`s).
    public func encode(sequence: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var payload: [UInt8] = [command, version, 0, 0]
        for attribute in attributes { attribute.encode(into: &payload) }
        return NetlinkMessage.encode(
            type: family, flags: flags, sequence: sequence, portID: portID, payload: payload)
    }
}

/// A received generic netlink message, its attributes parsed.
public struct GenericNetlinkReply: Hashable, Sendable {
    public var header: NetlinkHeader
    public var command: UInt8
    public var version: UInt8
    public var attributes: NetlinkAttributeList

    /// Parses the `genlmsghdr` and attributes of a data message.
    public init(_ message: NetlinkMessage) throws(NetlinkError) {
        guard message.payload.count >= GenericNetlinkMessage.headerLength else {
            throw .malformed(.truncated, "generic netlink: \(message.payload.count) bytes, too short for genlmsghdr")
        }
        header = message.header
        command = message.payload[message.payload.startIndex]
        version = message.payload[message.payload.startIndex + 1]
        attributes = try NetlinkAttributeList(
            parsing: message.payload.dropFirst(GenericNetlinkMessage.headerLength), context: "command \(command)")
    }
}

/// The body of an `NLMSG_ERROR` message: an errno (0 for an acknowledgement) and the kernel's extended text.
public struct NetlinkErrorMessage: Hashable, Sendable {
    /// Positive errno, 0 for an ACK.
    public var errno: Int32
    /// `NLMSGERR_ATTR_MSG`, when the kernel sent extended ACK text.
    public var extendedMessage: String?

    /// `NLMSGERR_ATTR_MSG` (include/uapi/linux/netlink.h).
    static let messageAttribute: UInt16 = 1

    /// Parses `struct nlmsgerr` (`int error; struct nlmsghdr msg;`) and the TLVs after it.
    public init(_ message: NetlinkMessage) throws(NetlinkError) {
        guard let error = message.payload.loadHostOrder(Int32.self) else {
            throw .malformed(.truncated, "netlink: NLMSG_ERROR with \(message.payload.count) bytes, needs 4")
        }
        // The kernel sends -errno; an ACK is 0. A positive value is not errno-shaped; keep it as is. Int32.min has
        // no negation (NetlinkFuzzer trapped on it).
        errno = error == .min ? .max : error <= 0 ? -error : error
        guard message.header.flags.contains(.acknowledgementTLVs) else { return }
        // The original request follows: the header only if capped, otherwise the whole message.
        let body = message.payload.dropFirst(4)
        var skip = NetlinkHeader.length
        if !message.header.flags.contains(.capped), let original = body.loadHostOrder(UInt32.self) {
            skip = netlinkAligned(Int(original))
        }
        guard skip <= body.count,
            let tlvs = try? NetlinkAttributeList(parsing: body.dropFirst(skip), context: "NLMSG_ERROR")
        else { return }
        extendedMessage = tlvs.string(Self.messageAttribute)
    }
}

/// Collects the replies to one request, recognising its end (`NLMSG_DONE` for dumps, the ACK otherwise).
///
/// Pure: the socket shell feeds it every datagram it receives until `receive` says the exchange is over.
/// Messages with another sequence number (late replies to an earlier request) are dropped.
public struct NetlinkTransaction: Sendable {
    /// How the kernel ends its answer.
    public enum Style: Sendable, Hashable {
        /// `NLM_F_DUMP`: `NLM_F_MULTI` parts, then `NLMSG_DONE`.
        case dump
        /// `NLM_F_ACK`: any replies, then `NLMSG_ERROR` with 0 or an errno.
        case acknowledged
    }

    /// Where the exchange stands after a datagram.
    public enum Progress: Sendable, Hashable {
        case needsMore
        /// Over; the data messages in order.
        case finished([NetlinkMessage])
    }

    public let sequence: UInt32
    public let style: Style
    /// Names the request in errors ("adding virtual server TCP 192.0.2.100:80").
    public let operation: String
    private var collected: [NetlinkMessage] = []
    private var interrupted = false

    public init(sequence: UInt32, style: Style, operation: String) {
        self.sequence = sequence
        self.style = style
        self.operation = operation
    }

    /// Feeds one datagram.
    /// - Throws: `.kernel` with the errno when the kernel refused the request (or a dump changed under it:
    ///   `EINTR`, retry the dump), or a malformed-reply error.
    public mutating func receive(_ datagram: [UInt8]) throws(NetlinkError) -> Progress {
        for message in try NetlinkMessage.parseAll(datagram) where message.header.sequence == sequence {
            if message.header.flags.contains(.dumpInterrupted) { interrupted = true }
            switch message.header.type {
            case NetlinkMessageType.noop:
                continue
            case NetlinkMessageType.error:
                let error = try NetlinkErrorMessage(message)
                guard error.errno == 0 else {
                    throw NetlinkError(
                        kernelErrno: error.errno, operation: operation, extendedMessage: error.extendedMessage)
                }
                return try finish()
            case NetlinkMessageType.done:
                // The payload is an int: 0, or -errno when the dump failed part way.
                if let status = message.payload.loadHostOrder(Int32.self), status < 0 {
                    // Int32.min has no negation (NetlinkFuzzer trapped on it): not an errno either way.
                    throw NetlinkError(kernelErrno: status == .min ? .max : -status, operation: operation)
                }
                guard style == .dump else {
                    throw .malformed(
                        .unexpectedMessage, "\(operation): NLMSG_DONE in reply to a request that is not a dump")
                }
                return try finish()
            case NetlinkMessageType.overrun:
                throw NetlinkError(kernelErrno: LinuxErrno.ENOBUFS, operation: operation)
            case ..<NetlinkMessageType.minimum:
                throw .malformed(.unexpectedMessage, "\(operation): reserved message type \(message.header.type)")
            default:
                collected.append(message)
            }
        }
        return .needsMore
    }

    private func finish() throws(NetlinkError) -> Progress {
        if interrupted {
            throw NetlinkError(
                kernelErrno: LinuxErrno.EINTR, operation: operation,
                extendedMessage: "dump interrupted by a concurrent change, retry")
        }
        return .finished(collected)
    }
}

/// Collects the acknowledgements of several requests sent in one `sendmsg` (consecutive sequence numbers,
/// `NLM_F_ACK` each): the kernel handles them one after the other and acknowledges each, an error included, then
/// goes on with the next. Pure, like `NetlinkTransaction`.
public struct NetlinkBatch: Sendable {
    public let firstSequence: UInt32
    public let operations: [String]
    /// Per request: nil while unanswered, then 0 or the kernel's errno (with its extended text).
    public private(set) var results: [(errno: Int32, text: String?)?]
    private var answered = 0

    public init(firstSequence: UInt32, operations: [String]) {
        self.firstSequence = firstSequence
        self.operations = operations
        results = Array(repeating: nil, count: operations.count)
    }

    public var isComplete: Bool { answered == operations.count }

    /// Feeds one datagram. Replies to other requests are dropped.
    /// - Throws: a malformed reply, or `ENOBUFS` when the kernel says it dropped replies (`NLMSG_OVERRUN`).
    public mutating func receive(_ datagram: [UInt8]) throws(NetlinkError) {
        for message in try NetlinkMessage.parseAll(datagram) {
            let offset = message.header.sequence &- firstSequence
            guard offset < UInt32(operations.count) else { continue }
            switch message.header.type {
            case NetlinkMessageType.error:
                let error = try NetlinkErrorMessage(message)
                if results[Int(offset)] == nil { answered += 1 }
                results[Int(offset)] = (error.errno, error.extendedMessage)
            case NetlinkMessageType.overrun:
                throw NetlinkError(kernelErrno: LinuxErrno.ENOBUFS, operation: operations[Int(offset)])
            default:
                continue
            }
        }
    }

    /// Each request's failure, nil where the kernel acknowledged it.
    public var failures: [NetlinkError?] {
        results.enumerated().map { index, result in
            guard let result, result.errno != 0 else { return nil }
            return NetlinkError(kernelErrno: result.errno, operation: operations[index], extendedMessage: result.text)
        }
    }
}
