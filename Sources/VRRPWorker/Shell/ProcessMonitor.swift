import CVigilShim
import Config
import Notifier
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// One process event from the kernel's process connector (include/uapi/linux/cn_proc.h), threads left out.
enum ProcessEvent: Hashable, Sendable {
    /// The kernel answered a subscription (`PROC_EVENT_NONE`): 0, or the errno it refused it with.
    case acknowledged(error: UInt32)
    case fork(parent: Int32, child: Int32)
    /// `identity`: read from `/proc` when the event arrived; `nil` when the process was already gone.
    case exec(pid: Int32, identity: ProcessIdentity?)
    case renamed(pid: Int32, name: String, commandLine: [String]?)
    case exit(pid: Int32)
    /// Events were lost (`ENOBUFS`), or there are no events to have (no connector): a fresh count of `/proc`.
    case rescan([Int32: ProcessIdentity])

    /// `PROC_EVENT_FORK`, `_EXEC`, `_COMM`, `_EXIT`.
    static let forkEvent: UInt32 = 0x1
    static let execEvent: UInt32 = 0x2
    static let commEvent: UInt32 = 0x200
    static let exitEvent: UInt32 = 0x8000_0000
    /// `CN_IDX_PROC`, `CN_VAL_PROC`.
    static let connectorIndex: UInt32 = 1
    static let connectorValue: UInt32 = 1
    /// `sizeof(struct nlmsghdr)`, `sizeof(struct cn_msg)`: `struct proc_event` starts after both.
    static let eventOffset = 16 + 20

    /// The `ack` this process puts in its subscription requests (its pid). The kernel answers a request with
    /// `ack + 1` to every listener of the group, so an answer to another process's request (another daemon's
    /// refused subscription, say) is told apart from this one's.
    static let requestCookie = UInt32(bitPattern: getpid())

    /// What one datagram of the connector says, before `/proc` is read: (what, pid, other pid or name).
    /// `nil` for anything else: other connectors, other events, threads (pid ≠ tgid), short datagrams, and answers
    /// to requests that did not carry `cookie` (other processes').
    static func decode(_ bytes: some Collection<UInt8>, cookie: UInt32 = requestCookie) -> Decoded? {
        let bytes = Array(bytes)
        func u32(_ offset: Int) -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }
        func pid(_ offset: Int) -> Int32? { u32(offset).map { Int32(bitPattern: $0) } }
        guard let index = u32(16), let value = u32(20), index == connectorIndex, value == connectorValue,
            let what = u32(eventOffset)
        else { return nil }
        // struct proc_event: what, cpu, timestamp_ns (8), then event_data.
        let data = eventOffset + 16
        switch what {
        case 0:
            // struct cn_msg: id (idx, val), seq, ack: the answer's ack is the request's plus one.
            guard u32(28) == cookie &+ 1 else { return nil }
            return .acknowledged(error: u32(data) ?? 0)
        case forkEvent:
            guard let parentTGID = pid(data + 4), let childPID = pid(data + 8), let childTGID = pid(data + 12),
                childPID == childTGID
            else { return nil }
            return .fork(parent: parentTGID, child: childTGID)
        case execEvent, exitEvent, commEvent:
            guard let processPID = pid(data), let processTGID = pid(data + 4), processPID == processTGID else {
                return nil
            }
            if what == execEvent { return .exec(processTGID) }
            if what == exitEvent { return .exit(processTGID) }
            guard data + 8 + 16 <= bytes.count else { return nil }
            let name = bytes[(data + 8)..<(data + 24)].prefix { $0 != 0 }
            return .renamed(processTGID, String(decoding: name, as: UTF8.self))
        default:
            return nil
        }
    }

    /// A datagram decoded, before `/proc` is read.
    enum Decoded: Hashable, Sendable {
        case acknowledged(error: UInt32)
        case fork(parent: Int32, child: Int32)
        case exec(Int32)
        case renamed(Int32, String)
        case exit(Int32)
    }
}

/// Why the process connector could not be used.
public struct ProcessMonitorError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public var description: String { message }
}

/// `/proc` as `vrrp_track_process` reads it: names from `comm`, argv from `cmdline` only when asked (reading it
/// touches the process's memory, possibly swapped out), zombies left out.
enum ProcessTable {
    /// Every process (not thread) running, by pid.
    static func scan(commandLines: Bool) -> [Int32: ProcessIdentity] {
        var result: [Int32: ProcessIdentity] = [:]
        for pid in FileContents.numberedEntries(of: "/proc") {
            guard let identity = identity(of: pid, commandLine: commandLines) else { continue }
            result[pid] = identity
        }
        return result
    }

    /// The process's name and (with `commandLine`) argv; `nil` when it is gone or a zombie.
    static func identity(of pid: Int32, commandLine: Bool) -> ProcessIdentity? {
        // /proc/PID/stat: "PID (comm) S …"; the comm may hold ')' itself, so the last ')' ends it.
        guard let stat = FileContents.bytes("/proc/\(pid)/stat", limit: 512),
            let start = stat.firstIndex(of: UInt8(ascii: "(")),
            let end = stat.lastIndex(of: UInt8(ascii: ")")), start < end
        else { return nil }
        let state = stat[(end + 1)...].first { $0 != UInt8(ascii: " ") }
        guard state != UInt8(ascii: "Z") else { return nil }
        var identity = ProcessIdentity(name: String(decoding: stat[(start + 1)..<end], as: UTF8.self))
        if commandLine {
            guard let bytes = FileContents.bytes("/proc/\(pid)/cmdline", limit: 4096) else { return nil }
            identity.commandLine = ProcessIdentity.arguments(fromCommandLine: bytes)
        }
        return identity
    }
}

/// The kernel's process connector (netlink `NETLINK_CONNECTOR`, `CN_IDX_PROC`) read on a thread of its own, each
/// exec and rename completed from `/proc` there, the events handed over in batches.
///
/// The connector exists in the initial network namespace only, and a worker keeps too few capabilities to enter
/// it: `ProcessConnector.prepare()` opens the socket there before the worker drops them. Without a connector (or
/// when the kernel drops events, `ENOBUFS`) `/proc` is counted afresh: once a second without one, a second after a
/// loss with one.
///
/// `@unchecked Sendable`: `onEvents` is set once before `start()` (the thread's creation orders that write before
/// its reads); the flags the loop changes are behind `state`'s Mutex; the descriptors are written in `init` only.
final class ProcessMonitor: @unchecked Sendable {
    private struct State {
        var stopped = false
        var commandLines = false
        /// The kernel refused the subscription: `/proc` is counted once a second.
        var polling = false
    }

    private let state = Mutex(State())
    /// The connector socket; -1 when there is none (then `/proc` is polled).
    let socket: Int32
    /// Why there is no connector, for the log.
    let unavailable: ProcessMonitorError?
    private let wake = WakePipe()
    /// Called on the monitor's thread with the events of one wake-up.
    var onEvents: @Sendable ([ProcessEvent]) -> Void = { _ in }

    init() {
        var fd: Int32 = -1
        do {
            fd = try ProcessConnector.take()
            try ProcessConnector.listen(fd, true)
            socket = fd
            unavailable = nil
        } catch {
            if fd >= 0 { ProcessConnector.giveBack(fd) }
            socket = -1
            unavailable = error
        }
    }

    deinit {
        wake.close()
    }

    /// Whether exec and rename events read `/proc/PID/cmdline` too (some `vrrp_track_process` has `full_command`).
    var readsCommandLines: Bool {
        get { state.withLock { $0.commandLines } }
        set { state.withLock { $0.commandLines = newValue } }
    }

    func start() {
        WorkerThread.run { self.run() }
    }

    /// Counts `/proc` once a second from now on (the kernel refused the subscription, without the capability in the
    /// initial user namespace, say).
    func pollInstead() {
        state.withLock { $0.polling = true }
        wake.wake()
    }

    /// Ends the thread, which unsubscribes the socket and keeps it for the next monitor (a reload).
    func stop() {
        state.withLock { $0.stopped = true }
        wake.wake()
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 1024)
        // A loss is counted afresh a second later, when the burst that caused it has passed (as keepalived).
        var rescanAt: timespec?
        while true {
            if state.withLock({ $0.stopped }) {
                if socket >= 0 {
                    try? ProcessConnector.listen(socket, false)
                    ProcessConnector.giveBack(socket)
                }
                return
            }
            var descriptors = [pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0)]
            if socket >= 0 { descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
            let polling = socket < 0 || state.withLock { $0.polling }
            let timeout: Int32 = polling || rescanAt != nil ? 1000 : -1
            _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if descriptors[0].revents != 0 { wake.drain() }
            let commandLines = readsCommandLines
            var events: [ProcessEvent] = []
            if socket >= 0 {
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                    if count < 0 {
                        if errno == EINTR { continue }
                        if errno == ENOBUFS {
                            var now = timespec()
                            clock_gettime(CLOCK_MONOTONIC, &now)
                            now.tv_sec += 1
                            rescanAt = now
                            continue
                        }
                        break
                    }
                    guard let decoded = ProcessEvent.decode(buffer.prefix(count)) else { continue }
                    events.append(Self.complete(decoded, commandLines: commandLines))
                }
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if polling || rescanAt.map({ now.tv_sec >= $0.tv_sec }) == true {
                rescanAt = nil
                events.append(.rescan(ProcessTable.scan(commandLines: commandLines)))
            }
            if !events.isEmpty { onEvents(events) }
        }
    }

    /// The event with what `/proc` says of the process.
    static func complete(_ decoded: ProcessEvent.Decoded, commandLines: Bool) -> ProcessEvent {
        switch decoded {
        case .acknowledged(let error): return .acknowledged(error: error)
        case .fork(let parent, let child): return .fork(parent: parent, child: child)
        case .exit(let pid): return .exit(pid: pid)
        case .exec(let pid): return .exec(pid: pid, identity: ProcessTable.identity(of: pid, commandLine: commandLines))
        case .renamed(let pid, let name):
            let commandLine = commandLines ? ProcessTable.identity(of: pid, commandLine: true)?.commandLine : nil
            return .renamed(pid: pid, name: name, commandLine: commandLine)
        }
    }
}

/// The process connector's socket, opened once per VRRP worker in the initial network namespace (where the
/// kernel's connector is) and kept across reloads, idle (no group, not listening) until a `vrrp_track_process` is
/// tracked.
public enum ProcessConnector {
    private static let prepared = Mutex<Int32>(-1)

    /// Opens the socket while the worker still has CAP_SYS_ADMIN (entering the initial network namespace needs it);
    /// `vigild` calls it before the VRRP worker drops its capabilities. Failures are left for `take()` to retry.
    public static func prepare() {
        guard let fd = try? open() else { return }
        prepared.withLock { $0 = fd }
    }

    /// The prepared socket, or one opened now.
    static func take() throws(ProcessMonitorError) -> Int32 {
        let fd = prepared.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        return fd >= 0 ? fd : try open()
    }

    /// Keeps an unsubscribed socket for the next `take()`.
    static func giveBack(_ fd: Int32) {
        let previous = prepared.withLock { prepared in
            defer { prepared = fd }
            return prepared
        }
        if previous >= 0 && previous != fd { close(previous) }
    }

    /// A socket where the kernel's connector is: in this network namespace if it is the initial one, else in the
    /// first of init's and the daemon's ancestors' namespaces that has it (`ip netns exec` and systemd's
    /// `NetworkNamespacePath=` start the daemon from a process in the initial namespace).
    /// The corresponding C calls are `setns(CLONE_NEWNET)` and `socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR)`.
    static func open() throws(ProcessMonitorError) -> Int32 {
        let own = try socket()
        if probe(own) { return own }
        close(own)
        let result = Mutex<Int32>(-1)
        // The namespace is per thread: a thread of its own enters the candidates, and ends after.
        let created = WorkerThread.run(join: true) { result.withLock { $0 = openInOtherNamespace() } }
        guard created == 0 else {
            throw ProcessMonitorError(code: created, message: "process connector: pthread_create failed")
        }
        let fd = result.withLock { $0 }
        guard fd >= 0 else {
            throw ProcessMonitorError(
                code: ECONNREFUSED,
                message: "process connector: not in this network namespace, nor in one Vigil can enter "
                    + "(init's or an ancestor's)")
        }
        return fd
    }

    /// Tries init's network namespace, then each ancestor's; -1 when none has the connector or none can be entered.
    private static func openInOtherNamespace() -> Int32 {
        let own = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard own >= 0 else { return -1 }
        defer {
            _ = cvigil_setns_network(own)
            close(own)
        }
        var candidates: [Int32] = [1]
        var pid = getppid()
        while pid > 1 && candidates.count < 32 {
            candidates.append(pid)
            guard let stat = FileContents.bytes("/proc/\(pid)/stat", limit: 512),
                let end = stat.lastIndex(of: UInt8(ascii: ")"))
            else { break }
            // "PID (comm) S PPID …"
            let fields = stat[(end + 2)...].split(separator: UInt8(ascii: " "))
            guard fields.count > 1, let parent = Int32(String(decoding: fields[1], as: UTF8.self)) else { break }
            pid = parent
        }
        for candidate in candidates {
            let namespace = Glibc.open("/proc/\(candidate)/ns/net", O_RDONLY | O_CLOEXEC)
            guard namespace >= 0 else { continue }
            defer { close(namespace) }
            guard cvigil_setns_network(namespace) == 0, let fd = try? socket() else { continue }
            if probe(fd) { return fd }
            close(fd)
        }
        return -1
    }

    /// Whether the connector answers in the socket's namespace: a request with no operation (the kernel refuses
    /// the send, `ECONNREFUSED`, where it has no connector; elsewhere it answers EINVAL, to every listener).
    private static func probe(_ fd: Int32) -> Bool {
        // Its EINVAL answer goes to every listener: an ack that is not `requestCookie`'s, so no one takes it for theirs.
        let message = request(operation: 0, ack: ProcessEvent.requestCookie ^ 0x8000_0000)
        return message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } == message.count
    }

    /// A `PROC_CN_MCAST_*` request: nlmsghdr (len, type NLMSG_DONE, flags, seq, pid), cn_msg (idx, val, seq, ack,
    /// len 4, flags), the operation.
    private static func request(operation: UInt32, ack: UInt32 = ProcessEvent.requestCookie) -> [UInt8] {
        var message: [UInt8] = []
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { message += $0 } }
        func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { message += $0 } }
        append(40)
        append16(3)
        append16(0)
        append(0)
        append(0)
        append(ProcessEvent.connectorIndex)
        append(ProcessEvent.connectorValue)
        append(0)
        append(ack)
        append16(4)
        append16(0)
        append(operation)
        return message
    }

    private static func failure(_ what: String) -> ProcessMonitorError {
        let code = errno
        return ProcessMonitorError(
            code: code, message: "process connector: \(what): \(String(cString: strerror(code)))")
    }

    private static func socket() throws(ProcessMonitorError) -> Int32 {
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = Glibc.socket(AF_NETLINK, type, 11)  // NETLINK_CONNECTOR
        guard fd >= 0 else { throw failure("socket") }
        // struct sockaddr_nl: family, pad, pid (0: the kernel picks), groups (none yet).
        var address = NetlinkAddress(family: UInt16(AF_NETLINK))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
            }
        }
        guard bound == 0 else {
            let error = failure("bind")
            close(fd)
            throw error
        }
        // Room for bursts (a fork storm of builds); a loss is recovered by a rescan anyway.
        var size: Int32 = 1 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// Joins (or leaves) the `CN_IDX_PROC` group and asks the kernel to send (or stop sending) process events.
    /// The corresponding C calls are `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP)` and `send` of
    /// `PROC_CN_MCAST_LISTEN` / `PROC_CN_MCAST_IGNORE` (which needs CAP_NET_ADMIN).
    static func listen(_ fd: Int32, _ on: Bool) throws(ProcessMonitorError) {
        var group = ProcessEvent.connectorIndex
        // SOL_NETLINK 270; NETLINK_ADD_MEMBERSHIP 1, NETLINK_DROP_MEMBERSHIP 2.
        guard setsockopt(fd, 270, on ? 1 : 2, &group, socklen_t(MemoryLayout<UInt32>.size)) == 0 || !on else {
            throw failure("joining the process events group")
        }
        let message = request(operation: on ? 1 : 2)  // PROC_CN_MCAST_LISTEN, PROC_CN_MCAST_IGNORE
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw failure(on ? "subscribing to process events" : "unsubscribing") }
    }
}

/// `struct sockaddr_nl` (linux/netlink.h), laid out as the kernel reads it.
private struct NetlinkAddress {
    var family: UInt16
    var pad: UInt16 = 0
    var pid: UInt32 = 0
    var groups: UInt32 = 0
}
