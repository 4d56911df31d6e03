import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

extension LinkEvent {
    /// `RTM_NEWLINK`, `RTM_DELLINK` (include/uapi/linux/rtnetlink.h).
    static let newLink: UInt16 = 16
    static let deleteLink: UInt16 = 17
    /// `IFLA_IFNAME`.
    static let interfaceNameAttribute: UInt16 = 3
    /// `sizeof(struct ifinfomsg)`.
    static let interfaceInfoLength = 16

    /// Up means `IFF_UP` and `IFF_RUNNING`: administratively up and with carrier (operational).
    static func isUp(flags: UInt32) -> Bool {
        let wanted = UInt32(IFF_UP) | UInt32(IFF_RUNNING)
        return flags & wanted == wanted
    }

    /// Decodes one rtnetlink link notification; nil for messages of other types.
    /// - Throws: `NetlinkError` when the `ifinfomsg` or its attributes are malformed or the name is missing.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkError) -> LinkEvent? {
        let type = message.header.type
        guard type == newLink || type == deleteLink else { return nil }
        let payload = message.payload
        guard payload.count >= interfaceInfoLength else {
            throw NetlinkError(
                kind: .truncated, code: 0, message: "link notification: \(payload.count) bytes, need an ifinfomsg")
        }
        let start = payload.startIndex
        func u32(_ offset: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(payload[start + offset + $1]) << (8 * $1) }  // host order (little endian)
        }
        let index = Int32(bitPattern: u32(4))
        let flags = u32(8)
        let attributes = try NetlinkAttributeList(
            parsing: payload[(start + interfaceInfoLength)...], context: "link notification")
        guard let name = attributes.string(interfaceNameAttribute), !name.isEmpty else {
            throw attributes.missing("IFLA_IFNAME")
        }
        return LinkEvent(
            name: name, index: index, isUp: type == newLink && isUp(flags: flags), isDeleted: type == deleteLink)
    }
}

/// An rtnetlink socket subscribed to `RTNLGRP_LINK`: the kernel tells it when a link goes up, down or away.
///
/// Non-blocking and close-on-exec; the engine polls `fileDescriptor` and calls `drain()` when it is readable.
/// Not thread-safe: one per engine loop.
public final class LinkMonitor {
    public let fileDescriptor: Int32
    /// Messages that could not be decoded, or did not come from the kernel (counted and dropped).
    public private(set) var malformedMessages = 0
    /// Times the kernel dropped notifications because the socket buffer was full (`ENOBUFS`): the engine should
    /// re-read the links it cares about (`RouteNetlinkSocket.isLinkUp`) when this grows.
    public private(set) var overruns = 0

    /// Opens the socket and joins the link group.
    /// The corresponding C calls are `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)` and `bind` with `RTMGRP_LINK`.
    public init() throws(NetlinkError) {
        let type = Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(AF_NETLINK, type, NETLINK_ROUTE)
        guard descriptor >= 0 else {
            throw NetlinkError(kernelErrno: errno, operation: "opening a link monitor socket")
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = UInt32(RTMGRP_LINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw NetlinkError(kernelErrno: error, operation: "subscribing to link notifications")
        }
        fileDescriptor = descriptor
    }

    deinit {
        close(fileDescriptor)
    }

    /// Reads every pending notification; malformed messages are counted in `malformedMessages` and dropped.
    /// The corresponding C call is `recvfrom`.
    public func drain() -> [LinkEvent] {
        var events: [LinkEvent] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var sender = sockaddr_nl()
            var senderLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fileDescriptor, bytes.baseAddress, bytes.count, 0, $0, &senderLength)
                    }
                }
            }
            if count < 0 {
                switch errno {
                case EINTR: continue
                case ENOBUFS:
                    overruns += 1
                    continue
                default: return events  // EAGAIN: nothing more
                }
            }
            if count == 0 { return events }
            // Only the kernel (port 0) speaks for links; another process could send to this port id.
            guard sender.nl_pid == 0 else {
                malformedMessages += 1
                continue
            }
            let datagram = Array(buffer[0..<count])
            guard let messages = try? NetlinkMessage.parseAll(datagram) else {
                malformedMessages += 1
                continue
            }
            for message in messages {
                do {
                    if let event = try LinkEvent.decode(message) { events.append(event) }
                } catch {
                    malformedMessages += 1
                }
            }
        }
    }
}
