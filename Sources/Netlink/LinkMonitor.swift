import CNetlink
import Config

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
        guard
            let payload = try message.notificationPayload(
                types: [newLink, deleteLink], headerLength: interfaceInfoLength, what: "link notification",
                header: "an ifinfomsg")
        else { return nil }
        let type = message.header.type
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

extension NetlinkMessage {
    /// The payload of a notification of one of `types`, checked to hold its fixed header; nil for other types.
    func notificationPayload(types: [UInt16], headerLength: Int, what: String, header: String)
        throws(NetlinkError) -> ArraySlice<UInt8>?
    {
        guard types.contains(self.header.type) else { return nil }
        guard payload.count >= headerLength else {
            throw NetlinkError(kind: .truncated, code: 0, message: "\(what): \(payload.count) bytes, need \(header)")
        }
        return payload
    }
}

/// An address added to or removed from an interface (`RTM_NEWADDR` / `RTM_DELADDR`).
public struct AddressEvent: Hashable, Sendable {
    public var index: Int32
    public var address: IPAddress
    public var added: Bool

    public init(index: Int32, address: IPAddress, added: Bool) {
        self.index = index
        self.address = address
        self.added = added
    }

    /// `RTM_NEWADDR`, `RTM_DELADDR`; `IFA_ADDRESS`, `IFA_LOCAL`; `sizeof(struct ifaddrmsg)`.
    static let newAddress: UInt16 = 20
    static let deleteAddress: UInt16 = 21
    static let addressAttribute: UInt16 = 1
    static let localAttribute: UInt16 = 2
    static let headerLength = 8

    /// Decodes one address notification; nil for messages of other types. IPv4 reports its own address in
    /// `IFA_LOCAL` (`IFA_ADDRESS` is the peer's on point-to-point links), IPv6 in `IFA_ADDRESS`.
    /// - Throws: `NetlinkError` when the `ifaddrmsg` or its attributes are malformed.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkError) -> AddressEvent? {
        guard
            let payload = try message.notificationPayload(
                types: [newAddress, deleteAddress], headerLength: headerLength, what: "address notification",
                header: "an ifaddrmsg")
        else { return nil }
        let type = message.header.type
        let start = payload.startIndex
        let index = Int32(bitPattern: payload.loadHostOrder(UInt32.self, at: 4) ?? 0)
        let attributes = try NetlinkAttributeList(
            parsing: payload[(start + headerLength)...], context: "address notification")
        let raw = attributes.bytes(localAttribute) ?? attributes.bytes(addressAttribute)
        guard let raw, let address = IPAddress(bytes: Array(raw)) else {
            throw attributes.missing("IFA_ADDRESS")
        }
        return AddressEvent(index: index, address: address, added: type == newAddress)
    }
}

/// An rtnetlink socket subscribed to `RTNLGRP_LINK` (and the address groups): the kernel tells it when a link goes
/// up, down or away, and when an address comes or goes.
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
        address.nl_groups = UInt32(RTMGRP_LINK) | UInt32(RTMGRP_IPV4_IFADDR) | UInt32(RTMGRP_IPV6_IFADDR)
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

    /// Joins (or leaves) the route and rule groups (`RTNLGRP_IPV4_ROUTE` 7, `_IPV6_ROUTE` 11, `_IPV4_RULE` 8,
    /// `_IPV6_RULE` 19): only while some instance tracks a route or rule, as keepalived does, since a router with
    /// full tables would otherwise wake this socket for every route it learns.
    /// The corresponding C call is `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP / NETLINK_DROP_MEMBERSHIP)`.
    public func watchRoutesAndRules(_ watch: Bool) throws(NetlinkError) {
        for var group: Int32 in [7, 11, 8, 19] {
            let option = watch ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP
            guard setsockopt(fileDescriptor, SOL_NETLINK, option, &group, socklen_t(MemoryLayout<Int32>.size)) == 0
            else {
                throw NetlinkError(kernelErrno: errno, operation: "joining rtnetlink group \(group)")
            }
        }
    }

    /// Reads every pending notification; malformed messages are counted in `malformedMessages` and dropped.
    /// The corresponding C call is `recvfrom`.
    public func drain() -> [LinkEvent] { drainAll().links }

    /// Every kind of notification this socket hears.
    public struct Events {
        public var links: [LinkEvent] = []
        public var addresses: [AddressEvent] = []
        /// Only with `watchRoutesAndRules(true)`.
        public var routeDeletions: [RouteDeletion] = []
        public var ruleDeletions: [RuleDeletion] = []
    }

    /// Reads every pending notification, links, addresses, route and rule deletions.
    public func drainAll() -> Events {
        var events = Events()
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
                    if let event = try LinkEvent.decode(message) {
                        events.links.append(event)
                    } else if let event = try AddressEvent.decode(message) {
                        events.addresses.append(event)
                    } else if let event = try RouteDeletion.decode(message) {
                        events.routeDeletions.append(event)
                    } else if let event = try RuleDeletion.decode(message) {
                        events.ruleDeletions.append(event)
                    }
                } catch {
                    malformedMessages += 1
                }
            }
        }
    }
}
