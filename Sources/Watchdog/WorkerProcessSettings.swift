import CLibcap
import CVigilShim
import Config
import Logging
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// How a worker process runs, from `global_defs`: what keepalived's children do at their start
/// (`set_process_priorities`, `set_process_cpu_affinity`, `prctl(PR_SET_NAME)`). The watchdog passes it on the
/// worker's command line, and the worker applies it first thing after exec, before it starts any thread, so every
/// thread it starts later inherits the scheduler, nice value, affinity and memory lock.
public struct WorkerProcessSettings: Hashable, Sendable {
    /// `…_priority`: the nice value (ignored, as keepalived, when a real-time priority is set).
    public var nice: Int?
    /// `…_rt_priority`: SCHED_RR at this priority.
    public var realtimePriority: Int?
    /// `…_rlimit_rttime` in microseconds (with a real-time priority only).
    public var rlimitRTTime = GlobalDefs.defaultRlimitRTTime
    /// `…_no_swap`.
    public var noSwap = false
    /// `…_cpu_affinity`; empty: left as inherited.
    public var cpuAffinity: [Int] = []
    /// `…_process_name`.
    public var name: String?
    /// `max_auto_priority`: the highest SCHED_RR priority the worker raises itself to when its loop runs late;
    /// 0: never.
    public var maxAutoPriority = 0
    /// `min_auto_priority_delay` in microseconds: how late the loop must run before it does.
    public var minAutoPriorityDelay = 1_000_000
    /// `net_namespace_ipvs` (checker worker): it enters that namespace to open its IPVS sockets, which setns(2) allows
    /// with CAP_SYS_ADMIN only.
    public var entersIPVSNamespace = false

    public init() {}

    /// The VRRP and BFD workers' real-time priority when the file sets no scheduling for them (Vigil's default, not
    /// keepalived's): the lowest SCHED_RR priority, which is enough to run before every normal process.
    public static let automaticRealtimePriority = 1
    /// RLIMIT_RTTIME with the automatic priority, in µs: a last guard against a runaway loop, for when the watchdog
    /// is gone too (it replaces a worker that makes no progress within two heartbeats; the kernel's real-time
    /// throttling leaves normal processes 5% in any case). A worker that is busy, not hung, is never killed for it:
    /// keepalived's 10 ms suits C code that configured it on purpose, but a reload of a large file may run longer than
    /// that without sleeping, and a loop that keeps turning is busy, not stuck (issue 12).
    public static let automaticRlimitRTTime = 10_000_000

    /// The settings of `role`'s worker.
    /// - Parameter realtimeByDefault: the VRRP (BFD) worker runs at `automaticRealtimePriority`, memory locked, when
    ///   the file sets neither `vrrp_rt_priority` nor `vrrp_priority` (`bfd_…`); false with `vigild --no-realtime`.
    ///   Adverts and BFD packets then leave on time however loaded the machine is: a late advert is a false takeover
    ///   by the backup, a late BFD packet a session declared Down.
    public init(role: WorkerRole, globals: GlobalDefs, realtimeByDefault: Bool) {
        let keys = RoleKeys.of(role)
        nice = globals[keyPath: keys.priority]
        realtimePriority = globals[keyPath: keys.rtPriority]
        rlimitRTTime = globals[keyPath: keys.rlimitRTTime]
        noSwap = globals[keyPath: keys.noSwap]
        cpuAffinity = globals[keyPath: keys.cpuAffinity]
        name = globals[keyPath: keys.processName] ?? (globals.processNames ? keys.keepalivedName : nil)
        entersIPVSNamespace = role == .checker && globals.netNamespaceIPVS != nil
        if role != .checker && realtimeByDefault && realtimePriority == nil && nice == nil {
            realtimePriority = Self.automaticRealtimePriority
            if rlimitRTTime == GlobalDefs.defaultRlimitRTTime { rlimitRTTime = Self.automaticRlimitRTTime }
            noSwap = true
        }
        // keepalived's −1 (no warning) raises nothing either.
        maxAutoPriority = max(0, globals.maxAutoPriority)
        minAutoPriorityDelay = Int(globals.minAutoPriorityDelay / .microseconds(1))
    }

    /// The `global_defs` fields of one role's worker (`vrrp_…`, `checker_…`, `bfd_…`), and the name keepalived's
    /// `process_names` gives its process.
    private struct RoleKeys {
        let priority: KeyPath<GlobalDefs, Int?>
        let rtPriority: KeyPath<GlobalDefs, Int?>
        let rlimitRTTime: KeyPath<GlobalDefs, Int>
        let noSwap: KeyPath<GlobalDefs, Bool>
        let cpuAffinity: KeyPath<GlobalDefs, [Int]>
        let processName: KeyPath<GlobalDefs, String?>
        let keepalivedName: String

        static func of(_ role: WorkerRole) -> RoleKeys {
            switch role {
            case .vrrp:
                RoleKeys(
                    priority: \.vrrpPriority, rtPriority: \.vrrpRTPriority, rlimitRTTime: \.vrrpRlimitRTTime,
                    noSwap: \.vrrpNoSwap, cpuAffinity: \.vrrpCPUAffinity, processName: \.vrrpProcessName,
                    keepalivedName: "keepalived_vrrp")
            case .checker:
                RoleKeys(
                    priority: \.checkerPriority, rtPriority: \.checkerRTPriority,
                    rlimitRTTime: \.checkerRlimitRTTime, noSwap: \.checkerNoSwap, cpuAffinity: \.checkerCPUAffinity,
                    processName: \.checkerProcessName, keepalivedName: "keepalived_lvs")
            case .bfd:
                RoleKeys(
                    priority: \.bfdPriority, rtPriority: \.bfdRTPriority, rlimitRTTime: \.bfdRlimitRTTime,
                    noSwap: \.bfdNoSwap, cpuAffinity: \.bfdCPUAffinity, processName: \.bfdProcessName,
                    keepalivedName: "keepalived_bfd")
            }
        }
    }

    /// The capabilities the worker keeps for these settings besides its usual ones: with `no_swap`, CAP_IPC_LOCK,
    /// without which MCL_FUTURE holds every later mapping (each thread's stack) to RLIMIT_MEMLOCK, 8 MB by default.
    /// With `max_auto_priority`, CAP_SYS_NICE, to raise its threads to SCHED_RR once they run. With
    /// `net_namespace_ipvs`, CAP_SYS_ADMIN, to enter the namespace (keepalived's checker keeps every capability).
    public var capabilities: [cap_value_t] {
        (noSwap ? [CAP_IPC_LOCK] : []) + (maxAutoPriority > 0 ? [CAP_SYS_NICE] : [])
            + (entersIPVSNamespace ? [CAP_SYS_ADMIN] : [])
    }

    /// Nothing to change.
    public var isDefault: Bool { self == WorkerProcessSettings() }

    /// The hidden `--process-settings` argument: space-separated `key=value` words, the name (which may hold
    /// anything but a NUL) last, taking the rest of the text.
    public var argument: String {
        var words: [String] = []
        if let nice { words.append("nice=\(nice)") }
        if let realtimePriority { words.append("rt=\(realtimePriority)") }
        if rlimitRTTime != GlobalDefs.defaultRlimitRTTime { words.append("rttime=\(rlimitRTTime)") }
        if noSwap { words.append("noswap") }
        if !cpuAffinity.isEmpty { words.append("cpus=" + cpuAffinity.map(String.init).joined(separator: ",")) }
        if maxAutoPriority != 0 { words.append("autorr=\(maxAutoPriority)") }
        if minAutoPriorityDelay != 1_000_000 { words.append("autodelay=\(minAutoPriorityDelay)") }
        if entersIPVSNamespace { words.append("ipvsns") }
        if let name { words.append("name=" + name) }
        return words.joined(separator: " ")
    }

    /// Reads `argument` back; `nil` for text it never writes.
    public init?(argument: String) {
        var rest = Substring(argument)
        while !rest.isEmpty {
            if rest.hasPrefix("name=") {
                name = String(rest.dropFirst(5))
                break
            }
            let word = rest.prefix { $0 != " " }
            rest = rest.dropFirst(word.count).drop { $0 == " " }
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            switch (parts[0], parts.count == 2 ? parts[1] : nil) {
            case ("nice", let value?):
                guard let number = Int(value) else { return nil }
                nice = number
            case ("rt", let value?):
                guard let number = Int(value) else { return nil }
                realtimePriority = number
            case ("rttime", let value?):
                guard let number = Int(value) else { return nil }
                rlimitRTTime = number
            case ("autorr", let value?):
                guard let number = Int(value) else { return nil }
                maxAutoPriority = number
            case ("autodelay", let value?):
                guard let number = Int(value) else { return nil }
                minAutoPriorityDelay = number
            case ("noswap", nil): noSwap = true
            case ("ipvsns", nil): entersIPVSNamespace = true
            case ("cpus", let value?):
                let cpus = value.split(separator: ",").compactMap { Int($0) }
                guard !cpus.isEmpty else { return nil }
                cpuAffinity = cpus
            default: return nil
            }
        }
    }

    /// Applies the settings to this process (its calling thread, and so every thread it starts afterwards); each
    /// failure is logged and the rest still applied, as keepalived does.
    public func apply(logger: Logger) {
        if let name, cvigil_set_process_name(name) != 0 {
            logger.error("cannot set the process name '\(name)': \(String(cString: strerror(errno)))")
        }
        if let realtimePriority {
            if setRealtime(realtimePriority, thread: 0, logger: logger) { limitRealtime(logger: logger) }
        } else if let nice {
            if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(nice)) != 0 {
                logger.error("cannot set the priority (nice) \(nice): \(String(cString: strerror(errno)))")
            }
        }
        // A worker locks after its first configuration, once what only the start needed is given back (MemoryTrim),
        // so the lock holds its steady state. A real-time one with a tight RLIMIT_RTTIME (keepalived's 10 ms) locks
        // at once and keeps what it has mapped: code it dropped would be faulted back in on its next turns, time it
        // pays against that limit without sleeping.
        if noSwap && (realtimePriority == nil || rlimitRTTime >= MemoryTrim.looseRealtimeBudget) {
            MemoryTrim.locksAfterTrim.store(true, ordering: .relaxed)
        } else if noSwap && cvigil_lock_memory() != 0 {
            logger.error("cannot lock the process in memory (no_swap): \(String(cString: strerror(errno)))")
        }
        if !cpuAffinity.isEmpty {
            let cpus = cpuAffinity.map(Int32.init)
            if cvigil_set_cpu_affinity(cpus, Int32(cpus.count)) != 0 {
                let why = String(cString: strerror(errno))
                logger.error(
                    "cannot set the CPU affinity \(cpuAffinity.map(String.init).joined(separator: " ")): \(why)")
            }
        }
    }

    /// `max_auto_priority`: moves every thread of this process (the engine's loop, its helpers) to SCHED_RR at
    /// `priority`; the first time, with RLIMIT_RTTIME as `…_rlimit_rttime` sets it, as keepalived does.
    public func raiseThreads(to priority: Int, logger: Logger) {
        var raised = 0
        for thread in FileContents.numberedEntries(of: "/proc/self/task") {
            if setRealtime(priority, thread: thread, logger: logger) { raised += 1 }
        }
        if raised > 0 && realtimePriority == nil && priority == 1 { limitRealtime(logger: logger) }
    }

    /// The corresponding C call is `sched_setscheduler`; `thread` 0 is the calling one.
    private func setRealtime(_ priority: Int, thread: pid_t, logger: Logger) -> Bool {
        var parameters = sched_param(sched_priority: Int32(priority))
        guard sched_setscheduler(thread, SCHED_RR, &parameters) == 0 else {
            logger.error(
                "cannot set the real-time priority \(priority) (SCHED_RR): \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    /// RLIMIT_RTTIME for a real-time process. The soft limit is half: SIGXCPU warns before the kernel kills at the
    /// hard limit.
    private func limitRealtime(logger: Logger) {
        var limit = rlimit(rlim_cur: rlim_t(rlimitRTTime / 2), rlim_max: rlim_t(rlimitRTTime))
        if setrlimit(__rlimit_resource_t(__RLIMIT_RTTIME.rawValue), &limit) != 0 {
            logger.error("cannot set RLIMIT_RTTIME \(rlimitRTTime) µs: \(String(cString: strerror(errno)))")
        }
    }
}
