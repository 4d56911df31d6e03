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
/// Pure: the caller measures uptimes with its clock.
public struct SupervisionPolicy: Hashable, Sendable {
    /// A worker that ran at least this long was healthy: its death does not count towards a crash loop.
    public var stableUptime: Duration = .seconds(1)
    /// The delay after the second quick death in a row; it doubles with each further one.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(30)

    public init() {}

    public init(stableUptime: Duration, initialBackoff: Duration, maximumBackoff: Duration) {
        self.stableUptime = stableUptime
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// Decides what to do about a worker that ended.
    /// - Parameters:
    ///   - quickDeaths: how many deaths in a row, before this one, came sooner than `stableUptime`;
    ///     updated for this death.
    public func decide(
        role: String, exit: WorkerExit, uptime: Duration, quickDeaths: inout Int
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
        if uptime >= stableUptime {
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

/// Heartbeats: the watchdog pings every `interval`; a worker silent for `missedLimit` intervals (or,
/// before its hello, for `startupTimeout`) is considered hung and is killed.
public struct HeartbeatPolicy: Hashable, Sendable {
    public var interval: Duration
    public var missedLimit: Int = 2
    public var startupTimeout: Duration = .seconds(5)
    /// How long a worker may take to apply a configuration (its engine loop is busy and answers no ping) before
    /// its first state report: a 1,000-service start on a slow machine takes seconds, not a hang.
    public var configureTimeout: Duration = .seconds(60)

    public init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Whether a worker last heard from `silence` ago is hung.
    /// - Parameter configuring: a configuration was sent and the worker has not reported its state since.
    public func isHung(silence: Duration, helloReceived: Bool, configuring: Bool = false) -> Bool {
        if configuring { return silence > max(configureTimeout, interval * missedLimit) }
        return helloReceived
            ? silence > interval * missedLimit : silence > max(startupTimeout, interval * missedLimit)
    }
}
