import CVigilShim
import Config
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// Why a BFD socket could not be opened; names the address, the port and the failing call.
public struct BFDSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, _ message: String) {
        self.code = code
        self.message = "\(message): \(String(cString: strerror(code)))"
    }

    public var description: String { message }
}

/// A UDP socket of the BFD worker: a listener on 3784 or 4784 (RFC 5881 §4, RFC 5883 §2), or the socket one
/// session sends from.
///
/// Why not SwiftNIO's `DatagramBootstrap`: RFC 5881 §5 asks for the TTL of every received packet, which only
/// arrives as an `IP_TTL` / `IPV6_HOPLIMIT` control message of `recvmsg(2)`, and NIO's datagram channel does not
/// surface it. So the sockets are plain non-blocking descriptors: `BFDReceiver`'s thread reads the listeners,
/// the engine's loop sends on the sessions' sockets.
public final class BFDSocket: Sendable {
    public let fileDescriptor: Int32
    public let family: IPAddress.Family
    /// The local port (the listening port, or the session's source port).
    public let port: UInt16

    private init(fileDescriptor: Int32, family: IPAddress.Family, port: UInt16) {
        self.fileDescriptor = fileDescriptor
        self.family = family
        self.port = port
    }

    deinit { close(fileDescriptor) }

    private static func makeSocket(_ family: IPAddress.Family) throws(BFDSocketError) -> Int32 {
        let fd = socket(
            family == .ipv4 ? AF_INET : AF_INET6,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            Int32(IPPROTO_UDP))
        guard fd >= 0 else { throw BFDSocketError(code: errno, "BFD socket (\(family)): socket") }
        return fd
    }

    private static func setOption<Value>(
        _ fd: Int32, _ level: Int32, _ name: Int32, _ value: Value, _ what: String
    ) throws(BFDSocketError) {
        var value = value
        let result = withUnsafePointer(to: &value) {
            setsockopt(fd, level, name, $0, socklen_t(MemoryLayout<Value>.size))
        }
        guard result == 0 else { throw BFDSocketError(code: errno, what) }
    }

    /// Binds `fd` to `address` (nil: the wildcard) and `port`. The corresponding C call is `bind`.
    private static func bind(_ fd: Int32, _ family: IPAddress.Family, _ address: IPAddress?, _ port: UInt16) -> Int32 {
        switch family {
        case .ipv4:
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            if case .v4(let value)? = address { socketAddress.sin_addr.s_addr = value.bigEndian }
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .ipv6:
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            if case .v6(let bytes)? = address {
                withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: bytes) }
            }
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// A listener on `port` for every address of `family`, asking for each packet's TTL and destination.
    public static func listener(family: IPAddress.Family, port: UInt16) throws(BFDSocketError) -> BFDSocket {
        let fd = try makeSocket(family)
        do throws(BFDSocketError) {
            if family == .ipv4 {
                try setOption(fd, Int32(IPPROTO_IP), IP_RECVTTL, Int32(1), "IP_RECVTTL")
                try setOption(fd, Int32(IPPROTO_IP), IP_PKTINFO, Int32(1), "IP_PKTINFO")
            } else {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, Int32(1), "IPV6_V6ONLY")
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, Int32(1), "IPV6_RECVHOPLIMIT")
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, Int32(1), "IPV6_RECVPKTINFO")
            }
            guard bind(fd, family, nil, port) == 0 else {
                throw BFDSocketError(code: errno, "BFD listener on UDP port \(port) (\(family)): bind")
            }
        } catch {
            close(fd)
            throw error
        }
        return BFDSocket(fileDescriptor: fd, family: family, port: port)
    }

    /// The socket a session sends from: bound to its source address (or the wildcard) and a free port in
    /// 49152–65535 (RFC 5881 §4), with the TTL (hop limit) of its packets. Nothing is read from it.
    public static func sender(
        source: IPAddress?, family: IPAddress.Family, ttl: Int, firstPort: UInt16
    ) throws(BFDSocketError) -> BFDSocket {
        let fd = try makeSocket(family)
        do throws(BFDSocketError) {
            if family == .ipv4 {
                try setOption(fd, Int32(IPPROTO_IP), IP_TTL, Int32(ttl), "IP_TTL \(ttl)")
            } else {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, Int32(ttl), "IPV6_UNICAST_HOPS \(ttl)")
            }
            // Nothing is read from a sender: keep what strays there from piling up.
            try setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(1024), "SO_RCVBUF")
            let range = BFDPort.sourceRange
            let count = Int(range.upperBound - range.lowerBound) + 1
            let start = Int(min(max(firstPort, range.lowerBound), range.upperBound) - range.lowerBound)
            for offset in 0..<count {
                let port = range.lowerBound + UInt16((start + offset) % count)
                if bind(fd, family, source, port) == 0 {
                    return BFDSocket(fileDescriptor: fd, family: family, port: port)
                }
                guard errno == EADDRINUSE else {
                    throw BFDSocketError(code: errno, "BFD socket from \(source.map(\.description) ?? "*"): bind")
                }
            }
            throw BFDSocketError(code: EADDRINUSE, "BFD socket: no free source port in 49152-65535")
        } catch {
            close(fd)
            throw error
        }
    }

    /// Sends `payload` to `address`:`port` without blocking; the errno on failure. The corresponding C call is
    /// `sendto`.
    public func send(_ payload: [UInt8], to address: IPAddress, port: UInt16) -> Int32? {
        var result: Int
        repeat {
            switch address {
            case .v4(let value):
                var target = sockaddr_in()
                target.sin_family = sa_family_t(AF_INET)
                target.sin_port = port.bigEndian
                target.sin_addr.s_addr = value.bigEndian
                result = withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fileDescriptor, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            case .v6(let bytes):
                var target = sockaddr_in6()
                target.sin6_family = sa_family_t(AF_INET6)
                target.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &target.sin6_addr) { $0.copyBytes(from: bytes) }
                result = withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(
                            fileDescriptor, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            }
        } while result < 0 && errno == EINTR
        return result < 0 ? errno : nil
    }

    /// Reads one datagram without blocking; nil when none is waiting. A datagram longer than a BFD packet can be
    /// (with authentication, 24 + 28 bytes) is still returned, cut, for the codec to judge.
    public func receive() -> BFDDatagram? {
        var buffer = [UInt8](repeating: 0, count: 128)
        var info = cvigil_datagram_info()
        let count = buffer.withUnsafeMutableBytes { cvigil_recv_datagram(fileDescriptor, $0.baseAddress, 128, &info) }
        guard count >= 0 else { return nil }
        let source = Self.address(info.source, Int(info.source_length)) ?? (family == .ipv4 ? .v4(0) : .v6([]))
        return BFDDatagram(
            payload: Array(buffer[0..<min(Int(count), buffer.count)]), source: source,
            destination: Self.address(info.destination, Int(info.destination_length)), port: port,
            ttl: info.ttl >= 0 ? Int(info.ttl) : nil)
    }

    private static func address(
        _ bytes: (
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8
        ), _ length: Int
    ) -> IPAddress? {
        guard length == 4 || length == 16 else { return nil }
        return withUnsafeBytes(of: bytes) { IPAddress(bytes: Array($0.prefix(length))) }
    }
}

/// Reads the BFD listeners on a `PollThread` and hands what arrives to the engine's loop: the engine runs on a NIO
/// loop, which cannot watch these descriptors (see `BFDSocket`).
final class BFDReceiver: Sendable {
    /// What the poll thread and the engine's loop share.
    private final class Shared: Sendable {
        let listeners = Mutex<[Int32: BFDSocket]>([:])
        /// Called on the poll thread with the datagrams of one wake-up; set once, before the first listener.
        let handler = Mutex<(@Sendable ([BFDDatagram]) -> Void)?>(nil)
    }

    private let shared = Shared()
    private let thread: PollThread

    init() {
        let shared = shared
        thread = PollThread(
            name: "vigil-bfd-rx", descriptors: { shared.listeners.withLock { Array($0.keys) } },
            ready: { ready in
                var datagrams: [BFDDatagram] = []
                for fd in ready {
                    guard let listener = shared.listeners.withLock({ $0[fd] }) else { continue }
                    // At most 256 a wake-up from one listener: a flood does not starve the others.
                    for _ in 0..<256 {
                        guard let datagram = listener.receive() else { break }
                        datagrams.append(datagram)
                    }
                }
                if !datagrams.isEmpty, let deliver = shared.handler.withLock({ $0 }) { deliver(datagrams) }
            })
    }

    /// Where the datagrams go (the engine's loop).
    func onDatagrams(_ body: @escaping @Sendable ([BFDDatagram]) -> Void) {
        shared.handler.withLock { $0 = body }
    }

    /// Adds a listener the thread reads from now on.
    func add(_ listener: BFDSocket) {
        shared.listeners.withLock { $0[listener.fileDescriptor] = listener }
        thread.wake()
    }

    func stop() { thread.stop() }
}
