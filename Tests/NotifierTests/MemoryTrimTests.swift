import Testing

@testable import Notifier

@Suite struct MemoryTrimTests {
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

    /// On this test process: the trim gives memory back and the process goes on running the code it dropped.
    @Test func trimsThisProcessAndItKeepsRunning() {
        let report = MemoryTrim.trim()
        #expect(report.mappings > 0)
        #expect(report.residentKiBAfter < report.residentKiBBefore, "\(report)")
        #expect((1...1000).reduce(0, +) == 500_500)
    }
}
