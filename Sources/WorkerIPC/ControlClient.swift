#if canImport(Glibc)
    import Glibc
#endif

/// Why `vigilctl` could not get an answer, worded for the operator.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `vigilctl`'s side of the control socket: one request, one answer, bounded in time.
public enum ControlClient {
    /// Connects to `path`, sends `request` and waits up to `timeoutMilliseconds` for the answer.
    public static func send(
        _ request: ControlRequest, to path: String, timeoutMilliseconds: Int = 5000
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
