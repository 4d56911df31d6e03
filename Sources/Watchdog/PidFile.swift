import CVigilShim

#if canImport(Glibc)
    import Glibc
#endif

/// A pid file held with an open file description lock for the life of the daemon, so a second
/// `vigild` with the same pid file refuses to start (the lock dies with the process, never stale).
public final class PidFile {
    public let path: String
    private var fd: Int32

    /// Opens (O_NOFOLLOW) and locks `path`, then writes `pid` into it.
    /// - Throws: a `WatchdogError` naming the running daemon when another process holds the lock.
    public convenience init(path: String, pid: pid_t) throws(WatchdogError) {
        try self.init(locking: path)
        try write(pid)
    }

    /// Opens (O_NOFOLLOW) and locks `path`, leaving its contents alone until `write`.
    /// - Throws: a `WatchdogError` (code `EAGAIN` or `EACCES`) when another process holds the lock.
    public init(locking path: String) throws(WatchdogError) {
        self.path = path
        fd = try Self.lock(path)
    }

    /// Replaces the file's contents with `pid`.
    public func write(_ pid: pid_t) throws(WatchdogError) {
        _ = ftruncate(fd, 0)
        _ = lseek(fd, 0, SEEK_SET)
        try Syscalls.writeAll(fd, "\(pid)\n", path: path)
    }

    /// Checks that `path` is not locked by a running daemon, without keeping it.
    public static func checkFree(_ path: String) throws(WatchdogError) {
        close(try lock(path))
    }

    private static func lock(_ path: String) throws(WatchdogError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .errno("cannot open pid file \(path)") }
        guard cvigil_lock_file(fd) == 0 else {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let pid = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).filter(\.isNumber)
            if code == EAGAIN || code == EACCES {
                throw WatchdogError(
                    code: code,
                    "another vigild\(pid.isEmpty ? "" : " (pid \(pid))") is running with pid file \(path); not starting"
                )
            }
            throw WatchdogError(code: code, "cannot lock pid file \(path): \(String(cString: strerror(code)))")
        }
        return fd
    }

    /// Removes the file, then releases the lock.
    public func remove() {
        guard fd >= 0 else { return }
        unlink(path)
        release()
    }

    /// Releases the lock and leaves the file in place (a check that took the lock only to see it was free).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { remove() }
}

/// An unlocked pid file for a worker, written by the watchdog for each incarnation.
enum WorkerPidFile {
    static func write(_ path: String, pid: pid_t) {
        try? Syscalls.writeNewFile(path, "\(pid)\n")
    }
}
