import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What vigild tells systemd under `Type=notify` (sd_notify(3)), decided from the watchdog's state: no clock, no
/// socket. Messages are sent by the watchdog itself, the unit's main process, so `NotifyAccess=main` suffices.
///
/// - `READY=1` once every worker the configuration needs has applied it and reported its first state;
/// - around a reload, `RELOADING=1` with `MONOTONIC_USEC=` when it starts, and `READY=1` once every worker has
///   reported on the new configuration (or at once when the file is refused);
/// - `STOPPING=1` when stopping;
/// - `STATUS=` one line whenever it changes (at most once a second);
/// - `WATCHDOG=1` every half `WatchdogSec` — only while every worker is alive (running and answering heartbeats):
///   a worker that hangs, or dies and cannot be restarted, stops them, and systemd's watchdog acts.
struct SystemdNotifyPolicy {
    /// Nanoseconds between `WATCHDOG=1` messages (half of `WATCHDOG_USEC`), nil when systemd did not ask.
    let watchdogPeriod: Int64?
    private(set) var ready = false
    private(set) var stopping = false
    /// A reload waiting for these workers' reports, and when to give up waiting.
    private var reload: (waiting: Set<WorkerRoleName>, deadline: Int64)?
    private var lastWatchdog: Int64?
    /// `WATCHDOG=1` messages held back because a worker was not alive: one per period it would have been sent; nil
    /// when systemd asked for none.
    var watchdogWithheld: Int? { watchdogPeriod == nil ? nil : withheld }
    private var withheld = 0
    private var lastWithheld: Int64?
    private var lastStatus: (text: String, at: Int64)?

    typealias WorkerRoleName = String

    static let statusInterval: Int64 = 1_000_000_000
    static let reloadWait: Int64 = 10_000_000_000

    init(watchdogPeriod: Int64?) {
        self.watchdogPeriod = watchdogPeriod
    }

    /// The next time after `now` (CLOCK_MONOTONIC ns) `update` may have something to send, nil for nothing
    /// scheduled. What is already due waits for the watchdog's next turn (it turns at least every quarter
    /// heartbeat): a ping held back while a worker is down must not make the loop spin.
    func wakeAt(now: Int64) -> Int64? {
        var times: [Int64] = []
        if let period = watchdogPeriod, !stopping, let lastWatchdog { times.append(lastWatchdog + period) }
        if let reload { times.append(reload.deadline) }
        if let lastStatus { times.append(lastStatus.at + Self.statusInterval) }
        return times.filter { $0 > now }.min()
    }

    /// What to send now.
    /// - Parameters:
    ///   - allReported: every needed worker has applied its configuration and reported its state.
    ///   - workersAlive: every needed worker is running and has answered its recent heartbeats.
    ///   - status: the one-line `STATUS=` text.
    mutating func update(now: Int64, allReported: Bool, workersAlive: Bool, status: String) -> [String] {
        guard !stopping else { return [] }
        var fields: [String] = []
        if !ready && allReported {
            ready = true
            fields.append("READY=1")
        } else if let pending = reload, ready, pending.waiting.isEmpty || now >= pending.deadline {
            reload = nil
            fields.append("READY=1")
        }
        let statusDue = lastStatus.map { $0.text != status && now - $0.at >= Self.statusInterval } ?? true
        if statusDue || !fields.isEmpty {
            fields.append("STATUS=\(status)")
            lastStatus = (status, now)
        }
        var messages = fields.isEmpty ? [] : [fields.joined(separator: "\n")]
        if let period = watchdogPeriod, now - (lastWatchdog ?? Int64.min / 2) >= period {
            if workersAlive {
                lastWatchdog = now
                messages.append("WATCHDOG=1")
            } else if now - max(lastWatchdog ?? Int64.min / 2, lastWithheld ?? Int64.min / 2) >= period {
                lastWithheld = now
                withheld += 1
            }
        }
        return messages
    }

    /// A reload starts: waits for the `roles` running now to report on the new configuration.
    mutating func reloading(roles: [String], now: Int64, monotonicMicroseconds: Int64) -> String {
        reload = (Set(roles), now + Self.reloadWait)
        return "RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)"
    }

    /// A worker reported its state (after a reload: on the new configuration).
    mutating func reported(role: String) {
        reload?.waiting.remove(role)
    }

    /// A worker stopped being needed or died: the reload no longer waits for it.
    mutating func forget(role: String) {
        reload?.waiting.remove(role)
    }

    mutating func stop(status: String) -> String {
        stopping = true
        reload = nil
        return "STOPPING=1\nSTATUS=\(status)"
    }
}

/// The notification socket systemd gives in `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). The
/// variables are removed from the environment at once, so the workers (and scripts) do not inherit them.
struct SystemdNotifySocket {
    let path: String
    private let fd: Int32
    private let logger: Logger

    /// The socket systemd asked for, and `WATCHDOG_USEC` when it is meant for this process (`WATCHDOG_PID` unset or
    /// this pid); nil outside systemd.
    static func fromEnvironment(logger: Logger) -> (SystemdNotifySocket, watchdogMicroseconds: Int64?)? {
        let path = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
        let watchdog = getenv("WATCHDOG_USEC").flatMap { Int64(String(cString: $0)) }
        let watchdogPid = getenv("WATCHDOG_PID").flatMap { pid_t(String(cString: $0)) }
        unsetenv("NOTIFY_SOCKET")
        unsetenv("WATCHDOG_USEC")
        unsetenv("WATCHDOG_PID")
        guard let path, path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < 108 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            logger.error("NOTIFY_SOCKET \(path): socket: \(String(cString: strerror(errno))); not notifying systemd")
            return nil
        }
        let forUs = watchdogPid == nil || watchdogPid == getpid()
        let period = forUs ? watchdog.flatMap { $0 > 0 ? $0 : nil } : nil
        return (SystemdNotifySocket(path: path, fd: fd, logger: logger), period)
    }

    /// Sends one datagram without blocking; a failure is logged, never fatal.
    func send(_ message: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let payload = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                payload.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketAddress, length)
                }
            }
        }
        if sent < 0 {
            logger.warning("cannot notify systemd at \(path): \(String(cString: strerror(errno)))")
        }
    }

    func close() { Glibc.close(fd) }
}
