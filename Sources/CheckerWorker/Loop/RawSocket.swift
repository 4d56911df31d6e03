import CVigilShim
import Config

#if canImport(Glibc)
    import Glibc
#endif

/// How to open one check's socket, worked out once when the probe is built: the peer and the local addresses as
/// `sockaddr`s, the options keepalived.conf asks for (`bindto`, `bind_port`, `bind_if`, `fwmark`), the timeout.
/// Nothing is converted or formatted per check: the label and the timeout's text are built only for a failure's
/// reason. A farm holds one plan per TCP check, so the plan is small (about 100 bytes): the peer in a
/// `sockaddr_in6`-sized buffer, the rarely set source options out of line, no text unless the probe names its
/// checks in its own words.
public final class SocketPlan: Sendable {
    /// How a plan's reasons name the check.
    enum Label: Sendable {
        /// `KEYWORD ADDRESS:PORT`, the endpoint read back from the peer's address (`TCP_CHECK 198.51.100.11:80`).
        case endpoint(String)
        /// The probe's own words (`DNS_CHECK [2001:db8::1]:53 A example.com`).
        case text(String)

        /// The label of a check of `address`:`port`.
        func text(_ address: IPAddress, port: Int?) -> String {
            switch self {
            case .endpoint(let keyword): "\(keyword) \(endpointText(address, port: port))"
            case .text(let text): text
            }
        }
    }

    /// The source side: `bindto`/`bind_port`, `bind_if`, `fwmark` (nil when the check sets none).
    final class Source: Sendable {
        let local: SockaddrBytes?
        let device: [UInt8]?
        let mark: UInt32?

        init(local: SockaddrBytes?, device: [UInt8]?, mark: UInt32?) {
            self.local = local
            self.device = device
            self.mark = mark
        }
    }

    let remote: SockaddrBytes
    /// connect_timeout, in nanoseconds.
    let timeout: UInt64
    let source: Source?
    private let naming: Label

    /// `TCP_CHECK 198.51.100.11:80`: the reason's prefix.
    public var label: String { naming.text(remote.address, port: remote.port) }

    /// `AF_INET` or `AF_INET6`.
    var family: Int32 { remote.family }

    /// The timeout as reasons print it (`1s`, `0.5s`).
    var timeoutText: String { Duration.nanoseconds(Int64(clamping: timeout)).secondsText }

    /// - Parameter label: the reasons' prefix, `.endpoint(KEYWORD)` for `KEYWORD ADDRESS:PORT` of the peer.
    /// - Returns: nil with the reason when the target cannot be connected to (no port, a bad `bind_if`).
    static func make(target: ProbeTarget, port: Int?, label: Label) -> Result<SocketPlan, ProbeFailure> {
        let text = { label.text(target.address, port: port) }
        guard let port, (0...65535).contains(port) else {
            return .failure(ProbeFailure("\(text()): no port to connect to"))
        }
        var local: SockaddrBytes?
        if target.bindAddress != nil || target.bindPort != nil {
            let address =
                target.bindAddress ?? (target.address.family == .ipv4 ? .v4(0) : .v6([UInt8](repeating: 0, count: 16)))
            guard address.family == target.address.family else {
                return .failure(ProbeFailure("\(text()): bindto \(address) is not of the target's family"))
            }
            local = SockaddrBytes(address, port: target.bindPort ?? 0)
        }
        var device: [UInt8]?
        if let name = target.bindInterface {
            guard (1...15).contains(name.utf8.count) else {
                return .failure(ProbeFailure("\(text()): bind_if \(name): not an interface name"))
            }
            device = Array(name.utf8)
        }
        let source =
            local == nil && device == nil && target.fwmark == nil
            ? nil : Source(local: local, device: device, mark: target.fwmark)
        return .success(
            SocketPlan(
                remote: SockaddrBytes(target.address, port: port), source: source,
                timeout: UInt64(max(0, HealthScheduler.nanoseconds(target.connectTimeout))), label: label))
    }

    init(remote: SockaddrBytes, source: Source?, timeout: UInt64, label: Label) {
        self.remote = remote
        self.source = source
        self.timeout = timeout
        naming = label
    }

    /// The same socket with another label (HTTP_GET names the url in its reasons).
    func relabelled(_ label: String) -> SocketPlan {
        SocketPlan(remote: remote, source: source, timeout: timeout, label: .text(label))
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
        if let source {
            if var mark = source.mark {
                guard setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, 4) == 0 else { return fail(.option) }
            }
            if let device = source.device {
                let set = device.withUnsafeBytes {
                    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0.baseAddress, socklen_t($0.count))
                }
                guard set == 0 else { return fail(.device) }
            }
            if let local = source.local {
                guard local.withPointer({ bind(fd, $0, $1) }) == 0 else { return fail(.bind) }
            }
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

/// A `sockaddr_in` or `sockaddr_in6`, built once, in the 28 bytes of the larger (not a 128-byte
/// `sockaddr_storage`): the family field, at the same offset in both, tells which.
struct SockaddrBytes: Sendable {
    private var storage = sockaddr_in6()

    init(_ address: IPAddress, port: Int) {
        switch address {
        case .v4(let value):
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = UInt16(port).bigEndian
            ipv4.sin_addr = in_addr(s_addr: value.bigEndian)
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: ipv4) { raw.copyMemory(from: $0) }
            }
        case .v6(let bytes):
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = UInt16(port).bigEndian
            withUnsafeMutableBytes(of: &storage.sin6_addr) { raw in
                for (index, byte) in bytes.prefix(16).enumerated() { raw[index] = byte }
            }
        }
    }

    /// `AF_INET` or `AF_INET6`.
    var family: Int32 { Int32(storage.sin6_family) }

    /// The `sockaddr`'s length for `bind` and `connect`.
    var length: socklen_t {
        socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    /// The address, read back (for a reason's text).
    var address: IPAddress {
        if family == AF_INET {
            return withUnsafeBytes(of: storage) { raw in
                .v4(UInt32(bigEndian: raw.load(as: sockaddr_in.self).sin_addr.s_addr))
            }
        }
        return withUnsafeBytes(of: storage.sin6_addr) { .v6(Array($0)) }
    }

    /// The port, read back (sin_port and sin6_port share their offset).
    var port: Int { Int(UInt16(bigEndian: storage.sin6_port)) }

    func withPointer<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
