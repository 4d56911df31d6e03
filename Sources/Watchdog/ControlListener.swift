import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The control socket `vigilctl` connects to: a listening `SOCK_SEQPACKET` Unix socket, mode 0600.
enum ControlListener {
    /// Creates the socket (and its directory, mode 0700), replacing a stale socket left by a crash.
    /// The pid file lock is already held, so no live daemon owns the old one.
    static func open(_ path: String) throws(WatchdogError) -> Int32 {
        try Syscalls.makePrivateDirectory(directoryName(path))
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw WatchdogError(code: EEXIST, "\(path) exists and is not a socket; not replacing it")
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
            throw error
        }
        return fd
    }

    static func close(_ fd: Int32, path: String) {
        guard fd >= 0 else { return }
        unlink(path)
        Glibc.close(fd)
    }
}
