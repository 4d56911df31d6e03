import CVigilShim
import Notifier

#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call in the watchdog, naming what it was done to.
public struct WatchdogError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32 = 0, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `what: strerror(errno)`, reading errno now.
    static func errno(_ what: String) -> WatchdogError {
        let code = Glibc.errno
        return WatchdogError(code: code, "\(what): \(String(cString: strerror(code)))")
    }

    public var description: String { message }
}

/// The raw calls of the watchdog's shell, each retried on EINTR.
enum Syscalls {
    /// Starts `path` with `arguments` (argv[0] included) via posix_spawn: no Swift runs in the child.
    /// - Parameters:
    ///   - inherit: descriptors to place at fixed numbers in the child (`source`, `target`); every
    ///     other descriptor of ours is close-on-exec.
    ///   - newSession: POSIX_SPAWN_SETSID (detaching).
    ///   - nullStdio: stdin, stdout and stderr from /dev/null.
    /// The child starts with an empty signal mask and default signal handlers.
    static func spawn(
        _ path: String, _ arguments: [String], inherit: [(source: Int32, target: Int32)] = [],
        newSession: Bool = false, nullStdio: Bool = false
    ) throws(WatchdogError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if nullStdio {
            for fd: Int32 in 0...2 {
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        for (source, target) in inherit {
            // dup2 clears close-on-exec on the copy; sources are never below 10, so never equal.
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= cvigil_spawn_setsid_flag() }
        posix_spawnattr_setflags(&attributes, flags)

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        // A worker starts with transparent huge pages as vigild was started with, and turns them off itself.
        let result = HugePages.asStarted { posix_spawn(&pid, path, &actions, &attributes, argv, environ) }
        guard result == 0 else {
            throw WatchdogError(code: result, "posix_spawn \(path): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// A copy of `fd` numbered at least 10, close-on-exec.
    static func duplicateHigh(_ fd: Int32) throws(WatchdogError) -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, Int32(10))
        guard copy >= 0 else { throw .errno("fcntl F_DUPFD_CLOEXEC") }
        return copy
    }

    /// Reaps one ended child without blocking.
    static func reapChild() -> (pid: pid_t, exit: WorkerExit)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0 else { return nil }
            // WIFEXITED / WTERMSIG by hand: the macros do not import.
            let signal = status & 0x7f
            if signal == 0 { return (pid, .exited((status >> 8) & 0xff)) }
            if signal != 0x7f { return (pid, .signaled(signal)) }
        }
    }

    /// Blocks `signals` and returns a signalfd that reports them (non-blocking, close-on-exec).
    static func signalDescriptor(_ signals: [Int32]) throws(WatchdogError) -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        guard sigprocmask(SIG_BLOCK, &mask, nil) == 0 else { throw .errno("sigprocmask") }
        let fd = cvigil_signalfd(&mask)
        guard fd >= 0 else { throw .errno("signalfd") }
        return fd
    }

    /// The signals pending on a signalfd.
    static func readSignals(_ fd: Int32) -> [Int32] {
        var signals: [Int32] = []
        while case let signal = cvigil_read_signal(fd), signal > 0 {
            signals.append(signal)
        }
        return signals
    }

    /// `/proc/PID/stat` of a child, parsed; nil once it is gone or unreadable.
    static func startupProgress(_ pid: pid_t) -> StartupProgress? {
        FileContents.read("/proc/\(pid)/stat", limit: 1024).flatMap(StartupProgress.init(procStat:))
    }

    /// poll(2) over `descriptors`, retried on EINTR by returning no events.
    static func poll(_ descriptors: inout [pollfd], timeoutMilliseconds: Int32) {
        _ = Glibc.poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
    }

    /// Creates `path` (a directory for sockets and dumps) mode 0700 unless it is already a directory; refuses a
    /// symlink in its place, and a directory another user owns or may write: there they could replace the control
    /// socket with their own and receive root's `vigilctl stop` (or plant the dumps).
    static func makePrivateDirectory(_ path: String) throws(WatchdogError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw .errno("mkdir \(path)") }
            guard lstat(path, &info) == 0 else { throw .errno("stat \(path)") }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw WatchdogError(code: ENOTDIR, "\(path) exists and is not a directory")
        }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            throw WatchdogError(
                code: EPERM, "\(path) belongs to uid \(info.st_uid), who could replace the control socket; not using it"
            )
        }
        let writable = info.st_mode & 0o022
        guard writable == 0 else {
            let who = writable == 0o022 ? "group and others" : writable == 0o020 ? "its group" : "others"
            throw WatchdogError(
                code: EPERM,
                "\(path) is writable by \(who) (mode \(String(info.st_mode & 0o7777, radix: 8))), who could replace the "
                    + "control socket; not using it (chmod go-w \(path))")
        }
    }

    /// Writes `text` to `path` through a new file created O_EXCL|O_NOFOLLOW mode 0600 and renamed into
    /// place, so a symlink or file planted there is never followed (keepalived's CVE-2018-19044..19046)
    /// and a reader never sees half a dump.
    static func writeNewFile(_ path: String, _ text: String) throws(WatchdogError) {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .errno("create \(temporary)") }
        do {
            try writeAll(fd, text, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = WatchdogError.errno("rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// Writes `text` over what `path` holds (created mode 0644 if missing), in place: `path` may be /dev/null or
    /// a file another program holds open (`reload_check_config`'s log).
    static func replaceFileContents(_ path: String, _ text: String) throws(WatchdogError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .errno("open \(path)") }
        defer { close(fd) }
        try writeAll(fd, text, path: path)
    }

    static func writeAll(_ fd: Int32, _ text: String, path: String) throws(WatchdogError) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .errno("write \(path)")
            }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// Directory part of a path ("." for a bare name).
func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// A worker thread's `/proc/PID/task/TID/stat` and `schedstat`, held open and read again with `pread` at each round
/// of pings (`ThreadActivity`).
///
/// Opened by path at each round, the two files cost an open, a walk through `/proc` and a close each, and the text
/// they gave was split into strings: a quarter of an idle watchdog's CPU (BENCHMARKS.md, 2026-12-04). The
/// descriptors also name the thread itself rather than its number: once it has exited they read nothing, even if
/// the kernel gives its number to another thread.
final class ThreadActivityReader {
    let pid: pid_t
    let thread: Int32
    private let stat: Int32
    private let schedstat: Int32

    /// Nil when the thread is gone, or the kernel keeps no schedstat (CONFIG_SCHED_INFO).
    init?(pid: pid_t, thread: Int32) {
        let base = "/proc/\(pid)/task/\(thread)/"
        let stat = open(base + "stat", O_RDONLY | O_CLOEXEC)
        guard stat >= 0 else { return nil }
        let schedstat = open(base + "schedstat", O_RDONLY | O_CLOEXEC)
        guard schedstat >= 0 else {
            close(stat)
            return nil
        }
        self.pid = pid
        self.thread = thread
        self.stat = stat
        self.schedstat = schedstat
    }

    deinit {
        close(stat)
        close(schedstat)
    }

    /// The thread's scheduling now; nil once it is gone (the kernel answers ESRCH) or the files are not what it
    /// writes.
    func read() -> ThreadActivity? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { statBuffer in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { schedstatBuffer in
                guard let statBytes = Self.read(stat, into: statBuffer),
                    let schedstatBytes = Self.read(schedstat, into: schedstatBuffer)
                else { return nil }
                return ThreadActivity(stat: statBytes, schedstat: schedstatBytes)
            }
        }
    }

    /// The whole file from its start (one `pread`: both files are far shorter than a page), retried on EINTR.
    private static func read(_ fd: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>) -> UnsafeBufferPointer<
        UInt8
    >? {
        while true {
            let count = pread(fd, buffer.baseAddress, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            return UnsafeBufferPointer(rebasing: buffer[..<count])
        }
    }
}
