import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// Bounds on the control socket's connections: a client that opens many, sends nothing, or sends too much cannot
/// grow the watchdog or keep its loop busy (the socket is root's, mode 0600, but a stuck script is enough).
struct ControlLimits: Sendable {
    /// Connections open at once; one more is answered "busy" and closed.
    var maxConnections = 32
    /// How long a connection may take to send its request before it is closed.
    var idleTimeout: Duration = .seconds(5)
    /// The largest request (a `ControlRequest` is a few dozen bytes).
    var maxRequestSize = 64 << 10
    /// How long the listener is left alone after `accept` fails for want of descriptors or memory
    /// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): poll would report it readable at once, again and again.
    var acceptPause: Duration = .milliseconds(250)
}

/// The watchdog's side of the control socket: the listening socket, the connections it accepted, and their
/// bounds. Driven by the watchdog's poll loop: `descriptors(now:)` to poll, then `handle(_:now:answer:)` with
/// what poll returned for them, and `wakeAt` as a deadline for poll's timeout.
final class ControlServer {
    /// One accepted connection, waiting for its request until `deadline`.
    final class Connection {
        let socket: MessageSocket
        let deadline: Int64

        init(socket: MessageSocket, deadline: Int64) {
            self.socket = socket
            self.deadline = deadline
        }
    }

    let path: String
    let limits: ControlLimits
    private let logger: Logger
    private var listener: ControlListener?
    private(set) var connections: [Connection] = []
    /// The connections whose descriptors `descriptors(now:)` last returned, in that order.
    private var polled: [Connection] = []
    private var listenerPolled = false
    private var acceptPausedUntil: Int64?
    /// Failed accepts (no descriptor, no memory), connections refused as over the limit, closed idle.
    private(set) var acceptFailures = 0
    private(set) var refusedBusy = 0
    private(set) var closedIdle = 0

    /// Opens the control socket at `path` (see `ControlListener.open`).
    init(path: String, limits: ControlLimits = ControlLimits(), logger: Logger) throws(WatchdogError) {
        self.path = path
        self.limits = limits
        self.logger = logger
        listener = try ControlListener.open(path)
    }

    /// The earliest time (CLOCK_MONOTONIC ns) something is due: a connection's deadline or the end of a pause.
    var wakeAt: Int64? {
        let deadlines = connections.map(\.deadline) + [acceptPausedUntil].compactMap { $0 }
        return deadlines.min()
    }

    /// What to poll now: the listener (unless accepting is paused; at the connection limit it is still polled,
    /// and a new connection is refused with a reason), then each connection.
    func descriptors(now: Int64) -> [pollfd] {
        if let until = acceptPausedUntil, now >= until { acceptPausedUntil = nil }
        listenerPolled = listener != nil && acceptPausedUntil == nil
        polled = connections
        var descriptors: [pollfd] = []
        if listenerPolled, let listener {
            descriptors.append(pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0))
        }
        descriptors += polled.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
        return descriptors
    }

    /// Acts on poll's answer for the descriptors of the last `descriptors(now:)`: accepts new connections,
    /// answers complete requests with `answer` (one request per connection, then it is closed) and closes
    /// connections past their deadline.
    /// - Returns: the requests answered, in order (the watchdog stops after answering `.stop`).
    func handle(_ polledDescriptors: ArraySlice<pollfd>, now: Int64, answer: (ControlRequest) -> ControlResponse)
        -> [ControlRequest]
    {
        var index = polledDescriptors.startIndex
        if listenerPolled {
            if polledDescriptors[index].revents != 0 { accept(now: now) }
            index += 1
        }
        var answered: [ControlRequest] = []
        for connection in polled {
            defer { index += 1 }
            guard polledDescriptors[index].revents != 0 else { continue }
            if let request = serve(connection, answer: answer) { answered.append(request) }
        }
        for connection in connections where connection.deadline <= now {
            closedIdle += 1
            try? connection.socket.send(
                ControlResponse.refused("no request within \(limits.idleTimeout); closing"), timeoutMilliseconds: 0)
            remove(connection)
        }
        return answered
    }

    /// Answers the connections still open with `reason`, closes them and the listener, and removes the socket.
    func close(refusing reason: String) {
        listener?.close()
        listener = nil
        for connection in connections {
            try? connection.socket.send(ControlResponse.refused(reason), timeoutMilliseconds: 10)
            connection.socket.close()
        }
        connections = []
        polled = []
    }

    private func accept(now: Int64) {
        guard let listener else { return }
        while true {
            // Single-threaded: nothing can spawn between accept and F_SETFD.
            let fd = Glibc.accept(listener.fd, nil, nil)
            guard fd >= 0 else {
                let code = errno
                if code == EINTR { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    acceptFailures += 1
                    if acceptFailures == 1 || acceptFailures % 100 == 0 {
                        logger.error(
                            "control socket: accept: \(String(cString: strerror(code))) (\(acceptFailures) times); not accepting for \(limits.acceptPause)"
                        )
                    }
                    acceptPausedUntil = now + limits.acceptPause.nanoseconds
                }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let socket = MessageSocket(fd: fd, version: controlProtocolVersion, maxMessageSize: limits.maxRequestSize)
            guard connections.count < limits.maxConnections else {
                refusedBusy += 1
                try? socket.send(
                    ControlResponse.refused(
                        "vigild is busy: \(limits.maxConnections) control connections are open; try again"),
                    timeoutMilliseconds: 0)
                socket.close()
                continue
            }
            connections.append(Connection(socket: socket, deadline: now + limits.idleTimeout.nanoseconds))
        }
    }

    /// Reads from one connection: its request, answered and closed; `nil` while the request is incomplete.
    private func serve(_ connection: Connection, answer: (ControlRequest) -> ControlResponse) -> ControlRequest? {
        guard connections.contains(where: { $0 === connection }) else { return nil }
        switch connection.socket.receive(ControlRequest.self) {
        case .message(let request):
            try? connection.socket.send(answer(request), timeoutMilliseconds: 100)
            remove(connection)
            return request
        case .malformed(let why):
            logger.warning("dropped a malformed control request: \(why)")
            try? connection.socket.send(ControlResponse.refused("malformed request: \(why)"), timeoutMilliseconds: 100)
            remove(connection)
        case .wouldBlock:
            break
        case .closed:
            remove(connection)
        }
        return nil
    }

    private func remove(_ connection: Connection) {
        connection.socket.close()
        connections.removeAll { $0 === connection }
    }
}
