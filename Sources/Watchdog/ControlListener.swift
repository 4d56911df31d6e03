import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The control socket `vigilctl` connects to: a listening `SOCK_SEQPACKET` Unix socket, mode 0600, in a directory
/// no other user can write, owned for the daemon's life through a lock file beside it (`PATH.lock`, holding the
/// daemon's pid once the socket listens).
struct ControlListener {
    let fd: Int32
    let path: String
    private let lock: PidFile

    /// The lock file of the control socket at `path`.
    static func lockPath(_ path: String) -> String { path + ".lock" }

    /// Creates the socket (and its directory, mode 0700), replacing a stale socket left by a crash.
    /// - Throws: a `WatchdogError` when the directory is writable by another user, another vigild holds the lock,
    ///   or a live process answers on the socket (a vigild started without the lock, or another program).
    static func open(_ path: String) throws(WatchdogError) -> ControlListener {
        try Syscalls.makePrivateDirectory(directoryName(path))
        let lock = try takeLock(path)
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw WatchdogError(code: EEXIST, "\(path) exists and is not a socket; not replacing it")
            }
            if answers(path) {
                throw WatchdogError(
                    code: EADDRINUSE,
                    "a live process answers on the control socket \(path); not replacing it (stop it, or give this "
                        + "vigild another --control-socket)")
            }
            unlink(path)
        }
        let fd = socket(
            AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .errno("socket") }
        // Mode 0600 from the start: no window in which another user could connect.
        let oldMask = umask(0o177)
        let result = withUnixSocketAddress(path) { bind(fd, $0, $1) }
        umask(oldMask)
        guard let bound = result else {
            Glibc.close(fd)
            throw WatchdogError(code: ENAMETOOLONG, "control socket path \(path) is too long")
        }
        guard bound == 0 else {
            let error = WatchdogError.errno("bind \(path)")
            Glibc.close(fd)
            throw error
        }
        guard listen(fd, 16) == 0 else {
            let error = WatchdogError.errno("listen \(path)")
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        do {
            try lock.write(getpid())
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        return ControlListener(fd: fd, path: path, lock: lock)
    }

    /// Fails as `open` would when the directory is unsafe or another vigild owns `path`, without taking it
    /// (`vigild` checks before it detaches, so the error reaches the terminal).
    static func checkAvailable(_ path: String) throws(WatchdogError) {
        try Syscalls.makePrivateDirectory(directoryName(path))
        let lock = try takeLock(path)
        defer { lock.release() }
        if answers(path) {
            throw WatchdogError(code: EADDRINUSE, "a live process answers on the control socket \(path); not starting")
        }
    }

    private static func takeLock(_ path: String) throws(WatchdogError) -> PidFile {
        do {
            return try PidFile(locking: lockPath(path))
        } catch  where error.code == EAGAIN || error.code == EACCES {
            let holder = Daemon.readPid(lockPath(path)).map { " (pid \($0))" } ?? ""
            throw WatchdogError(
                code: error.code, "another vigild\(holder) owns the control socket \(path); not starting")
        }
    }

    /// Whether something accepts connections on the socket at `path` (a non-blocking connect: a full backlog
    /// also means a live listener).
    static func answers(_ path: String) -> Bool {
        let probe = socket(
            AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { Glibc.close(probe) }
        let result = withUnixSocketAddress(path) { connect(probe, $0, $1) }
        return result == 0 || (result != nil && (errno == EAGAIN || errno == EINPROGRESS))
    }

    /// Stops listening, removes the socket, then releases the lock.
    func close() {
        unlink(path)
        Glibc.close(fd)
        lock.remove()
    }
}
