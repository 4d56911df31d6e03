import CVigilShim
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Gives back what a (re)load touched once and will not touch again, so that a process's resident memory is what
/// its steady state uses rather than what parsing and applying a configuration once needed.
///
/// Two kinds of memory are given back:
/// - **Free heap**: `malloc_trim(0)` returns the arenas' free pages to the kernel (the parse tree, the file text, the
///   encoded messages freed after a load).
/// - **Code and read-only data of the binary and its libraries that start-up read once.** A file mapping that the
///   process never wrote to (no copy-on-write page: `Anonymous: 0 kB` in `/proc/self/smaps`, not writable) holds only
///   copies of the file's pages. `MADV_DONTNEED` unmaps them from this process; the page cache keeps them, and a page
///   the process touches again is mapped back from it, with the same contents, on its next fault. This is what the
///   kernel does itself to those pages under memory pressure, so it adds no new way to fail. A mapping with a written
///   page (relocated data, RELRO) is never touched: dropping it would lose the writes.
///
/// **vigild's `.rodata` is made read-only first** (`protectsReadOnlyData`, once per process). The Swift compiler puts a
/// few of its constants (protocol conformance descriptors and the like: about 130 KiB of the static runtime's and
/// vigild's own) in sections named `.rodata` but flagged writable, and the linker merges every `.rodata` input into one
/// output section with the union of their flags: vigild's 2.5 MiB of constants (Unicode tables, strings, type
/// descriptors) sit in its writable data segment, where a trim must not drop them. Each process read 1.4 MiB of them
/// through the kernel's 64 KiB fault-around and kept them for good. The dynamic linker writes none of them (no
/// relocation there is dynamic) and neither does the running program; the first trim checks this in
/// `/proc/self/pagemap` (every resident page of the section is still the file's page), then `mprotect`s the pages
/// wholly inside the section read-only, and checks again, which a write can no longer race: a page written in between
/// makes it undo the protection and leave the section as it was. From then on the section is a read-only file
/// mapping with no written page, given back by each trim like the code.
public enum MemoryTrim {
    /// Set first thing in vigild (every process): the first trim write-protects the executable's `.rodata` so later
    /// trims can give it back (see the type's doc). Not set in the test processes, whose executable is not vigild.
    public static let protectsReadOnlyData = Atomic<Bool>(false)

    /// The first trim of this process looked at `.rodata` (`protectsReadOnlyData`).
    static let readOnlyDataLookedAt = Atomic<Bool>(false)

    /// `…_no_swap`: set by the worker's process settings at its start. The first trim locks the process once it has
    /// given back what start-up alone needed, so the lock holds the steady state, not the parse; later trims leave
    /// the locked mappings alone. (A real-time worker with an RLIMIT_RTTIME under `looseRealtimeBudget` locks at its
    /// start instead.)
    public static let locksAfterTrim = Atomic<Bool>(false)

    /// One mapping of `/proc/self/smaps` that can be dropped: `[start, end)`.
    public struct Mapping: Equatable, Sendable {
        public let start: UInt
        public let end: UInt
        public let path: String
    }

    /// The mappings of `smaps` (the text of `/proc/PID/smaps`) that are file-backed, private, not writable and hold
    /// no written (anonymous) page.
    public static func droppableMappings(smaps: String) -> [Mapping] {
        var found: [Mapping] = []
        var current: Mapping?
        var clean = false
        func close() {
            if let current, clean { found.append(current) }
            current = nil
        }
        for line in smaps.split(separator: "\n", omittingEmptySubsequences: true) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-"), !first.hasSuffix(":"), fields.count >= 5 {
                close()
                let bounds = first.split(separator: "-")
                let permissions = fields[1]
                guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                    fields.count >= 6, fields[5].hasPrefix("/"),
                    permissions == "r-xp" || permissions == "r--p"
                else { continue }
                current = Mapping(start: start, end: end, path: fields[5...].joined(separator: " "))
                clean = false
            } else if first == "Anonymous:", fields.count >= 2 {
                clean = fields[1] == "0"
            }
        }
        close()
        return found
    }

    /// What one trim gave back.
    public struct Report: Sendable, CustomStringConvertible {
        public var mappings = 0
        public var residentKiBBefore = 0
        public var residentKiBAfter = 0
        /// What the heap holds after the trim (mallinfo2: allocated chunks and mmapped blocks): its resident pages
        /// beyond this are free memory a trim could not give back (pieces of pages between live allocations).
        public var heapInUseKiB = 0
        /// How long `malloc_trim` took.
        public var heapTrimTime = Duration.zero
        /// The process was locked in memory by this trim (`locksAfterTrim`).
        public var locked = false
        /// errno of a lock that failed.
        public var lockError: Int32?
        /// KiB of the executable's `.rodata` this trim made read-only (`protectsReadOnlyData`; its first trim only).
        public var readOnlyDataProtectedKiB = 0
        public var description: String {
            "\(residentKiBBefore) KiB resident before, \(residentKiBAfter) KiB after, heap in use \(heapInUseKiB) KiB "
                + "(\(mappings) file mappings dropped"
                + "; heap trimmed in \(Self.milliseconds(heapTrimTime)) ms)"
                + (locked ? "; memory locked" : "")
                + (readOnlyDataProtectedKiB > 0 ? "; \(readOnlyDataProtectedKiB) KiB of read-only data protected" : "")
        }

        /// `1.9`: milliseconds with one decimal.
        static func milliseconds(_ time: Duration) -> String {
            let (seconds, attoseconds) = time.components
            let tenths = seconds * 10_000 + attoseconds / 100_000_000_000_000
            return "\(tenths / 10).\(tenths % 10)"
        }
    }

    /// Trims this process: free heap back to the kernel, then the clean file mappings unmapped (see the type's doc).
    ///
    /// The checker worker trims its heap too, on its one loop: with 1,000 virtual servers × 10 real servers and a
    /// TCP_CHECK on each, `malloc_trim` took 0.7–1.9 ms under emulation in the kernel lab (the log line says how long).
    /// It was left out when that heap was 50 MiB and its trim held the loop for seconds.
    @discardableResult
    public static func trim() -> Report {
        var report = Report()
        report.residentKiBBefore = status("VmRSS")
        report.heapTrimTime = ContinuousClock().measure { _ = malloc_trim(0) }
        if protectsReadOnlyData.load(ordering: .relaxed),
            readOnlyDataLookedAt.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        {
            report.readOnlyDataProtectedKiB = protectReadOnlyData(section: ".rodata")
        }
        // A locked process keeps what it has resident: that is what locking asks for. A real-time one with a tight
        // RLIMIT_RTTIME keeps its mappings too: the code it dropped would be faulted back in on its next turns, time it
        // pays against that limit without sleeping (at keepalived's 10 ms the kernel killed the VRRP worker at its
        // start on a loaded host). Vigil's real-time default (10 s) is loose enough: a few hundred minor faults once.
        if status("VmLck") == 0, !isRealtime || realtimeBudgetMicroseconds >= looseRealtimeBudget,
            let smaps = FileContents.read("/proc/self/smaps", limit: 64 << 20)
        {
            for mapping in droppableMappings(smaps: smaps) {
                let pointer = UnsafeMutableRawPointer(bitPattern: mapping.start)
                if madvise(pointer, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 { report.mappings += 1 }
            }
        }
        if locksAfterTrim.load(ordering: .relaxed) && status("VmLck") == 0 {
            if cvigil_lock_memory() == 0 { report.locked = true } else { report.lockError = errno }
        }
        report.residentKiBAfter = status("VmRSS")
        report.heapInUseKiB = Int(cvigil_heap_in_use() / 1024)
        return report
    }

    /// Makes the pages wholly inside the executable's section `name` read-only when none of them has been written (see
    /// the type's doc); returns the KiB protected, 0 when nothing was (no section headers, no such section, a page
    /// written, `mprotect` refused).
    static func protectReadOnlyData(section name: String) -> Int {
        var start: UInt = 0
        var size = 0
        guard cvigil_executable_section(name, &start, &size) == 0 else { return 0 }
        let page = UInt(getpagesize())
        let first = (start + page - 1) / page * page
        let end = (start + UInt(size)) / page * page
        guard end > first, protectUnwritten(first..<end) else { return 0 }
        return Int(end - first) / 1024
    }

    /// Makes `range` (page-aligned, inside a private file mapping) read-only if no page of it has been written
    /// (`unwritten`), checking again once it is read-only: a write that raced the first look makes it writable
    /// again, as it was. Returns whether the range is now read-only.
    static func protectUnwritten(_ range: Range<UInt>) -> Bool {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: range.lowerBound), !range.isEmpty,
            unwritten(range)
        else { return false }
        let length = Int(range.upperBound - range.lowerBound)
        guard mprotect(pointer, length, PROT_READ) == 0 else { return false }
        guard unwritten(range) else {
            _ = mprotect(pointer, length, PROT_READ | PROT_WRITE)
            return false
        }
        return true
    }

    /// Whether every page of `range` (page-aligned) this process has in memory is still the file's page: in
    /// `/proc/self/pagemap`, none is swapped (bit 62) and each present one (bit 63) is a file page (bit 61), not the
    /// anonymous copy a write to a private mapping makes. False when pagemap cannot be read.
    static func unwritten(_ range: Range<UInt>) -> Bool {
        let page = UInt(getpagesize())
        let count = Int((range.upperBound - range.lowerBound) / page)
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var entries = [UInt64](repeating: 0, count: count)
        let bytes = count * MemoryLayout<UInt64>.size
        let read = entries.withUnsafeMutableBytes {
            pread(fd, $0.baseAddress, bytes, off_t(range.lowerBound / page) * off_t(MemoryLayout<UInt64>.size))
        }
        guard read == bytes else { return false }
        return entries.allSatisfy { entry in
            let present = entry >> 63 & 1 == 1
            let swapped = entry >> 62 & 1 == 1
            let filePage = entry >> 61 & 1 == 1
            return !swapped && (!present || filePage)
        }
    }

    /// How long after a (re)load's trim a process trims once more (`trimSettled`), in nanoseconds.
    public static let settleDelay: Int64 = 10_000_000_000

    /// Trims once more when a (re)load's follow-up is over: what ran once after the first trim (the VRRP instances'
    /// first transitions and announcements, the first reports and status) is given back too. With 20 VRRP
    /// instances the first trim left 6–8 MiB of vigild's text resident in each process, of which a steady state
    /// references under 2 MiB in 45 s (`Benchmarks/text-residency.py`): one function run once keeps its whole page.
    /// A process its own first trim locked (`locksAfterTrim`: `…_no_swap`, the VRRP worker's default) is unlocked
    /// for the trim and locked again at once, so that a reload's code does not stay locked for good either; one
    /// locked at its start (a tight RLIMIT_RTTIME) keeps everything, as `trim` says.
    @discardableResult
    public static func trimSettled() -> Report {
        if locksAfterTrim.load(ordering: .relaxed) && status("VmLck") > 0 { munlockall() }
        return trim()
    }

    /// Sets glibc's allocator up for a long-running daemon; called first thing in `main`, before a second thread
    /// exists. Fixed thresholds (`M_MMAP_THRESHOLD`, `M_TRIM_THRESHOLD` 128 KiB, glibc's starting values): without
    /// them, freeing one large buffer (a configuration message of megabytes) raises the mmap threshold to its size and
    /// the trim threshold to twice that, for good: every later buffer below it is carved from the heap, and the heap's
    /// top is given back only beyond it.
    ///
    /// The number of arenas is left to glibc: with one (`M_ARENA_MAX` 1) every thread's allocations beyond its cache
    /// take the same lock, and the real-time VRRP and BFD threads would wait on a thread of normal priority that holds
    /// it (a priority inversion under load). It saved 0.2 MiB of 18 for 20 VRRP instances.
    public static func configureAllocator() {
        _ = mallopt(M_MMAP_THRESHOLD, 128 << 10)
        _ = mallopt(M_TRIM_THRESHOLD, 128 << 10)
    }

    /// An RLIMIT_RTTIME (µs) from which a real-time process may drop its start-up mappings: faulting back what it
    /// uses costs it well under a millisecond, against a budget of a second or more.
    public static let looseRealtimeBudget = 1_000_000

    /// This process's RLIMIT_RTTIME (the hard limit, as `…_rlimit_rttime` sets it) in µs; `Int.max` when unlimited.
    static var realtimeBudgetMicroseconds: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(__RLIMIT_RTTIME.rawValue), &limit) == 0, limit.rlim_max != rlim_t.max
        else { return Int.max }
        return Int(clamping: limit.rlim_max)
    }

    /// Whether this thread runs under a real-time policy (SCHED_RR, SCHED_FIFO).
    static var isRealtime: Bool {
        let policy = sched_getscheduler(0)
        return policy == SCHED_RR || policy == SCHED_FIFO
    }

    /// A size line of a process's `/proc/PID/status` (`VmRSS`, `VmLck`), in KiB (0 when unreadable); this process's
    /// by default.
    public static func status(_ field: String, of process: String = "self") -> Int {
        guard let status = FileContents.read("/proc/\(process)/status", limit: 4096),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return 0 }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }
}
