#if canImport(Glibc)
    import Glibc
#endif

/// Why `vigilctl` could not get an answer, worded for the operator.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The process `vigilctl` expects at the other end of the control socket.
public struct ControlPeer: Sendable, Hashable {
    /// vigild's pid, from its pid file; `nil`: any process of an allowed user.
    public var pid: pid_t?
    /// The pid file it came from, for the operator.
    public var pidFile: String?

    public init(pid: pid_t?, pidFile: String?) {
        self.pid = pid
        self.pidFile = pidFile
    }
}

/// The pid a pid file names (`/run/vigild.pid`, a control socket's lock), or nil when it cannot be read.
public func readPidFile(_ path: String) -> pid_t? {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = read(fd, &buffer, buffer.count)
    guard count > 0 else { return nil }
    return pid_t(String(decoding: buffer.prefix(count), as: UTF8.self).filter(\.isNumber))
}

/// `vigilctl`'s side of the control socket: one request, one answer, bounded in time.
public enum ControlClient {
    /// Connects to `path`, checks who listens there (`SO_PEERCRED`: root or this user, and `peer`'s pid when
    /// known), sends `request` and waits up to `timeoutMilliseconds` for the answer. Nothing is sent to a socket
    /// that another user, or another process than the pid file's, has put in vigild's place.
    public static func send(
        _ request: ControlRequest, to path: String, peer: ControlPeer = ControlPeer(pid: nil, pidFile: nil),
        timeoutMilliseconds: Int = 5000
    ) throws(ControlClientError) -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError(message: "socket: \(String(cString: strerror(errno)))") }
        let connection = MessageSocket(fd: fd, version: controlProtocolVersion)
        guard let connected = withUnixSocketAddress(path, { connect(fd, $0, $1) }) else {
            throw ControlClientError(message: "control socket path \(path) is too long")
        }
        guard connected == 0 else {
            let code = errno
            let reason: String
            switch code {
            case ENOENT: reason = "no such socket; is vigild running?"
            case ECONNREFUSED: reason = "nothing listens on it; vigild is not running or is stopping"
            default: reason = String(cString: strerror(code))
            }
            throw ControlClientError(message: "cannot reach vigild at \(path): \(reason)")
        }
        try verify(connection.fd, path: path, peer: peer, request: request)
        do {
            try connection.send(request)
        } catch {
            throw ControlClientError(message: "cannot send to vigild at \(path): \(error)")
        }
        switch connection.receive(ControlResponse.self, timeoutMilliseconds: timeoutMilliseconds) {
        case .message(let response): return response
        case .malformed(let why): throw ControlClientError(message: "vigild at \(path) sent a bad answer: \(why)")
        case .wouldBlock:
            throw ControlClientError(
                message: "vigild at \(path) did not answer within \(timeoutMilliseconds / 1000) s; it may be stopping")
        case .closed:
            throw ControlClientError(message: "vigild at \(path) closed the connection; it is stopping")
        }
    }
}

extension ControlClient {
    /// Refuses a listener that is not vigild: another user's, or not the pid the pid file names.
    static func verify(_ fd: Int32, path: String, peer: ControlPeer, request: ControlRequest)
        throws(ControlClientError)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit words (Glibc hides the struct without
        // _GNU_SOURCE).
        var words = [Int32](repeating: 0, count: 3)
        var length = socklen_t(3 * MemoryLayout<Int32>.size)
        let result = words.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &length) }
        let credentials = (pid: words[0], uid: UInt32(bitPattern: words[1]))
        guard result == 0 else {
            throw ControlClientError(
                message:
                    "cannot tell who listens on \(path): \(String(cString: strerror(errno))); not sending \(request)")
        }
        guard credentials.uid == 0 || credentials.uid == geteuid() else {
            throw ControlClientError(
                message:
                    "\(path) is served by uid \(credentials.uid) (pid \(credentials.pid)), not by root: not vigild; "
                    + "not sending \(request)")
        }
        if let expected = peer.pid, credentials.pid != expected {
            throw ControlClientError(
                message:
                    "\(path) is served by pid \(credentials.pid), but \(peer.pidFile ?? "the pid file") names vigild "
                    + "pid \(expected): not sending \(request) (give --pid if this vigild has another pid file)")
        }
    }
}
