import CVigilShim
import Config
import Logging
import Monitoring
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// Bounds on the metrics listener's connections: a slow, idle or hostile client costs a bounded share of one
/// thread and a bounded amount of memory, and never reaches the watchdog's loop.
struct MetricsLimits: Sendable {
    /// Connections open at once; one more is answered 503 and closed.
    var maxConnections = 64
    /// How long a connection may take to send a complete request (after connecting, or after its previous
    /// response), and to read a response: a client that stalls is closed (slow-loris, a reader that never reads).
    var timeout: Duration = .seconds(10)
    /// How long the listener is left alone after `accept` fails for want of descriptors or memory.
    var acceptPause: Duration = .milliseconds(250)
    /// A rendering newer than this is served again even if the watchdog has published since: a flood of scrapes
    /// costs at most one rendering per page per interval.
    var renderReuse: Duration = .milliseconds(50)
}

/// The metrics listener (`--metrics-listen`, `metrics_listen`): `/metrics`, `/status.json` and `/` over HTTP/1.1,
/// served on a thread of its own from the snapshots the watchdog publishes.
///
/// The watchdog's loop only publishes (a copy of its status, under a lock held for an assignment); parsing,
/// rendering and writing happen on this thread with non-blocking sockets, so a slow client stalls neither the
/// watchdog nor a worker. The thread blocks every signal (the watchdog reads them from its signalfd).
final class MetricsServer {
    let address: ListenAddress
    private let shared: MetricsShared
    private let wake: Int32
    private var thread: pthread_t?

    /// Binds and listens on `address` now (so a taken port fails the caller), and starts serving.
    init(address: ListenAddress, limits: MetricsLimits = MetricsLimits(), logger: Logger) throws(WatchdogError) {
        self.address = address
        let listener = try Self.listen(address)
        let wake = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
        guard wake >= 0 else {
            let error = WatchdogError.errno("eventfd")
            close(listener)
            throw error
        }
        self.wake = wake
        shared = MetricsShared()
        let loop = MetricsServerLoop(
            listener: listener, wake: wake, shared: shared, limits: limits, logger: logger)
        do throws(WatchdogError) {
            thread = try Self.spawn(loop)
        } catch {
            loop.closeAll()
            close(wake)
            throw error
        }
    }

    /// Makes `snapshot` what the next requests see.
    func publish(_ snapshot: MonitoringSnapshot) {
        shared.publish(snapshot)
    }

    /// Responses sent so far.
    var responsesSent: UInt64 { shared.responsesSent }

    /// Stops serving: closes the listener and every connection, and waits for the thread to end.
    func stop() {
        guard let thread else { return }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        pthread_join(thread, nil)
        self.thread = nil
        close(wake)
    }

    deinit { stop() }

    /// A listening TCP socket on `address` (non-blocking, close-on-exec, `SO_REUSEADDR`; IPv6 only on an IPv6
    /// address, so `[::]` and `0.0.0.0` are separate listeners).
    static func listen(_ address: ListenAddress) throws(WatchdogError) -> Int32 {
        let family = address.address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .errno("metrics listener: socket") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let bytes = address.address.bytes
        let port = UInt16(address.port).bigEndian
        /// bind(2) with a filled-in `sockaddr_in` or `sockaddr_in6`.
        func bind<Address>(_ socketAddress: inout Address) -> Int32 {
            withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size))
                }
            }
        }
        let bound: Int32
        if family == AF_INET {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port
            withUnsafeMutableBytes(of: &socketAddress.sin_addr) { $0.copyBytes(from: bytes) }
            bound = bind(&socketAddress)
        } else {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: bytes) }
            bound = bind(&socketAddress)
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            let error = WatchdogError.errno("metrics listener: cannot listen on \(address)")
            close(fd)
            throw error
        }
        return fd
    }

    /// Starts `loop` on a new thread that blocks every signal from its first instruction on.
    private static func spawn(_ loop: MetricsServerLoop) throws(WatchdogError) -> pthread_t {
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { context in
                let loop = Unmanaged<MetricsServerLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<MetricsServerLoop>.fromOpaque(context).release()
            throw WatchdogError(
                code: created, "metrics listener: pthread_create: \(String(cString: strerror(created)))")
        }
        return thread
    }
}

/// What the watchdog hands the listener's thread: the latest snapshot and its generation; and what the thread hands
/// back: how many responses it has sent.
final class MetricsShared: Sendable {
    private let state = Mutex<(generation: UInt64, snapshot: MonitoringSnapshot?)>((0, nil))
    private let responses = Atomic<UInt64>(0)

    /// Responses sent (any page, any status): the watchdog gives back what serving them ran once they stop
    /// (`Supervisor.operatorQueryTrimAt`).
    var responsesSent: UInt64 { responses.load(ordering: .relaxed) }

    func noteResponse() { responses.add(1, ordering: .relaxed) }

    func publish(_ snapshot: MonitoringSnapshot) {
        state.withLock { $0 = ($0.generation &+ 1, snapshot) }
    }

    var current: (generation: UInt64, snapshot: MonitoringSnapshot?) {
        state.withLock { $0 }
    }
}

/// The listener's thread: a poll loop over the listener, a wake-up eventfd and the connections. Everything here is
/// confined to that thread.
final class MetricsServerLoop {
    /// One client connection: what it sent that is not answered yet, the response being written, and until when it
    /// may take.
    final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var written = 0
        var closeAfterWrite = false
        var deadline: Int64

        init(fd: Int32, deadline: Int64) {
            self.fd = fd
            self.deadline = deadline
        }

        var writing: Bool { written < output.count }
    }

    private let listener: Int32
    private let wake: Int32
    private let shared: MetricsShared
    private let limits: MetricsLimits
    private let logger: Logger
    private var connections: [Connection] = []
    private var acceptPausedUntil: Int64?
    private var acceptFailures = 0
    private var rendered: [MonitoringEndpoint.Page: (generation: UInt64, at: Int64, response: HTTPResponse)] = [:]

    init(listener: Int32, wake: Int32, shared: MetricsShared, limits: MetricsLimits, logger: Logger) {
        self.listener = listener
        self.wake = wake
        self.shared = shared
        self.limits = limits
        self.logger = logger
    }

    func run() {
        _ = cvigil_set_thread_name("vigil-metrics")
        while true {
            let now = monotonicNanoseconds()
            if let until = acceptPausedUntil, now >= until { acceptPausedUntil = nil }
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let listening = acceptPausedUntil == nil
            if listening { descriptors.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            let polled = connections
            for connection in polled {
                descriptors.append(
                    pollfd(fd: connection.fd, events: Int16(connection.writing ? POLLOUT : POLLIN), revents: 0))
            }
            var wakeAt = polled.map(\.deadline).min() ?? now + 60_000_000_000
            if let until = acceptPausedUntil { wakeAt = min(wakeAt, until) }
            Syscalls.poll(
                &descriptors, timeoutMilliseconds: Int32(clamping: max(0, (wakeAt - now + 999_999) / 1_000_000)))
            if descriptors[0].revents != 0 { break }
            if listening, descriptors[1].revents != 0 { accept() }
            let offset = listening ? 2 : 1
            for (index, connection) in polled.enumerated() where descriptors[offset + index].revents != 0 {
                service(connection)
            }
            let later = monotonicNanoseconds()
            for connection in connections where connection.deadline <= later { remove(connection) }
        }
        closeAll()
    }

    func closeAll() {
        for connection in connections { close(connection.fd) }
        connections = []
        close(listener)
    }

    private func accept() {
        while true {
            let fd = cvigil_accept_nonblocking(listener)
            guard fd >= 0 else {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    acceptFailures += 1
                    if acceptFailures == 1 || acceptFailures % 100 == 0 {
                        logger.error(
                            "metrics listener: accept: \(String(cString: strerror(code))) (\(acceptFailures) times); not accepting for \(limits.acceptPause)"
                        )
                    }
                    acceptPausedUntil = monotonicNanoseconds() + limits.acceptPause.nanoseconds
                }
                return
            }
            guard connections.count < limits.maxConnections else {
                let busy = HTTPResponse.text(
                    .serviceUnavailable, "vigild is busy: \(limits.maxConnections) connections are open; try again")
                let bytes = busy.serialized(keepAlive: false)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                close(fd)
                continue
            }
            connections.append(Connection(fd: fd, deadline: monotonicNanoseconds() + limits.timeout.nanoseconds))
        }
    }

    /// Reads, answers or writes, as the connection's state asks.
    private func service(_ connection: Connection) {
        if connection.writing {
            flush(connection)
            return
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                connection.input += buffer[..<count]
                if connection.input.count > HTTPRequestParser.maxHeadSize + 4 { break }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                remove(connection)
                return
            }
            break
        }
        answer(connection)
    }

    /// Answers the request at the start of the connection's input, if it is complete.
    private func answer(_ connection: Connection) {
        switch HTTPRequestParser.parse(connection.input) {
        case .incomplete:
            return
        case .invalid(let error):
            connection.input = []
            respond(connection, .text(error.status, error.reason), keepAlive: false, head: false)
        case .request(let head, let consumed):
            connection.input.removeFirst(consumed)
            let response: HTTPResponse
            switch MonitoringEndpoint.route(head) {
            case .response(let fixed): response = fixed
            case .page(let page): response = render(page)
            }
            respond(connection, response, keepAlive: head.keepAlive, head: head.method == "HEAD")
        }
    }

    private func respond(_ connection: Connection, _ response: HTTPResponse, keepAlive: Bool, head: Bool) {
        shared.noteResponse()
        connection.output = response.serialized(keepAlive: keepAlive, omitBody: head)
        connection.written = 0
        connection.closeAfterWrite = !keepAlive
        connection.deadline = monotonicNanoseconds() + limits.timeout.nanoseconds
        flush(connection)
    }

    /// Writes what the socket takes now; once the response is out, closes or waits for the next request (which
    /// may already be in the input: pipelining).
    private func flush(_ connection: Connection) {
        while connection.writing {
            let count = connection.output[connection.written...].withUnsafeBytes {
                send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count > 0 {
                connection.written += count
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            remove(connection)
            return
        }
        connection.output = []
        connection.written = 0
        if connection.closeAfterWrite {
            remove(connection)
            return
        }
        connection.deadline = monotonicNanoseconds() + limits.timeout.nanoseconds
        if !connection.input.isEmpty { answer(connection) }
    }

    /// The page for the current snapshot, rendered at most once per generation (and per `renderReuse`).
    private func render(_ page: MonitoringEndpoint.Page) -> HTTPResponse {
        let now = monotonicNanoseconds()
        if let cached = rendered[page], now - cached.at < limits.renderReuse.nanoseconds {
            return cached.response
        }
        let (generation, snapshot) = shared.current
        if let cached = rendered[page], cached.generation == generation { return cached.response }
        guard let snapshot else {
            return .text(.serviceUnavailable, "vigild is starting")
        }
        let response = MonitoringEndpoint.render(page, snapshot)
        rendered[page] = (generation, now, response)
        return response
    }

    private func remove(_ connection: Connection) {
        close(connection.fd)
        connections.removeAll { $0 === connection }
    }
}
