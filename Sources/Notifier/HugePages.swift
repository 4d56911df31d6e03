import CVigilShim
import Synchronization

/// Transparent huge pages: off in vigild's own processes, and as vigild found them in every program it starts.
///
/// Debian's kernel backs anonymous memory with 2 MiB pages wherever a region allows
/// (`/sys/kernel/mm/transparent_hugepage/enabled` is `always` there, and in the kernel lab): a thread's 8 MiB stack
/// with a few KiB in use then holds a whole 2 MiB page, and khugepaged may collapse the small pages `malloc_trim` gave
/// back into a huge one again. In the kernel lab, with 1,000 × 10 TCP_CHECKs, the watchdog's log thread (12 KiB of
/// stack in use on a host without THP) held 2.1 MiB resident. A daemon of a few MiB gains nothing measurable from
/// fewer TLB misses, and its operators compare its resident size with keepalived's.
///
/// The switch (PR_SET_THP_DISABLE) belongs to the whole process and is inherited by its children across `execve`.
/// Workers are started with the setting vigild was started with and turn it off themselves, like the watchdog; a
/// script (notify scripts, MISC_CHECK, the startup and shutdown scripts) runs with THP as vigild found it, as under
/// keepalived. For that, each spawn is wrapped in `asStarted`, which restores the setting for the child and turns it
/// off again once the child exists: spawns are serialised, and in that window (a posix_spawn, microseconds) another
/// thread's page fault may take a huge page.
public enum HugePages {
    /// Whether `disable` turned THP off in this process (it was on when the process started); false when it was off
    /// already (inherited from whoever started vigild) or could not be turned off: spawns then change nothing.
    private static let turnedOff = Atomic<Bool>(false)
    private static let spawning = Mutex<Void>(())

    /// Turns THP off for this process; called first thing in `main`, before a second thread exists. A kernel without
    /// the switch (before 3.15) leaves THP as it is.
    public static func disable() {
        guard cvigil_transparent_huge_pages_disabled() == 0 else { return }
        if cvigil_disable_transparent_huge_pages(1) == 0 { turnedOff.store(true, ordering: .relaxed) }
    }

    /// Runs `spawn` (a `posix_spawn`, whose result it returns) with THP as this process was started with, so that
    /// the program it starts inherits that setting, not vigild's own.
    public static func asStarted(_ spawn: () -> Int32) -> Int32 {
        guard turnedOff.load(ordering: .relaxed) else { return spawn() }
        return spawning.withLock { _ in
            _ = cvigil_disable_transparent_huge_pages(0)
            defer { _ = cvigil_disable_transparent_huge_pages(1) }
            return spawn()
        }
    }
}
