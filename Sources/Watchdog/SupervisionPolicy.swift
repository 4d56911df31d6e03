import Config
import WorkerIPC

/// Exit statuses a worker uses to tell the watchdog not to restart it; keepalived's values.
public enum WorkerExitCode {
    /// KEEPALIVED_EXIT_FATAL.
    public static let fatal: Int32 = 3
    /// KEEPALIVED_EXIT_CONFIG: the worker cannot run this configuration.
    public static let badConfig: Int32 = 4
    /// KEEPALIVED_EXIT_MISSING_PERMISSION: a capability or privilege is missing.
    public static let missingPermission: Int32 = 5
}

/// How a worker process ended, from `waitpid`.
public enum WorkerExit: Hashable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "was killed by signal \(signal)"
        }
    }
}

/// What the watchdog does after a worker ends.
public enum SupervisionDecision: Hashable, Sendable {
    /// Start a new worker after `delay` (zero: at once).
    case restart(after: Duration)
    /// Stop the whole daemon; the text is the log line.
    case stopDaemon(String)
}

/// Restart rules: at once, unless the worker is crash-looping (exponential backoff, capped), and never
/// for a worker that says the configuration or its permissions are wrong (keepalived stops then too).
/// A worker that reached its steady state (its first state report after a configuration) was healthy: however soon
/// it dies after that (an operator's `kill -9` every second, an OOM kill), its successor starts at once. Only deaths
/// before the first state report count towards a crash loop. Pure: the caller says what it saw.
public struct SupervisionPolicy: Hashable, Sendable {
    /// The delay after the second quick death in a row; it doubles with each further one.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(30)

    public init() {}

    public init(initialBackoff: Duration, maximumBackoff: Duration) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// Decides what to do about a worker that ended.
    /// - Parameters:
    ///   - reportedState: the worker sent a state report before it died (it had applied its configuration).
    ///   - quickDeaths: how many deaths in a row, before this one, came before a state report; updated.
    public func decide(
        role: String, exit: WorkerExit, reportedState: Bool, quickDeaths: inout Int
    ) -> SupervisionDecision {
        switch exit {
        case .exited(WorkerExitCode.badConfig):
            return .stopDaemon("the \(role) worker cannot run this configuration (exit status 4); vigild stops")
        case .exited(WorkerExitCode.missingPermission):
            return .stopDaemon(
                "the \(role) worker lacks a permission it needs (exit status 5; run vigild as root "
                    + "with CAP_NET_ADMIN and CAP_NET_RAW); vigild stops")
        case .exited(WorkerExitCode.fatal):
            return .stopDaemon("the \(role) worker hit a fatal error (exit status 3); vigild stops")
        default:
            break
        }
        if reportedState {
            quickDeaths = 0
            return .restart(after: .zero)
        }
        quickDeaths += 1
        return .restart(after: backoff(afterQuickDeaths: quickDeaths))
    }

    /// Zero for the first quick death, then `initialBackoff`, doubling, at most `maximumBackoff`.
    public func backoff(afterQuickDeaths count: Int) -> Duration {
        guard count > 1 else { return .zero }
        var delay = initialBackoff
        for _ in 2..<count {
            delay *= 2
            if delay >= maximumBackoff { return maximumBackoff }
        }
        return min(delay, maximumBackoff)
    }
}

/// What the watchdog concludes about a worker's liveness.
public enum LivenessVerdict: Hashable, Sendable {
    case alive
    /// No hello within the startup timeout after it was spawned, though it kept running (an endless start).
    case noHello(silence: Duration)
    /// No hello yet, and the process has not run for this long: stopped, or blocked before its hello.
    case startupStalled(for: Duration)
    /// A ping has gone unanswered this long: the process is stopped, or its IPC thread is stuck. `activity`: what
    /// the answering thread did meanwhile, when the kernel said.
    case unanswered(for: Duration, activity: ThreadSpan? = nil)
    /// It answers, but its engine's loop has made no progress for this long: stuck in one task.
    case stuck(for: Duration, activity: ThreadSpan? = nil)
    /// Silent (or its loop without progress) past the limit, but the thread was waiting for a CPU, or is running
    /// or runnable without having used the limit's worth of CPU: starved by a loaded machine, not hung. Not killed.
    case starved(for: Duration, activity: ThreadSpan, loop: Bool)
    /// A ping unanswered past the limit, its answering thread asleep rather than spinning, while the engine's loop
    /// thread was runnable and got less than a quarter of the silence on a CPU: the answering thread waits on what the
    /// starved loop holds (both send through one socket, under one lock). Starved, not hung; not killed.
    case answerBehindStarvedLoop(for: Duration, answering: ThreadSpan, loop: ThreadSpan)

    /// The log line's reason.
    public var reason: String {
        switch self {
        case .alive: "alive"
        case .noHello(let silence): "did not say hello within \(silence.millisecondsText) ms of its start"
        case .startupStalled(let age):
            "did not say hello and has not run for \(age.millisecondsText) ms (stopped, or blocked in its start)"
        case .unanswered(let age, let activity):
            "answered no heartbeat for \(age.millisecondsText) ms\(activity.map { " (\($0))" } ?? "") "
                + "(stopped, or its IPC thread is stuck)"
        case .stuck(let age, let activity):
            "its engine's loop made no progress for \(age.millisecondsText) ms\(activity.map { " (\($0))" } ?? "") "
                + "(stuck in one task)"
        case .starved(let age, let activity, let loop):
            "\(loop ? "its engine's loop made no progress" : "answered no heartbeat") for \(age.millisecondsText) ms, "
                + "but it is starved, not hung (\(activity))"
        case .answerBehindStarvedLoop(let age, let answering, let loop):
            "answered no heartbeat for \(age.millisecondsText) ms (\(answering)), but it is starved, not hung: its "
                + "engine's loop, whose socket the answers share, waits for a CPU (\(loop))"
        }
    }

    /// The watchdog replaces the worker.
    public var kills: Bool {
        switch self {
        case .alive, .starved, .answerBehindStarvedLoop: false
        default: true
        }
    }

    /// Starved, not hung: left to run.
    public var isStarved: Bool {
        switch self {
        case .starved, .answerBehindStarvedLoop: true
        default: false
        }
    }
}

/// Heartbeats: the watchdog pings its workers four times per `interval`; the worker's IPC thread answers with its
/// engine's progress (`WorkerHeartbeat`). A worker is replaced when it has answered nothing for `missedLimit`
/// intervals while a ping waits, or when its answers show its engine's loop without progress for `missedLimit`
/// intervals — in every phase, applying a configuration included (an engine doing long work marks progress). A
/// worker that is merely busy keeps making progress and is never replaced. Before its hello (exec and start-up)
/// there is no one to answer pings, so the watchdog reads the process's own progress from `/proc/PID/stat`
/// (`StartupProgress`): runnable, in disk wait, or CPU time grown since the last look. A worker that shows none for
/// `missedLimit` intervals (SIGSTOP, blocked) is replaced then; one that keeps running gets `startupTimeout`.
///
/// Only what the worker could have answered counts: a ping must have waited a whole interval, and the engine's
/// progress is measured when the worker answered, so a watchdog that was itself late (a long reload) blames nobody.
///
/// Starved is not hung. A loaded machine (a CPU-bound neighbour, a VM whose host is busy, a cgroup's CPU quota) can
/// keep a healthy worker's threads off the CPU for seconds; replacing it then only adds a restart's work to the
/// load. So before either verdict the watchdog reads, from the kernel, what the thread in question did during the
/// silence (`ThreadActivity`: `/proc/PID/task/TID/schedstat` and `stat`): the worker's main thread, which answers
/// pings, or the engine's loop thread, which the answers name. The kernel counts a wait for a CPU when it ends, so a
/// thread that is still waiting shows only as runnable (`R`); one that ran now and then shows its finished waits.
/// The thread is hung when, over the silence,
/// - it used the limit's worth of CPU without answering or making progress (an endless loop: on an idle machine it
///   is replaced after the limit, as before; on a loaded one after it has had that much CPU), or
/// - it is neither running, runnable nor in an uninterruptible wait (sleeping in a deadlock, stopped), and the
///   silence less the time it spent waiting for a CPU is past the limit.
/// Otherwise it is starved (`LivenessVerdict.starved`): logged once per episode, counted, and left to run. Where
/// the kernel says nothing (no schedstat), the plain limits judge.
public struct HeartbeatPolicy: Hashable, Sendable {
    public var interval: Duration
    public var missedLimit: Int = 2
    /// The longest a worker that keeps running may take to say hello (an endless loop in its start).
    public var startupTimeout: Duration = .seconds(30)

    public init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    public var limit: Duration { interval * missedLimit }

    /// How often the watchdog pings (and judges): a quarter interval, so a verdict comes within a quarter
    /// interval of the limit.
    public var pingPeriod: Duration { interval / 4 }

    /// - Parameters:
    ///   - sinceStart: how long ago the worker was spawned.
    ///   - sinceLastAnswer: how long ago the worker last answered a ping (or said hello).
    ///   - oldestUnanswered: how long ago the oldest ping still unanswered was sent (nil: all answered).
    ///   - lastHeartbeat: the worker's last answer.
    ///   - startupIdle: before the hello, how long ago the process was last seen making progress
    ///     (`StartupProgress`); nil when that cannot be read, and then only `startupTimeout` judges.
    ///   - answering: what the worker's main thread (which answers pings) did since its last answer; nil: unknown.
    ///   - loop: what the engine's loop thread did since its last progress; nil: unknown.
    public func judge(
        sinceStart: Duration, helloReceived: Bool, sinceLastAnswer: Duration, oldestUnanswered: Duration?,
        lastHeartbeat: WorkerHeartbeat?, startupIdle: Duration? = nil, answering: ThreadSpan? = nil,
        loop: ThreadSpan? = nil, loopSinceLastAnswer: ThreadSpan? = nil
    ) -> LivenessVerdict {
        guard helloReceived else {
            if sinceStart > max(startupTimeout, limit) { return .noHello(silence: sinceStart) }
            if let startupIdle, sinceStart > limit, startupIdle > limit { return .startupStalled(for: startupIdle) }
            return .alive
        }
        if let oldestUnanswered, oldestUnanswered > interval, sinceLastAnswer > limit {
            guard let answering else { return .unanswered(for: sinceLastAnswer) }
            guard hung(silence: sinceLastAnswer, answering) else {
                return .starved(for: sinceLastAnswer, activity: answering, loop: false)
            }
            // Asleep, not spinning, while the loop thread waited for a CPU: once the loop gets one (or spins, or
            // sleeps) this no longer holds, and a hung answering thread is judged as before.
            if answering.onCPU < limit, let loopSinceLastAnswer,
                loopSinceLastAnswer.state == "R" || loopSinceLastAnswer.state == "D",
                loopSinceLastAnswer.onCPU * 4 < sinceLastAnswer
            {
                return .answerBehindStarvedLoop(for: sinceLastAnswer, answering: answering, loop: loopSinceLastAnswer)
            }
            return .unanswered(for: sinceLastAnswer, activity: answering)
        }
        if let lastHeartbeat, case let age = Duration.nanoseconds(lastHeartbeat.progressAge), age > limit {
            guard let loop else { return .stuck(for: age) }
            return hung(silence: age, loop)
                ? .stuck(for: age, activity: loop) : .starved(for: age, activity: loop, loop: true)
        }
        return .alive
    }

    /// Whether a thread silent for `silence` (past the limit) is hung rather than starved; see the type's comment.
    func hung(silence: Duration, _ activity: ThreadSpan) -> Bool {
        if activity.onCPU >= limit { return true }
        if activity.state == "R" || activity.state == "D" { return false }
        return silence - activity.waited > limit
    }
}

/// What one thread did over a span of time, from two `ThreadActivity` readings: its CPU time, its time waiting for a
/// CPU, and its state at the end.
public struct ThreadSpan: Hashable, Sendable, CustomStringConvertible {
    public var onCPU: Duration
    public var waited: Duration
    public var state: Character

    /// `250.0 ms on a CPU, 2900.0 ms in finished waits for one, now runnable`. The kernel adds a wait for a CPU to
    /// the thread's count when the wait ends: a thread still waiting shows as runnable.
    public var description: String {
        "\(onCPU.millisecondsText) ms on a CPU, \(waited.millisecondsText) ms in finished waits for one, now "
            + Self.stateName(state)
    }

    static func stateName(_ state: Character) -> String {
        switch state {
        case "R": "runnable"
        case "D": "in an uninterruptible wait"
        case "S", "I": "asleep"
        case "T": "stopped"
        case "t": "stopped by a tracer"
        case "Z", "X": "exited"
        default: "in state \(state)"
        }
    }
}

/// One reading of a thread's scheduling: `/proc/PID/task/TID/schedstat` (nanoseconds on a CPU, nanoseconds runnable
/// and waiting for one: the kernel's run delay, which also counts a cgroup's CPU-quota throttling) and the state in
/// `/proc/PID/task/TID/stat`.
public struct ThreadActivity: Hashable, Sendable {
    public var state: Character
    public var onCPU: Int64
    public var waited: Int64

    /// What the thread did from `earlier` to this reading.
    public func since(_ earlier: ThreadActivity) -> ThreadSpan {
        ThreadSpan(
            onCPU: .nanoseconds(max(0, onCPU - earlier.onCPU)), waited: .nanoseconds(max(0, waited - earlier.waited)),
            state: state)
    }
}

extension ThreadActivity {
    /// Parses the two files; nil when either is not what the kernel writes (schedstat needs CONFIG_SCHED_INFO).
    init?(stat: String, schedstat: String) {
        let parsed = Array(stat.utf8).withUnsafeBufferPointer { stat in
            Array(schedstat.utf8).withUnsafeBufferPointer { ThreadActivity(stat: stat, schedstat: $0) }
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// The same from the files' bytes, as `ThreadActivityReader` reads them each round of pings: nothing allocated.
    init?(stat: UnsafeBufferPointer<UInt8>, schedstat: UnsafeBufferPointer<UInt8>) {
        guard let state = StartupProgress(procStat: stat)?.state else { return nil }
        var fields = ProcFields(schedstat[...])
        guard let onCPU = fields.next(), let waited = fields.next(), onCPU <= Int64.max, waited <= Int64.max else {
            return nil
        }
        self.init(state: state, onCPU: Int64(onCPU), waited: Int64(waited))
    }
}

/// The decimal fields of a `/proc` line, separated by spaces (and ended by a newline), read without allocating.
struct ProcFields {
    private var rest: Slice<UnsafeBufferPointer<UInt8>>

    init(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) {
        rest = bytes
    }

    /// The next field's bytes; nil at the end.
    mutating func nextWord() -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard let start = rest.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) else {
            rest = rest[rest.endIndex...]
            return nil
        }
        let end =
            rest[start...].firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") })
            ?? rest.endIndex
        defer { rest = rest[end...] }
        return rest[start..<end]
    }

    /// The next field as an unsigned decimal; nil at the end, or when it is not one (or overflows).
    mutating func next() -> UInt64? {
        guard let word = nextWord() else { return nil }
        return Self.decimal(word)
    }

    static func decimal(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        guard !word.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in word {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }
}

/// The watchdog's readings of one worker's two threads, one per round of pings, for the spans `HeartbeatPolicy`
/// judges. Bounded: a span longer than what it keeps is measured from its oldest reading, which credits less
/// waiting, never more.
///
/// Readings come when the watchdog's loop gets to them: on a loaded machine seconds apart. A span asked for from
/// `since` to `until` is measured between the readings around it, so the part of that interval before `since` (back
/// to the reading at or before it) and after `until` (up to the last reading) counts the thread's CPU and waits that
/// were not in the silence. Both are taken off, as if the thread had run or waited all that time: the span's CPU and
/// waits are lower bounds. A busy loop whose readings were sparse is not blamed for CPU it used before its last
/// progress (a loaded kernel lab: a checker making progress killed for 4.5 s "on a CPU" in 2.7 s of silence).
public struct ActivityLedger: Hashable, Sendable {
    public struct Reading: Hashable, Sendable {
        public var at: Int64
        public var thread: Int32
        public var activity: ThreadActivity
    }

    public var capacity = 256
    private(set) var answering: [Reading] = []
    private(set) var loop: [Reading] = []

    public init() {}

    public mutating func record(
        at: Int64, answering: (thread: Int32, ThreadActivity)?, loop: (thread: Int32, ThreadActivity)?
    ) {
        if let (thread, activity) = answering {
            Self.append(Reading(at: at, thread: thread, activity: activity), to: &self.answering, capacity)
        }
        if let (thread, activity) = loop {
            Self.append(Reading(at: at, thread: thread, activity: activity), to: &self.loop, capacity)
        }
    }

    /// What the main thread did from `since` to `until` (default: its last reading).
    public func answeringSpan(since: Int64, until: Int64 = .max) -> ThreadSpan? {
        Self.span(answering, since: since, until: until)
    }

    /// What the engine's loop thread did from `since` to `until` (default: its last reading).
    public func loopSpan(since: Int64, until: Int64 = .max) -> ThreadSpan? {
        Self.span(loop, since: since, until: until)
    }

    private static func append(_ reading: Reading, to readings: inout [Reading], _ capacity: Int) {
        // Another thread (a new loop thread) starts a new series.
        if let last = readings.last, last.thread != reading.thread { readings.removeAll() }
        readings.append(reading)
        if readings.count > capacity { readings.removeFirst(readings.count - capacity) }
    }

    /// From the last reading at or before `since` (the oldest kept when none is) to the last one, less the time
    /// between that first reading and `since` and between `until` and the last reading (see the type's comment).
    private static func span(_ readings: [Reading], since: Int64, until: Int64) -> ThreadSpan? {
        guard let last = readings.last, let first = readings.last(where: { $0.at <= since }) ?? readings.first
        else { return nil }
        let span = last.activity.since(first.activity)
        let outside = Duration.nanoseconds(max(0, since - first.at) + max(0, last.at - min(until, last.at)))
        return ThreadSpan(
            onCPU: max(.zero, span.onCPU - outside), waited: max(.zero, span.waited - outside), state: span.state)
    }
}

extension Duration {
    /// In whole nanoseconds (`clampedNanoseconds`, Config's one conversion).
    var nanoseconds: Int64 { clampedNanoseconds }

    /// `2350.0`: milliseconds with one decimal, as the watchdog's log lines print them.
    var millisecondsText: String { fixedPoint(Double(nanoseconds) / 1e6, digits: 1) }
}

/// Whether a worker that has not said hello yet is running: read from `/proc/PID/stat` by the watchdog.
public struct StartupProgress: Hashable, Sendable {
    /// The scheduler state: `R` running or runnable, `D` in disk wait, `S` sleeping, `T` stopped, …
    public var state: Character
    /// User and system CPU time, in clock ticks.
    public var cpuTicks: UInt64

    public init(state: Character, cpuTicks: UInt64) {
        self.state = state
        self.cpuTicks = cpuTicks
    }

    /// Parses `/proc/PID/stat`: `pid (comm) state ppid …`, utime and stime the 14th and 15th fields. The command
    /// name may hold spaces and parentheses, so the fields are counted after its last `)`.
    public init?(procStat text: String) {
        guard let parsed = Array(text.utf8).withUnsafeBufferPointer({ StartupProgress(procStat: $0) }) else {
            return nil
        }
        self = parsed
    }

    /// The same from the file's bytes.
    init?(procStat bytes: UnsafeBufferPointer<UInt8>) {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var fields = ProcFields(bytes[(close + 1)...])
        // The state is field 3; utime is field 14, stime field 15 (the 12th and 13th after the state).
        guard let stateWord = fields.nextWord(), stateWord.count == 1, let stateByte = stateWord.first else {
            return nil
        }
        for _ in 0..<10 {
            guard fields.nextWord() != nil else { return nil }
        }
        guard let user = fields.next(), let system = fields.next() else { return nil }
        self.init(state: Character(Unicode.Scalar(stateByte)), cpuTicks: user &+ system)
    }

    /// Progress since `previous`: runnable or waiting on the disk now, or CPU time spent since.
    public func progressed(since previous: StartupProgress?) -> Bool {
        if state == "R" || state == "D" { return true }
        guard let previous else { return false }
        return cpuTicks > previous.cpuTicks
    }
}
