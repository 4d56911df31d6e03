import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct MemoryTrimTests {
    /// The log line's trim time: milliseconds with one decimal, rounded down.
    @Test func trimTimeReadsInMilliseconds() {
        #expect(MemoryTrim.Report.milliseconds(.zero) == "0.0")
        #expect(MemoryTrim.Report.milliseconds(.microseconds(1_960)) == "1.9")
        #expect(MemoryTrim.Report.milliseconds(.milliseconds(15) + .microseconds(700)) == "15.7")
        #expect(MemoryTrim.Report.milliseconds(.seconds(2) + .microseconds(50)) == "2000.0")
    }

    /// Only private, read-only file mappings with no written page are dropped: relocated data (RELRO, with anonymous
    /// pages), writable data, the heap and the vDSO are kept.
    @Test func picksOnlyCleanReadOnlyFileMappings() {
        let smaps = """
            55d000000000-55d000b8d000 r-xp 00000000 fe:00 131 /usr/sbin/vigild
            Size:              11828 kB
            Rss:                5228 kB
            Anonymous:             0 kB
            VmFlags: rd ex mr mw me dw
            55d000b8e000-55d000be9000 r--p 00b8d000 fe:00 131 /usr/sbin/vigild
            Rss:                 364 kB
            Anonymous:           364 kB
            55d000be9000-55d000cbd000 rw-p 00be8000 fe:00 131 /usr/sbin/vigild
            Anonymous:            88 kB
            55d000cbd000-55d000cc1000 rw-p 00000000 00:00 0
            Anonymous:            16 kB
            7f0000000000-7f0000004000 r--p 00000000 fe:00 77 /usr/lib/x86_64-linux-gnu/libc.so.6
            Anonymous:             0 kB
            7f0000010000-7f0000020000 r-xp 00000000 fe:00 78 /opt/swift lib/libswiftCore.so
            Anonymous:             0 kB
            7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
            Anonymous:             0 kB
            """
        let mappings = MemoryTrim.droppableMappings(smaps: smaps)
        #expect(
            mappings == [
                .init(start: 0x55d0_0000_0000, end: 0x55d0_00b8_d000, path: "/usr/sbin/vigild"),
                .init(start: 0x7f00_0000_0000, end: 0x7f00_0000_4000, path: "/usr/lib/x86_64-linux-gnu/libc.so.6"),
                .init(start: 0x7f00_0001_0000, end: 0x7f00_0002_0000, path: "/opt/swift lib/libswiftCore.so"),
            ])
    }

    /// A mapping whose smaps entry has no `Anonymous:` line is not known to be clean and is kept.
    @Test func keepsAMappingOfUnknownState() {
        let smaps = "7f0000000000-7f0000004000 r-xp 00000000 fe:00 77 /usr/lib/libx.so\nRss: 16 kB\n"
        #expect(MemoryTrim.droppableMappings(smaps: smaps).isEmpty)
    }

    /// On this test process: the trim drops a clean file mapping's pages and the process reads the same bytes again
    /// afterwards. The test maps a file of its own and reads its resident size from smaps: the process's whole RSS is no
    /// measure here, since the tests running beside this one allocate while it runs (it grew by 180 KiB under TSan).
    @Test func trimsThisProcessAndItKeepsRunning() throws {
        let pageCount = 64
        let size = pageCount * Int(getpagesize())
        let path = "/tmp/vigil-trim-test-\(getpid())"
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let file = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o600)
        try #require(file >= 0)
        defer {
            close(file)
            unlink(path)
        }
        try #require(bytes.withUnsafeBytes { write(file, $0.baseAddress, size) } == size)
        let mapped = try #require(mmap(nil, size, PROT_READ, MAP_PRIVATE, file, 0))
        try #require(mapped != MAP_FAILED)
        defer { munmap(mapped, size) }
        let start = UInt(bitPattern: mapped)
        var sum = 0
        for page in 0..<pageCount {
            sum &+= Int(mapped.load(fromByteOffset: page * Int(getpagesize()), as: UInt8.self))
        }
        let before = try #require(Self.residentKiB(ofMappingAt: start))
        #expect(before == size / 1024, "every page read was resident")

        let report = MemoryTrim.trim()
        #expect(report.mappings > 0)
        let after = try #require(Self.residentKiB(ofMappingAt: start))
        #expect(after == 0, "the trim dropped the clean mapping (\(report))")

        let again = UnsafeRawBufferPointer(start: mapped, count: size)
        #expect(again.elementsEqual(bytes), "the pages come back with the file's contents")
        #expect(sum > 0)
        #expect((1...1000).reduce(0, +) == 500_500)
    }

    /// The `Rss:` of the mapping of `/proc/self/smaps` that starts at `start`, in KiB.
    static func residentKiB(ofMappingAt start: UInt) -> Int? {
        guard let smaps = FileContents.read("/proc/self/smaps", limit: 64 << 20) else { return nil }
        let prefix = String(start, radix: 16) + "-"
        var inside = false
        for line in smaps.split(separator: "\n") {
            let first = line.prefix { $0 != " " }
            if first.contains("-"), !first.hasSuffix(":") {
                inside = line.hasPrefix(prefix)
            } else if inside, line.hasPrefix("Rss:") {
                return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            }
        }
        return nil
    }
}
