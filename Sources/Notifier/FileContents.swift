#if canImport(Glibc)
    import Glibc
#endif

/// Small file reads and writes for the workers' shells, without Foundation.
public enum FileContents {
    /// Up to `limit` bytes of `path` as UTF-8 text, or `nil` when it cannot be opened or read.
    public static func read(_ path: String, limit: Int) -> String? {
        bytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Up to `limit` bytes of `path`, read until its end: a `/proc` file gives at most a page per `read`
    /// (`/proc/self/smaps`, a long `cmdline`). `nil` when it cannot be opened, or its first `read` fails (a FIFO
    /// without data: the file is opened non-blocking, so neither the open nor a read waits for a writer).
    public static func bytes(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(1, min(limit, 65536)))
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return bytes.isEmpty ? nil : bytes }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    /// `track_file`'s `init_file VALUE [overwrite]` (keepalived's `track_file_end_handler`): writes `VALUE` and a
    /// newline when the file is missing; with `overwrite`, also over an existing regular file.
    /// - Parameter overwrite: `overwrite` was written and this is the daemon's start (never at a reload).
    /// - Returns: false when the file had to be written and could not be.
    public static func initializeTrackFile(_ path: String, value: Int, overwrite: Bool) -> Bool {
        var status = stat()
        if stat(path, &status) == 0 {
            guard overwrite, status.st_mode & S_IFMT == S_IFREG else { return true }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array("\(value)\n".utf8)
        var written: Int
        repeat { written = Glibc.write(fd, bytes, bytes.count) } while written < 0 && errno == EINTR
        return written == bytes.count
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

    /// The entries of `directory` named by a number (`/proc`'s processes, `/proc/self/task`'s threads); empty when
    /// it cannot be read.
    public static func numberedEntries(of directory: String) -> [Int32] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var numbers: [Int32] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let number = Int32(name), number > 0 { numbers.append(number) }
        }
        return numbers
    }
}
