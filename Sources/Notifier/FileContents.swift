#if canImport(Glibc)
    import Glibc
#endif

/// Small file reads and writes for the workers' shells, without Foundation.
public enum FileContents {
    /// Up to `limit` bytes of `path` as UTF-8 text, or `nil` when it cannot be opened or read.
    public static func read(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var count: Int
        repeat { count = Glibc.read(fd, &buffer, limit) } while count < 0 && errno == EINTR
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Writes `text` to an existing file (a `/proc/sys` value); false when it cannot be opened or written whole.
    @discardableResult
    public static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written: Int
        repeat { written = Glibc.write(fd, bytes, bytes.count) } while written < 0 && errno == EINTR
        return written == bytes.count
    }
}
