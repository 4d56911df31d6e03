import CVigilShim
import Config

#if canImport(Glibc)
    import Glibc
#endif

/// How to open one check's socket, worked out once when the probe is built: the peer and the local addresses as
/// `sockaddr`s, the options keepalived.conf asks for (`bindto`, `bind_port`, `bind_if`, `fwmark`), the timeout.
/// Nothing is converted or formatted per check; the label is built only for a failure's reason.
public final class SocketPlan: Sendable {
    /// `TCP_CHECK 198.51.100.11:80`: the reason's prefix.
    public let label: String
    let family: Int32
    let remote: SocketAddressStorage
    let local: SocketAddressStorage?
    let device: [UInt8]?
    let mark: UInt32?
    /// connect_timeout, in nanoseconds.
    let timeout: UInt64
    let timeoutText: String

    /// - Returns: nil with the reason when the target cannot be connected to (no port, a bad `bind_if`).
    static func make(target: ProbeTarget, port: Int?, label: String) -> Result<SocketPlan, ProbeFailure> {
        guard let port, (0...65535).contains(port) else {
            return .failure(ProbeFailure("\(label): no port to connect to"))
        }
        var local: SocketAddressStorage?
        if target.bindAddress != nil || target.bindPort != nil {
            let address =
                target.bindAddress ?? (target.address.family == .ipv4 ? .v4(0) : .v6([UInt8](repeating: 0, count: 16)))
            guard address.family == target.address.family else {
                return .failure(ProbeFailure("\(label): bindto \(address) is not of the target's family"))
            }
            local = SocketAddressStorage(address, port: target.bindPort ?? 0)
        }
        var device: [UInt8]?
        if let name = target.bindInterface {
            guard (1...15).contains(name.utf8.count) else {
                return .failure(ProbeFailure("\(label): bind_if \(name): not an interface name"))
            }
            device = Array(name.utf8)
        }
        return .success(
            SocketPlan(
                label: label, family: target.address.family == .ipv4 ? AF_INET : AF_INET6,
                remote: SocketAddressStorage(target.address, port: port), local: local, device: device,
                mark: target.fwmark, timeout: UInt64(max(0, HealthScheduler.nanoseconds(target.connectTimeout))),
                timeoutText: target.connectTimeout.secondsText))
    }

    init(
        label: String, family: Int32, remote: SocketAddressStorage, local: SocketAddressStorage?, device: [UInt8]?,
        mark: UInt32?, timeout: UInt64, timeoutText: String
    ) {
        self.label = label
        self.family = family
        self.remote = remote
        self.local = local
        self.device = device
        self.mark = mark
        self.timeout = timeout
        self.timeoutText = timeoutText
    }

    /// The same socket with another label (HTTP_GET names the url in its reasons).
    func relabelled(_ label: String) -> SocketPlan {
        SocketPlan(
            label: label, family: family, remote: remote, local: local, device: device, mark: mark, timeout: timeout,
            timeoutText: timeoutText)
    }

    /// Opens a non-blocking socket of `type` with the plan's options and starts connecting it.
    /// - Parameter linger: close with a reset (SO_LINGER 0): a TCP check leaves no TIME_WAIT behind, so thousands
    ///   of checks a second never run out of local ports.
    /// - Returns: the descriptor and whether the connection is already up (loopback may answer at once).
    func open(type: Int32, protocol number: Int32 = 0, linger: Bool) -> Result<
        (fd: Int32, connected: Bool), SocketFault
    > {
        let fd = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), number)
        guard fd >= 0 else { return .failure(SocketFault(errno: errno, stage: .socket)) }
        func fail(_ stage: SocketFault.Stage) -> Result<(fd: Int32, connected: Bool), SocketFault> {
            let code = errno
            close(fd)
            return .failure(SocketFault(errno: code, stage: stage))
        }
        if linger {
            var value = Glibc.linger(l_onoff: 1, l_linger: 0)
            guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0 else {
                return fail(.option)
            }
        }
        if var mark {
            guard setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, 4) == 0 else { return fail(.option) }
        }
        if let device {
            let set = device.withUnsafeBytes {
                setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0.baseAddress, socklen_t($0.count))
            }
            guard set == 0 else { return fail(.device) }
        }
        if let local {
            guard local.withPointer({ bind(fd, $0, $1) }) == 0 else { return fail(.bind) }
        }
        if remote.withPointer({ connect(fd, $0, $1) }) == 0 { return .success((fd, true)) }
        guard errno == EINPROGRESS else { return fail(.connect) }
        return .success((fd, false))
    }
}

/// A failed socket call of a check.
struct SocketFault: Error {
    enum Stage {
        case socket, option, device, bind, connect, io
    }

    var code: Int32
    var stage: Stage

    init(errno code: Int32, stage: Stage) {
        self.code = code
        self.stage = stage
    }

    /// Local shortage, not the real server's fault: the check could not run, and is not a failure (out of
    /// descriptors, buffers, memory or local ports).
    var isLocalShortage: Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN].contains(code) && stage != .io
    }

    /// The operator's words for it.
    func text(timeout: String) -> String {
        switch code {
        case ECONNREFUSED: return stage == .io ? "port unreachable (ICMP)" : "connection refused"
        case ETIMEDOUT: return "timed out after \(timeout)"
        case EHOSTUNREACH: return stage == .io ? "host unreachable (ICMP)" : "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case ECONNRESET: return "connection reset"
        case EPIPE: return "connection closed"
        case EACCES, EPERM: return "not permitted (\(String(cString: strerror(code))))"
        default:
            let what: String =
                switch stage {
                case .socket: "socket"
                case .option: "setsockopt"
                case .device: "bind_if"
                case .bind: "bindto"
                case .connect: "connect"
                case .io: "i/o"
                }
            return "\(what): \(String(cString: strerror(code)))"
        }
    }

    /// The outcome of a check that met this fault.
    func outcome(label: String, timeout: String) -> ProbeOutcome {
        isLocalShortage
            ? .notRun("\(label): \(text(timeout: timeout))") : .failure("\(label): \(text(timeout: timeout))")
    }

    /// `SO_ERROR` of a socket whose connect finished (0 when it succeeded).
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(4)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }
}

/// A reason a probe could not even be built into a socket plan.
struct ProbeFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A `sockaddr_in` or `sockaddr_in6`, built once.
struct SocketAddressStorage: Sendable {
    private var storage = sockaddr_storage()
    let length: socklen_t

    init(_ address: IPAddress, port: Int) {
        switch address {
        case .v4(let value):
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = UInt16(port).bigEndian
            ipv4.sin_addr = in_addr(s_addr: value.bigEndian)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: ipv4) { raw.copyMemory(from: $0) }
            }
        case .v6(let bytes):
            var ipv6 = sockaddr_in6()
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = UInt16(port).bigEndian
            withUnsafeMutableBytes(of: &ipv6.sin6_addr) { raw in
                for (index, byte) in bytes.prefix(16).enumerated() { raw[index] = byte }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: ipv6) { raw.copyMemory(from: $0) }
            }
        }
    }

    func withPointer<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
