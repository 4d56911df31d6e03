import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileContentsTests {
    /// A `/proc` file gives at most a page per `read`: `/proc/self/smaps` (tens of KiB) is read to its end, not cut
    /// at the first page, and its last mapping (the vsyscall page or the stack) is in what was read.
    @Test func readsAProcFileToItsEnd() throws {
        let smaps = try #require(FileContents.read("/proc/self/smaps", limit: 64 << 20))
        #expect(smaps.utf8.count > 4096 * 2)
        let mappings = smaps.split(separator: "\n").filter { $0.contains("-") && $0.first?.isHexDigit == true }
        #expect(mappings.count > 10)
        #expect(smaps.hasSuffix("\n"))
        #expect(smaps.contains("[stack]") || smaps.contains("[vsyscall]"))
    }

    /// The limit is a limit: a longer file gives its first `limit` bytes.
    @Test func stopsAtTheLimit() throws {
        let bytes = try #require(FileContents.bytes("/proc/self/maps", limit: 100))
        #expect(bytes.count == 100)
    }

    /// A FIFO without a writer, or without data, neither blocks the open nor the read.
    @Test func aFIFONeverBlocks() throws {
        let path = "/tmp/vigil-fifo-\(getpid())"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let contents = FileContents.bytes(path, limit: 64)
        #expect(contents == nil || contents == [])
        #expect(FileContents.read("/nonexistent/vigil", limit: 64) == nil)
    }
}
