import Config
import Netlink

#if canImport(Glibc)
    import Glibc
#endif

/// A failed gratuitous ARP or neighbour advertisement, naming the address and interface.
public struct AnnounceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The errno, or 0 when the failure was not a system call's (wrong family, no hardware address).
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Sends the frames that tell neighbours a virtual address moved here (`Announcement` builds them) through one
/// `AF_PACKET` socket, opened on first use; interface indexes and MACs come from rtnetlink.
/// Blocking (one `sendto`); not thread-safe: one per engine.
public final class Announcer {
    private var descriptor: Int32 = -1
    private var routeSocket: RouteNetlinkSocket?

    public init() {}

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Gratuitous ARP for `address` on `interface`: a broadcast ARP request with sender = target = `address` and
    /// the interface's MAC, as keepalived sends it.
    /// The corresponding C call is `sendto` on an `AF_PACKET`/`SOCK_RAW` socket.
    /// - Throws: `AnnounceError` when `address` is not IPv4, the interface is unknown or has no MAC, or send fails.
    public func sendGratuitousARP(for address: IPAddress, on interface: String) throws(AnnounceError) {
        let what = "cannot send gratuitous ARP for \(address) on \(interface)"
        guard address.family == .ipv4 else { throw AnnounceError(code: EINVAL, message: "\(what): not IPv4") }
        let (index, mac) = try link(interface, what: what)
        let frame = Announcement.gratuitousARP(address: address.bytes, hardwareAddress: mac)
        try send(frame, ethertype: Announcement.arpEthertype, index: index, what: what)
    }

    /// Unsolicited neighbour advertisement for `address` on `interface` (RFC 4861 §7.2.6): to ff02::1 from
    /// `address`, hop limit 255, override flag, target link-layer address option.
    /// The corresponding C call is `sendto` on an `AF_PACKET`/`SOCK_RAW` socket: building the IPv6 header here lets
    /// the source be the virtual address even before the kernel considers it usable (as keepalived does).
    /// - Throws: `AnnounceError` when `address` is not IPv6, the interface is unknown or has no MAC, or send fails.
    public func sendUnsolicitedNA(for address: IPAddress, on interface: String) throws(AnnounceError) {
        let what = "cannot send neighbour advertisement for \(address) on \(interface)"
        guard address.family == .ipv6 else { throw AnnounceError(code: EINVAL, message: "\(what): not IPv6") }
        let (index, mac) = try link(interface, what: what)
        let frame = Announcement.unsolicitedNeighborAdvertisement(address: address.bytes, hardwareAddress: mac)
        try send(frame, ethertype: Announcement.ipv6Ethertype, index: index, what: what)
    }

    /// The interface's index and 6-byte MAC.
    private func link(_ interface: String, what: String) throws(AnnounceError) -> (Int32, [UInt8]) {
        do {
            let socket = try routeSocket ?? RouteNetlinkSocket()
            routeSocket = socket
            guard let index = try socket.interfaceIndex(named: interface) else {
                throw AnnounceError(code: ENODEV, message: "\(what): no such interface")
            }
            guard let mac = try socket.hardwareAddress(named: interface), mac.count == 6 else {
                throw AnnounceError(code: 0, message: "\(what): the interface has no Ethernet address")
            }
            return (index, mac)
        } catch let error as AnnounceError {
            throw error
        } catch {
            throw AnnounceError(code: (error as? NetlinkError)?.code ?? 0, message: "\(what): \(error)")
        }
    }

    private func send(_ frame: [UInt8], ethertype: UInt16, index: Int32, what: String) throws(AnnounceError) {
        if descriptor < 0 {
            // Protocol 0: this socket only sends, so the kernel never queues received frames on it.
            let type = Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            descriptor = socket(AF_PACKET, type, 0)
            guard descriptor >= 0 else {
                let code = errno
                throw AnnounceError(code: code, message: "\(what): socket: \(String(cString: strerror(code)))")
            }
        }
        let target = Self.linkLayerAddress(ethertype: ethertype, index: index, destination: Array(frame[0..<6]))
        var sent: Int
        repeat {
            sent = frame.withUnsafeBytes { bytes in
                target.withUnsafeBytes {
                    sendto(
                        descriptor, bytes.baseAddress, bytes.count, 0,
                        $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == frame.count else {
            let code = sent < 0 ? errno : EMSGSIZE
            throw AnnounceError(code: code, message: "\(what): sendto: \(String(cString: strerror(code)))")
        }
    }

    /// `struct sockaddr_ll` (linux/if_packet.h), laid out by hand because Glibc's module does not export it:
    /// family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]. 20 bytes.
    static func linkLayerAddress(ethertype: UInt16, index: Int32, destination: [UInt8]) -> [UInt8] {
        var bytes = withUnsafeBytes(of: UInt16(AF_PACKET)) { Array($0) }
        bytes += withUnsafeBytes(of: ethertype.bigEndian) { Array($0) }
        bytes += withUnsafeBytes(of: index) { Array($0) }
        bytes += [0, 0, 0, UInt8(destination.count)]
        bytes += destination + [UInt8](repeating: 0, count: 8 - destination.count)
        return bytes
    }
}
