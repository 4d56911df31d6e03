#if canImport(Glibc)
    import Glibc
#endif

/// Small file reads for the notifier's shell.
enum FileContents {
    /// Up to `limit` bytes of `path` as UTF-8 text, or `nil` when it cannot be opened or read.
    static func read(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var count: Int
        repeat { count = Glibc.read(fd, &buffer, limit) } while count < 0 && errno == EINTR
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
