import CVigilShim
import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

/// Serialized: two of these tests trim this process, and a trim drops every clean read-only mapping, the other test's
/// too, between its steps.
@Suite(.serialized) struct MemoryTrimTests {
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
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let file = try Self.temporaryFile("trim", holding: bytes)
        defer { close(file) }
        let mapped = try Self.map(file, size: size, protection: PROT_READ)
        defer { munmap(mapped, size) }
        let start = UInt(bitPattern: mapped)
        var sum = 0
        for page in 0..<pageCount {
            sum &+= Int(mapped.load(fromByteOffset: page * Int(getpagesize()), as: UInt8.self))
        }
        let before = try #require(Self.mapping(containing: start)?.residentKiB)
        #expect(before == size / 1024, "every page read was resident")

        let report = MemoryTrim.trim()
        #expect(report.mappings > 0)
        let after = try #require(Self.mapping(containing: start)?.residentKiB)
        #expect(after == 0, "the trim dropped the clean mapping (\(report))")

        let again = UnsafeRawBufferPointer(start: mapped, count: size)
        #expect(again.elementsEqual(bytes), "the pages come back with the file's contents")
        #expect(sum > 0)
        #expect((1...1000).reduce(0, +) == 500_500)
    }

    /// The executable's `.rodata` is found where this process maps it: the bytes there are the file's bytes at the
    /// offset its mapping gives. A section the file does not have is not found.
    @Test func findsTheExecutablesReadOnlyData() throws {
        var start: UInt = 0
        var size = 0
        try #require(cvigil_executable_section(".rodata", &start, &size) == 0)
        #expect(size > 0)
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        try #require(length > 0)
        let exe = String(decoding: path[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let mapping = try #require(Self.mapping(containing: start), "no mapping holds \(String(start, radix: 16))")
        #expect(mapping.path == exe)
        let offset = mapping.offset + (start - mapping.range.lowerBound)
        let count = min(size, 4096)
        let file = open(exe, O_RDONLY)
        try #require(file >= 0)
        defer { close(file) }
        var bytes = [UInt8](repeating: 0, count: count)
        try #require(bytes.withUnsafeMutableBytes { pread(file, $0.baseAddress, count, off_t(offset)) } == count)
        let mapped = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: start), count: count)
        #expect(mapped.elementsEqual(bytes))
        #expect(cvigil_executable_section(".vigil.no-such-section", &start, &size) == -1)
    }

    /// A private, writable file mapping whose pages were only read is made read-only, and the next trim gives it
    /// back (`trimsThisProcessAndItKeepsRunning`'s way); one with a page written is left writable, its write kept.
    @Test func protectsOnlyUnwrittenPages() throws {
        let pageSize = Int(getpagesize())
        let size = 8 * pageSize
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let file = try Self.temporaryFile("protect", holding: bytes)
        defer { close(file) }
        let read = try Self.map(file, size: size, protection: PROT_READ | PROT_WRITE)
        defer { munmap(read, size) }
        let written = try Self.map(file, size: size, protection: PROT_READ | PROT_WRITE)
        defer { munmap(written, size) }
        var sum = 0
        for page in 0..<8 {
            sum &+= Int(read.load(fromByteOffset: page * pageSize, as: UInt8.self))
            sum &+= Int(written.load(fromByteOffset: page * pageSize, as: UInt8.self))
        }
        written.storeBytes(of: 0xEE, toByteOffset: 3 * pageSize + 5, as: UInt8.self)
        let readRange = UInt(bitPattern: read)..<UInt(bitPattern: read) + UInt(size)
        let writtenRange = UInt(bitPattern: written)..<UInt(bitPattern: written) + UInt(size)
        #expect(MemoryTrim.unwritten(readRange))
        #expect(!MemoryTrim.unwritten(writtenRange))
        #expect(MemoryTrim.unwritten(writtenRange.lowerBound..<writtenRange.lowerBound + UInt(3 * pageSize)))

        #expect(MemoryTrim.protectUnwritten(readRange))
        #expect(!MemoryTrim.protectUnwritten(writtenRange))
        #expect(Self.mapping(containing: readRange.lowerBound)?.permissions == "r--p")
        #expect(Self.mapping(containing: writtenRange.lowerBound)?.permissions == "rw-p")
        #expect(Self.mapping(containing: readRange.lowerBound)?.residentKiB == size / 1024)

        MemoryTrim.trim()
        #expect(
            Self.mapping(containing: readRange.lowerBound)?.residentKiB == 0, "the trim gave the protected pages back")
        #expect(UnsafeRawBufferPointer(start: read, count: size).elementsEqual(bytes), "and they read the same")
        #expect(written.load(fromByteOffset: 3 * pageSize + 5, as: UInt8.self) == 0xEE, "the write is kept")
        written.storeBytes(of: 0xEF, toByteOffset: 5 * pageSize, as: UInt8.self)
        #expect(sum > 0)
    }

    /// A file holding `bytes`, open for reading and already unlinked.
    static func temporaryFile(_ name: String, holding bytes: [UInt8]) throws -> Int32 {
        let path = "/tmp/vigil-\(name)-test-\(getpid())"
        let file = open(path, O_CREAT | O_TRUNC | O_RDWR, 0o600)
        try #require(file >= 0)
        unlink(path)
        try #require(bytes.withUnsafeBytes { write(file, $0.baseAddress, bytes.count) } == bytes.count)
        return file
    }

    /// `file`'s first `size` bytes mapped private with `protection`.
    static func map(_ file: Int32, size: Int, protection: Int32) throws -> UnsafeMutableRawPointer {
        let mapped = try #require(mmap(nil, size, protection, MAP_PRIVATE, file, 0))
        try #require(mapped != MAP_FAILED)
        return mapped
    }

    /// One mapping of this process, as `/proc/self/smaps` describes it.
    struct Mapping {
        var range: Range<UInt>
        /// `r--p`, `rw-p`, …
        var permissions: String
        /// Where in its file the mapping starts.
        var offset: UInt
        var path: String
        var residentKiB: Int?
    }

    /// The mapping of `/proc/self/smaps` that holds `address`.
    static func mapping(containing address: UInt) -> Mapping? {
        guard let smaps = FileContents.read("/proc/self/smaps", limit: 64 << 20) else { return nil }
        var found: Mapping?
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // A mapping's first line: `START-END PERMS OFFSET DEV INODE [PATH]`; then `Key: value kB` lines.
            if let first = fields.first, !first.hasSuffix(":"), fields.count >= 5 {
                if found != nil { break }
                let bounds = first.split(separator: "-").compactMap { UInt($0, radix: 16) }
                guard bounds.count == 2, bounds[0] <= address, address < bounds[1],
                    let offset = UInt(fields[2], radix: 16)
                else { continue }
                found = Mapping(
                    range: bounds[0]..<bounds[1], permissions: String(fields[1]), offset: offset,
                    path: fields.count > 5 ? fields[5...].joined(separator: " ") : "")
            } else if found != nil, fields.first == "Rss:", fields.count >= 2 {
                found?.residentKiB = Int(fields[1])
            }
        }
        return found
    }
}
