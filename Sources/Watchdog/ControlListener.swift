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
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw WatchdogError(code: ENAMETOOLONG, "control socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        // Mode 0600 from the start: no window in which another user could connect.
        let oldMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        umask(oldMask)
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
