import Config
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Why a VRRP socket could not be opened or configured; names the interface and the failing call.
public struct VRRPSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A raw IP protocol 112 socket bound to one interface (RFC 5798 §5.1), for one address family.
///
/// Why not `NIORawSocketBootstrap`: VRRP over IPv6 must check the hop limit of each received packet
/// (RFC 5798 §7.1), which only arrives as an `IPV6_HOPLIMIT` control message of `recvmsg(2)`, and NIO's raw
/// datagram channel does not surface it. So the socket is a plain non-blocking descriptor read with
/// `recvmsg` by `VRRPReceiver`'s poll thread, which hands each packet to the engine's event loop.
///
/// IPv4 is sent with `IP_HDRINCL` (the header built by `IPv4Header`, TTL 255, source the instance's address,
/// as keepalived does); IPv6 with the sticky `IPV6_PKTINFO` source and hop limit 255.
///
/// Sendable: the poll thread receives while the engine's loop sends and joins; the one piece of mutable state, the
/// IPv4 identification counter, is behind a pthread mutex (NIOLockedValueBox), which ThreadSanitizer sees
/// (`VRRPReceiverTests` sends from several threads under it); a Synchronization.Mutex's futex it does not.
public final class VRRPSocket: Sendable {
    public let fileDescriptor: Int32
    public let family: IPAddress.Family
    public let interface: String
    public let interfaceIndex: Int32
    private let identification = NIOLockedValueBox<UInt16>(0)

    /// The IP protocol the socket receives: 112, or 51 for adverts in an Authentication Header.
    public let ipProtocol: UInt8

    public init(family: IPAddress.Family, interface: String, ipProtocol: UInt8 = vrrpIPProtocol)
        throws(VRRPSocketError)
    {
        self.ipProtocol = ipProtocol
        self.family = family
        self.interface = interface
        let index = Int32(if_nametoindex(interface))
        guard index > 0 else {
            throw VRRPSocketError(code: errno, message: "interface \(interface): no such interface")
        }
        interfaceIndex = index
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(
            domain, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            Int32(ipProtocol))
        guard fd >= 0 else {
            throw VRRPSocketError(code: errno, message: "VRRP socket on \(interface): socket: \(Self.errorText())")
        }
        fileDescriptor = fd
        do throws(VRRPSocketError) {
            try configure()
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fileDescriptor) }

    private static func errorText() -> String { String(cString: strerror(errno)) }

    private func setOption<Value>(_ level: Int32, _ name: Int32, _ value: Value, _ what: String) throws(VRRPSocketError)
    {
        var value = value
        let result = withUnsafePointer(to: &value) {
            setsockopt(fileDescriptor, level, name, $0, socklen_t(MemoryLayout<Value>.size))
        }
        guard result == 0 else {
            throw VRRPSocketError(code: errno, message: "VRRP socket on \(interface): \(what): \(Self.errorText())")
        }
    }

    private func configure() throws(VRRPSocketError) {
        var name = Array(interface.utf8CString)
        let bound = setsockopt(fileDescriptor, SOL_SOCKET, SO_BINDTODEVICE, &name, socklen_t(name.count))
        guard bound == 0 else {
            throw VRRPSocketError(
                code: errno, message: "VRRP socket on \(interface): SO_BINDTODEVICE: \(Self.errorText())")
        }
        if family == .ipv4 {
            try setOption(Int32(IPPROTO_IP), IP_HDRINCL, Int32(1), "IP_HDRINCL")
            try setOption(Int32(IPPROTO_IP), IP_MULTICAST_LOOP, Int32(0), "IP_MULTICAST_LOOP")
            try setOption(Int32(IPPROTO_IP), IP_MULTICAST_TTL, Int32(255), "IP_MULTICAST_TTL")
            var request = ip_mreqn()
            request.imr_ifindex = interfaceIndex
            try setOption(Int32(IPPROTO_IP), IP_MULTICAST_IF, request, "IP_MULTICAST_IF")
        } else {
            try setOption(Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, Int32(1), "IPV6_RECVHOPLIMIT")
            try setOption(Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, Int32(1), "IPV6_RECVPKTINFO")
            try setOption(Int32(IPPROTO_IPV6), IPV6_MULTICAST_LOOP, Int32(0), "IPV6_MULTICAST_LOOP")
            try setOption(Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, Int32(255), "IPV6_MULTICAST_HOPS")
            try setOption(Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, Int32(255), "IPV6_UNICAST_HOPS")
            try setOption(Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, UInt32(interfaceIndex), "IPV6_MULTICAST_IF")
        }
    }

    /// Joins the VRRP group on the interface (again: a link that went down loses its memberships).
    public func join(_ group: IPAddress) throws(VRRPSocketError) {
        switch group {
        case .v4(let value):
            var request = ip_mreqn()
            request.imr_multiaddr.s_addr = value.bigEndian
            request.imr_ifindex = interfaceIndex
            var drop = request
            _ = setsockopt(
                fileDescriptor, Int32(IPPROTO_IP), IP_DROP_MEMBERSHIP, &drop, socklen_t(MemoryLayout<ip_mreqn>.size))
            try setOption(Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, request, "IP_ADD_MEMBERSHIP \(group)")
        case .v6(let bytes):
            var request = ipv6_mreq()
            withUnsafeMutableBytes(of: &request.ipv6mr_multiaddr) { $0.copyBytes(from: bytes) }
            request.ipv6mr_interface = UInt32(interfaceIndex)
            var drop = request
            _ = setsockopt(
                fileDescriptor, Int32(IPPROTO_IPV6), IPV6_DROP_MEMBERSHIP, &drop,
                socklen_t(MemoryLayout<ipv6_mreq>.size))
            try setOption(Int32(IPPROTO_IPV6), IPV6_ADD_MEMBERSHIP, request, "IPV6_JOIN_GROUP \(group)")
        }
    }

    /// `kernel_rx_buf_size`: the socket's receive buffer (`SO_RCVBUF`), never made smaller.
    public func setReceiveBufferSize(_ size: Int) throws(VRRPSocketError) {
        var current: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUF, &current, &length)
        // The kernel reports twice what was asked (its bookkeeping); compare with what it would report.
        guard Int(current) < size * 2 else { return }
        // SO_RCVBUF stops at net.core.rmem_max; the worker holds CAP_NET_ADMIN, which SO_RCVBUFFORCE needs.
        do {
            try setOption(SOL_SOCKET, SO_RCVBUFFORCE, Int32(clamping: size), "SO_RCVBUFFORCE \(size)")
        } catch {
            try setOption(SOL_SOCKET, SO_RCVBUF, Int32(clamping: size), "SO_RCVBUF \(size)")
        }
    }

    /// Sends one VRRP message from `source` to `destination` with `options` (TTL / hop limit, IPv4 AH); false
    /// (with the reason) when the kernel refuses.
    public func send(
        _ message: [UInt8], from source: IPAddress, to destination: IPAddress,
        options: VRRPSendOptions = VRRPSendOptions()
    ) -> Result<Void, VRRPSocketError> {
        let result: Int
        switch (source, destination) {
        case (.v4, .v4(let target)):
            // keepalived counts the IP ID up itself, skipping 0 (which the kernel would replace, and AH covers it).
            let identification = self.identification.withLockedValue { value in
                value &+= 1
                if value == 0 { value = 1 }
                return value
            }
            var datagram: [UInt8]
            if let key = options.authenticationKey {
                let header = IPv4Header(
                    source: source, destination: destination, timeToLive: options.hopLimit,
                    protocolNumber: authenticationHeaderIPProtocol
                ).encoded(payloadLength: AuthenticationHeader.length + message.count, identification: identification)
                let authentication = AuthenticationHeader.seal(
                    ipHeader: header, message: message, source: source, sequence: options.authenticationSequence,
                    key: key, unicast: !destination.isMulticast)
                datagram = header + authentication + message
            } else {
                let header = IPv4Header(
                    source: source, destination: destination, timeToLive: options.hopLimit,
                    protocolNumber: vrrpIPProtocol)
                datagram = header.encoded(payloadLength: message.count, identification: identification) + message
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = target.bigEndian
            result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fileDescriptor, datagram, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case (.v6(let sourceBytes), .v6(let targetBytes)):
            // struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; } (hidden behind _GNU_SOURCE).
            var info = sourceBytes + withUnsafeBytes(of: interfaceIndex) { Array($0) }
            _ = setsockopt(fileDescriptor, Int32(IPPROTO_IPV6), IPV6_PKTINFO, &info, socklen_t(info.count))
            // `unicast_ttl`: the hop limit of unicast adverts (multicast ones stay at 255).
            var hops = Int32(options.hopLimit)
            _ = setsockopt(
                fileDescriptor, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: targetBytes) }
            address.sin6_scope_id = UInt32(interfaceIndex)
            result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fileDescriptor, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        default:
            return .failure(VRRPSocketError(code: EINVAL, message: "\(source) and \(destination) differ in family"))
        }
        guard result >= 0 else {
            return .failure(
                VRRPSocketError(code: errno, message: "send on \(interface) to \(destination): \(Self.errorText())"))
        }
        return .success(())
    }

    /// One received packet: the VRRP message and its IP facts, or why the IP layer was unusable.
    public enum Received: Sendable {
        case packet(message: ArraySlice<UInt8>, info: VRRPPacketInfo)
        case malformed(VRRPReceiveFailure)
    }

    /// Reads one datagram; nil when none is waiting.
    public func receive() -> Received? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var control = [UInt8](repeating: 0, count: 256)
        var peer = sockaddr_in6()
        var controlLength = 0
        let count: Int = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { control in
                withUnsafeMutablePointer(to: &peer) { peer in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vector in
                        var header = msghdr()
                        header.msg_name = UnsafeMutableRawPointer(peer)
                        header.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
                        header.msg_iov = vector
                        header.msg_iovlen = 1
                        header.msg_control = control.baseAddress
                        header.msg_controllen = control.count
                        let received = recvmsg(fileDescriptor, &header, 0)
                        if received >= 0 { controlLength = Int(header.msg_controllen) }
                        return received
                    }
                }
            }
        }
        guard count >= 0 else { return nil }
        let datagram = Array(buffer[0..<count])
        if family == .ipv4 {
            do throws(VRRPReceiveFailure) {
                let stripped = try IPv4Header.strip(datagram)
                return .packet(message: stripped.message, info: stripped.packet)
            } catch {
                return .malformed(error)
            }
        }
        let source =
            withUnsafeBytes(of: peer.sin6_addr) { IPAddress(bytes: Array($0)) } ?? .v6(Array(repeating: 0, count: 16))
        let (hopLimit, destination) = Self.parseIPv6Control(Array(control[0..<controlLength]))
        return .packet(
            message: datagram[...],
            info: VRRPPacketInfo(
                source: source, destination: destination ?? vrrpIPv6MulticastGroup, hopLimit: hopLimit ?? 0))
    }

    /// Walks `struct cmsghdr` records (64-bit Linux: `size_t cmsg_len; int level; int type;` then data, each
    /// record aligned to 8) for IPV6_HOPLIMIT and IPV6_PKTINFO; Swift cannot use the CMSG_* macros.
    static func parseIPv6Control(_ control: [UInt8]) -> (hopLimit: UInt8?, destination: IPAddress?) {
        var hopLimit: UInt8?
        var destination: IPAddress?
        var offset = 0
        let headerLength = 16
        while offset + headerLength <= control.count {
            let length = control[offset..<offset + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
            let level = control[offset + 8..<offset + 12].reversed().reduce(Int32(0)) { $0 << 8 | Int32($1) }
            let type = control[offset + 12..<offset + 16].reversed().reduce(Int32(0)) { $0 << 8 | Int32($1) }
            guard length >= headerLength, offset + length <= control.count else { break }
            let data = Array(control[offset + headerLength..<offset + length])
            if level == Int32(IPPROTO_IPV6) {
                if type == IPV6_HOPLIMIT, data.count >= 4 {
                    hopLimit = UInt8(clamping: data[0..<4].reversed().reduce(0) { $0 << 8 | Int($1) })
                } else if type == IPV6_PKTINFO, data.count >= 16 {
                    destination = IPAddress(bytes: Array(data[0..<16]))
                }
            }
            offset += (length + 7) & ~7
        }
        return (hopLimit, destination)
    }
}
