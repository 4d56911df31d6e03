import Config

/// A running process as `vrrp_track_process` sees it.
public struct ProcessIdentity: Hashable, Sendable {
    /// `/proc/PID/comm`: the process name (at most 15 bytes; `prctl(PR_SET_NAME)` changes it).
    public var name: String
    /// `/proc/PID/cmdline` split at its NULs (argv); `nil` when not read (no `full_command` is tracked).
    public var commandLine: [String]?

    public init(name: String, commandLine: [String]? = nil) {
        self.name = name
        self.commandLine = commandLine
    }

    /// argv from the raw contents of `/proc/PID/cmdline`: NUL-terminated words.
    public static func arguments(fromCommandLine bytes: some Collection<UInt8>) -> [String] {
        let bytes = Array(bytes)
        guard !bytes.isEmpty else { return [] }
        var words = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        if bytes.last == 0 { words.removeLast() }
        return words
    }
}

/// What `vrrp_track_process` matches: keepalived's exact (not pgrep's regular-expression) comparison.
struct ProcessPattern: Hashable, Sendable {
    var process: String
    var parameters: [String]
    var match: VRRPTrackProcess.ParameterMatch
    var fullCommand: Bool

    init(_ definition: VRRPTrackProcess) {
        process = definition.process ?? ""
        parameters = definition.parameters
        match = definition.parameterMatch
        fullCommand = definition.fullCommand
    }

    /// Whether `identity` is one of the processes counted: its name (`/proc/PID/comm`), or with `full_command`
    /// its argv[0], equal to `process`; then its parameters as `param_match` says (keepalived's check_params):
    /// exact, the first ones equal (partial), or those and the last given a prefix of the process's (initial).
    func matches(_ identity: ProcessIdentity) -> Bool {
        guard fullCommand else { return identity.name == process }
        guard let argv = identity.commandLine, let first = argv.first, first == process else { return false }
        let actual = argv.dropFirst()
        switch match {
        case .none:
            return true
        case .exact:
            return actual.elementsEqual(parameters)
        case .partial:
            return actual.count >= parameters.count && actual.prefix(parameters.count).elementsEqual(parameters)
        case .initial:
            guard let last = parameters.last else { return true }
            guard actual.count >= parameters.count else { return false }
            let head = actual.prefix(parameters.count - 1)
            return head.elementsEqual(parameters.dropLast())
                && actual[actual.startIndex + parameters.count - 1].utf8.starts(with: last.utf8)
        }
    }
}

/// What the process tracker asks of its shell.
enum ProcessTrackerEffect: Hashable, Sendable {
    /// The `vrrp_track_process` gained (true) or lost (false) its quorum: trackers follow.
    case quorum(String, Bool)
    /// Call `timerFired` for this name after the delay (`fork_delay` / `terminate_delay`).
    case startTimer(String, Duration)
    /// Forget the timer started for this name.
    case cancelTimer(String)
}

/// Counts the processes each `vrrp_track_process` matches and decides its quorum, as keepalived does
/// (track_process.c, 2.2.7): a scan of `/proc` at start, then the kernel's process events. A forked child counts
/// for what its parent counts for; an exec, or a new process name, is matched again; an exit stops counting the
/// process. The quorum is `quorum … quorum_max` processes; one gained through a fork counts after `fork_delay`, one
/// lost through an exit after `terminate_delay` (a return within the delay cancels the change); every other change
/// counts at once. Pure: the shell reads `/proc` and the process connector and runs the timers.
struct ProcessTracker: Sendable {
    struct Tracked: Sendable {
        var pattern: ProcessPattern
        var quorum: Int
        var quorumMax: Int
        var forkDelay: Duration
        var terminateDelay: Duration
        var count = 0
        var hasQuorum = false
        var timerPending = false

        var inQuorum: Bool { count >= quorum && count <= quorumMax }
    }

    /// What moved a count.
    enum Cause {
        case fork, exit, other
    }

    private(set) var tracked: [String: Tracked] = [:]
    /// The `vrrp_track_process` names each counted process counts for.
    private(set) var processes: [Int32: Set<String>] = [:]

    /// The definitions with a `process`; the quorum of each as with no process running.
    init(_ definitions: [VRRPTrackProcess]) {
        for definition in definitions where definition.process != nil {
            var entry = Tracked(
                pattern: ProcessPattern(definition), quorum: definition.quorum, quorumMax: definition.quorumMax,
                forkDelay: definition.forkDelay, terminateDelay: definition.terminateDelay)
            entry.hasQuorum = entry.inQuorum
            tracked[definition.name] = entry
        }
    }

    /// Whether some definition matches command lines (then the shell reads `/proc/PID/cmdline`).
    var needsCommandLine: Bool { tracked.values.contains { $0.pattern.fullCommand } }

    /// Whether the named process has its quorum.
    func hasQuorum(_ name: String) -> Bool { tracked[name]?.hasQuorum ?? false }

    /// How many processes the named definition counts.
    func count(_ name: String) -> Int { tracked[name]?.count ?? 0 }

    /// Counts `running` afresh (the start, a reload, or events lost): pending timers are forgotten, a quorum
    /// gained counts at once, a quorum lost after `terminate_delay` unless `initial`.
    mutating func scan(_ running: [Int32: ProcessIdentity], initial: Bool) -> [ProcessTrackerEffect] {
        var effects: [ProcessTrackerEffect] = []
        processes = [:]
        for name in tracked.keys {
            if tracked[name]!.timerPending { effects.append(.cancelTimer(name)) }
            tracked[name]!.timerPending = false
            tracked[name]!.count = 0
        }
        for (pid, identity) in running {
            let names = Set(tracked.filter { $0.value.pattern.matches(identity) }.keys)
            guard !names.isEmpty else { continue }
            processes[pid] = names
            for name in names { tracked[name]!.count += 1 }
        }
        for name in tracked.keys.sorted() {
            effects += settle(name, cause: initial ? .other : .exit)
        }
        return effects
    }

    /// A process ran `exec` (`identity` nil: it could not be read, so it is gone or no longer matches).
    mutating func exec(pid: Int32, identity: ProcessIdentity?) -> [ProcessTrackerEffect] {
        rematch(pid: pid) { pattern in identity.map(pattern.matches) ?? false }
    }

    /// A process changed its name (`prctl(PR_SET_NAME)`): definitions matching names are checked again.
    mutating func renamed(pid: Int32, name: String, commandLine: [String]?) -> [ProcessTrackerEffect] {
        let identity = ProcessIdentity(name: name, commandLine: commandLine)
        return rematch(pid: pid, only: { !$0.fullCommand }, matches: { $0.matches(identity) })
    }

    /// A process forked: the child counts for what the parent counts for.
    mutating func fork(parent: Int32, child: Int32) -> [ProcessTrackerEffect] {
        guard let names = processes[parent], processes[child] == nil else { return [] }
        processes[child] = names
        var effects: [ProcessTrackerEffect] = []
        for name in names.sorted() {
            tracked[name]!.count += 1
            effects += settle(name, cause: .fork)
        }
        return effects
    }

    /// A process exited.
    mutating func exit(pid: Int32) -> [ProcessTrackerEffect] {
        guard let names = processes.removeValue(forKey: pid) else { return [] }
        var effects: [ProcessTrackerEffect] = []
        for name in names.sorted() {
            tracked[name]!.count -= 1
            effects += settle(name, cause: .exit)
        }
        return effects
    }

    /// The delay of a `startTimer` ran out: the quorum is what the count says now.
    mutating func timerFired(_ name: String) -> [ProcessTrackerEffect] {
        guard var entry = tracked[name], entry.timerPending else { return [] }
        entry.timerPending = false
        let changed = entry.hasQuorum != entry.inQuorum
        entry.hasQuorum = entry.inQuorum
        tracked[name] = entry
        return changed ? [.quorum(name, entry.hasQuorum)] : []
    }

    /// Matches `pid` again against the definitions `only` selects; counts move at once.
    private mutating func rematch(
        pid: Int32, only: (ProcessPattern) -> Bool = { _ in true }, matches: (ProcessPattern) -> Bool
    ) -> [ProcessTrackerEffect] {
        var names = processes[pid] ?? []
        var effects: [ProcessTrackerEffect] = []
        for name in tracked.keys.sorted() where only(tracked[name]!.pattern) {
            let counted = names.contains(name)
            let matching = matches(tracked[name]!.pattern)
            guard counted != matching else { continue }
            if matching { names.insert(name) } else { names.remove(name) }
            tracked[name]!.count += matching ? 1 : -1
            effects += settle(name, cause: .other)
        }
        processes[pid] = names.isEmpty ? nil : names
        return effects
    }

    /// After a count moved: the new quorum now, after a delay, or (back where it was) no change and no timer.
    private mutating func settle(_ name: String, cause: Cause) -> [ProcessTrackerEffect] {
        guard var entry = tracked[name] else { return [] }
        defer { tracked[name] = entry }
        let wanted = entry.inQuorum
        var effects: [ProcessTrackerEffect] = []
        if wanted == entry.hasQuorum {
            if entry.timerPending {
                entry.timerPending = false
                effects.append(.cancelTimer(name))
            }
            return effects
        }
        let delay: Duration =
            switch cause {
            case .fork where wanted: entry.forkDelay
            case .exit where !wanted: entry.terminateDelay
            default: .zero
            }
        if delay > .zero {
            if !entry.timerPending {
                entry.timerPending = true
                effects.append(.startTimer(name, delay))
            }
            return effects
        }
        if entry.timerPending {
            entry.timerPending = false
            effects.append(.cancelTimer(name))
        }
        entry.hasQuorum = wanted
        effects.append(.quorum(name, wanted))
        return effects
    }
}
