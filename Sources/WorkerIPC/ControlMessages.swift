/// The version of the `vigilctl` ⇄ `vigild` control-socket protocol.
public let controlProtocolVersion = 2

/// What `vigilctl` asks.
public enum ControlRequest: Codable, Sendable, Hashable {
    case status
    case reload
    /// `vigilctl reload --check`: validate the file as a reload would, change nothing.
    case reloadCheck
    /// `vigilctl reload --diff`: what a reload would change, change nothing.
    case reloadDiff
    case stop
    /// Debug builds only (supervision tests): keep a worker's engine loop busy (`WorkerCommand.stall`).
    case debugStall(role: WorkerRole, milliseconds: Int, slices: Int)
}

/// The last reload, as `vigilctl status` reports it.
public struct ReloadReport: Codable, Sendable, Hashable {
    /// Seconds since the daemon started when the reload was asked for.
    public var atUptimeSeconds: Double
    public var succeeded: Bool
    /// "reloaded /etc/keepalived/keepalived.conf" or the errors with file and line.
    public var message: String
    /// The changes an applied reload made (instances, addresses, virtual and real servers, as `reload --diff`
    /// lists them); nil for a refused one.
    public var changes: Int?

    public init(atUptimeSeconds: Double, succeeded: Bool, message: String, changes: Int? = nil) {
        self.atUptimeSeconds = atUptimeSeconds
        self.succeeded = succeeded
        self.message = message
        self.changes = changes
    }
}

/// What `vigild` answers.
public enum ControlResponse: Codable, Sendable, Hashable {
    case status(DaemonStatus)
    /// The request was carried out (or started); the text says what happened.
    case done(String)
    /// The request was refused; the text says why (an invalid configuration, a daemon stopping).
    case refused(String)
}

/// One worker as the watchdog sees it.
public struct WorkerStatus: Codable, Sendable, Hashable {
    public var role: WorkerRole
    /// Nil while the worker is being restarted.
    public var pid: Int32?
    public var uptimeSeconds: Double?
    public var restartCount: Int
    /// Seconds since the last heartbeat answer; nil before the first.
    public var lastHeartbeatSecondsAgo: Double?
    /// Milliseconds from the last worker death to its replacement's hello.
    public var lastRestartMilliseconds: Double?
    /// The longest the worker's engine loop made a beacon wait during the last heartbeat interval (loop lag), in
    /// milliseconds; nil before the first heartbeat.
    public var loopLagMilliseconds: Double?
    /// How long the engine had made no progress when the worker last answered, in milliseconds.
    public var progressAgeMilliseconds: Double?
    /// Why the worker was last killed by the watchdog (missed heartbeats, or a loop stuck in one task).
    public var lastKillReason: String?
    /// The running worker has applied its configuration and reported its state (false while it starts up).
    public var ready: Bool?
    /// The checker worker's last statistics (checks, lateness, IPVS writes and reads).
    public var checker: CheckerStatistics?
    /// The checker worker's last read of the kernel's IPVS counters (connections, packets, bytes).
    public var ipvs: IPVSStatisticsReport?
    /// The last state the worker reported (kept across restarts).
    public var state: WorkerState?
    /// The worker process's resident memory (`VmRSS`, KiB), read by the watchdog at its last heartbeat.
    public var residentKiB: Int?
    /// Times the watchdog found the worker silent past its limit but starved of CPU, not hung, and let it run.
    public var starvedCount: Int?
    /// Starved right now (silent past the limit, waiting for a CPU).
    public var starvedNow: Bool?

    public init(
        role: WorkerRole, pid: Int32?, uptimeSeconds: Double?, restartCount: Int, lastHeartbeatSecondsAgo: Double?,
        lastRestartMilliseconds: Double?, loopLagMilliseconds: Double? = nil, progressAgeMilliseconds: Double? = nil,
        lastKillReason: String? = nil, ready: Bool? = nil, checker: CheckerStatistics? = nil,
        ipvs: IPVSStatisticsReport? = nil, state: WorkerState?, residentKiB: Int? = nil, starvedCount: Int? = nil,
        starvedNow: Bool? = nil
    ) {
        self.starvedCount = starvedCount
        self.starvedNow = starvedNow
        self.role = role
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.restartCount = restartCount
        self.lastHeartbeatSecondsAgo = lastHeartbeatSecondsAgo
        self.lastRestartMilliseconds = lastRestartMilliseconds
        self.loopLagMilliseconds = loopLagMilliseconds
        self.progressAgeMilliseconds = progressAgeMilliseconds
        self.lastKillReason = lastKillReason
        self.ready = ready
        self.checker = checker
        self.ipvs = ipvs
        self.state = state
        self.residentKiB = residentKiB
    }
}

/// `vigilctl status`.
/// BGP anycast as the watchdog runs it: the route table and each announced address.
public struct AnycastStatus: Codable, Sendable, Hashable {
    public var table: UInt32
    public var protocolNumber: UInt8
    public var addresses: [AnycastAddressStatus]

    public init(table: UInt32, protocolNumber: UInt8, addresses: [AnycastAddressStatus]) {
        self.table = table
        self.protocolNumber = protocolNumber
        self.addresses = addresses
    }
}

/// One announced address: whether its route is in the table, why, and how often that changed.
public struct AnycastAddressStatus: Codable, Sendable, Hashable {
    public var address: String
    public var announced: Bool
    /// `3/4 up >= announce_up 3`, `the checker worker is gone for 12 s > announce_grace_period 10 s`.
    public var reason: String
    /// Announcements and withdrawals since vigild started.
    public var changes: Int

    public init(address: String, announced: Bool, reason: String, changes: Int) {
        self.address = address
        self.announced = announced
        self.reason = reason
        self.changes = changes
    }
}

public struct DaemonStatus: Codable, Sendable, Hashable {
    public var pid: Int32
    public var version: String
    public var configFile: String
    public var uptimeSeconds: Double
    public var stopping: Bool
    public var workers: [WorkerStatus]
    /// The last reload (SIGHUP or `vigilctl reload`), nil before the first.
    public var lastReload: ReloadReport?
    /// Reloads applied and refused since the daemon started.
    public var reloadsApplied: Int
    public var reloadsRefused: Int
    /// When the daemon started, in seconds since the Unix epoch (wall clock).
    public var startedAtUnixSeconds: Double?
    /// The latest events (VRRP state changes, real servers up and down, worker restarts, reloads), oldest first.
    public var recentEvents: [DaemonEvent]
    /// Where metrics, the status page and `/status.json` are served (`127.0.0.1:9165`), nil when they are not.
    public var metricsListen: String?
    /// The watchdog's resident memory (`VmRSS`, KiB) at its last heartbeat.
    public var residentKiB: Int?
    /// BGP anycast: each announced address's route and why (nil without `announce_table`).
    public var anycast: AnycastStatus?
    /// `WATCHDOG=1` messages vigild held back from systemd because a worker was not alive (nil when systemd asked
    /// for none).
    public var systemdWatchdogWithheld: Int?
    /// The IPVS rules the watchdog wrote at the start while the checker worker started (nil: none to write, or still
    /// being written).
    public var startRules: StartRulesReport?

    public init(
        pid: Int32, version: String, configFile: String, uptimeSeconds: Double, stopping: Bool, workers: [WorkerStatus],
        lastReload: ReloadReport? = nil, reloadsApplied: Int = 0, reloadsRefused: Int = 0,
        startedAtUnixSeconds: Double? = nil, recentEvents: [DaemonEvent] = [], metricsListen: String? = nil,
        residentKiB: Int? = nil, anycast: AnycastStatus? = nil, systemdWatchdogWithheld: Int? = nil,
        startRules: StartRulesReport? = nil
    ) {
        self.pid = pid
        self.version = version
        self.configFile = configFile
        self.uptimeSeconds = uptimeSeconds
        self.stopping = stopping
        self.workers = workers
        self.lastReload = lastReload
        self.reloadsApplied = reloadsApplied
        self.reloadsRefused = reloadsRefused
        self.startedAtUnixSeconds = startedAtUnixSeconds
        self.recentEvents = recentEvents
        self.metricsListen = metricsListen
        self.residentKiB = residentKiB
        self.anycast = anycast
        self.systemdWatchdogWithheld = systemdWatchdogWithheld
        self.startRules = startRules
    }

    /// The operator's view, as `vigilctl status` prints it.
    public var rendered: String {
        var lines = [
            "vigild \(version), pid \(pid), up \(Self.seconds(uptimeSeconds))\(Self.resident(residentKiB)), "
                + "config \(configFile)" + (stopping ? " (stopping)" : "")
        ]
        if let metricsListen { lines.append("metrics and status page: http://\(metricsListen)/") }
        if let reload = lastReload {
            let ago = Self.seconds(max(0, uptimeSeconds - reload.atUptimeSeconds))
            lines.append(
                "last reload \(ago) ago: "
                    + (reload.succeeded
                        ? "applied"
                        : "REFUSED, still running the previous "
                            + "configuration: \(reload.message)"))
        }
        if let startRules { lines.append(startRules.rendered) }
        for worker in workers {
            let pid = worker.pid.map { "pid \($0)" } ?? "not running"
            let uptime = worker.uptimeSeconds.map { ", up \(Self.seconds($0))" } ?? ""
            let starting = worker.pid != nil && worker.ready == false ? " (starting: applying its configuration)" : ""
            let heartbeat = worker.lastHeartbeatSecondsAgo.map { ", last heartbeat \(Self.seconds($0)) ago" } ?? ""
            let lag = worker.loopLagMilliseconds.map { ", loop lag \(fixedPoint($0, digits: 1)) ms" } ?? ""
            let resident = worker.pid == nil ? "" : Self.resident(worker.residentKiB)
            lines.append(
                "\(worker.role) worker: \(pid)\(uptime)\(resident), \(worker.restartCount) restarts\(heartbeat)\(lag)"
                    + starting)
            if let reason = worker.lastKillReason { lines.append("  last killed: \(reason)") }
            if let starved = worker.starvedCount, starved > 0 || worker.starvedNow == true {
                lines.append(
                    "  starved of CPU \(starved) time\(starved == 1 ? "" : "s") (silent past the heartbeat limit while "
                        + "waiting for a CPU; not killed)\(worker.starvedNow == true ? ": starved now" : "")")
            }
            if let checker = worker.checker { lines += Self.render(checker) }
            for instance in worker.state?.vrrpInstances ?? [] {
                let held =
                    instance.heldAddresses.isEmpty ? "" : " holding \(instance.heldAddresses.joined(separator: ", "))"
                var detail = ""
                if let priority = instance.effectivePriority ?? instance.priority {
                    detail += ", priority \(priority)"
                    if let base = instance.priority, base != priority { detail += " (configured \(base))" }
                }
                if let reason = instance.reason { detail += " (\(reason))" }
                lines.append("  vrrp_instance \(instance.name): \(instance.state.rawValue)\(held)\(detail)")
                let errors = (instance.counters ?? [:]).filter {
                    ($0.key.hasPrefix("dropped_") || $0.key.hasSuffix("_errors")) && $0.value > 0
                }
                if !errors.isEmpty {
                    lines.append(
                        "    dropped: "
                            + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                            .joined(separator: ", "))
                }
            }
            for session in worker.state?.bfdSessions ?? [] { lines += Self.render(session) }
            for server in worker.state?.virtualServers ?? [] {
                lines.append("  virtual_server \(server.name): \(server.health.rawValue)")
                for real in server.realServers {
                    let weight = real.weight.map { ", weight \($0)" } ?? ""
                    let detail = real.detail.map { " (\($0))" } ?? ""
                    lines.append("    real_server \(real.address): \(real.health.rawValue)\(weight)\(detail)")
                }
            }
        }
        if let anycast {
            lines.append("anycast: routes in table \(anycast.table), protocol \(anycast.protocolNumber)")
            for address in anycast.addresses {
                lines.append(
                    "  \(address.address): \(address.announced ? "announced" : "withdrawn") (\(address.reason)), "
                        + "\(address.changes) changes")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `  bfd_instance bfd1: Up (neighbor 192.0.2.2 Up), tx 10.0 ms, detection 30.0 ms, 1234 sent 1230 received`.
    static func render(_ session: BFDSessionReport) -> [String] {
        func ms(_ microseconds: Int64?) -> String {
            microseconds.map { fixedPoint(Double($0) / 1000, digits: 1) + " ms" } ?? "-"
        }
        let counters = session.counters ?? [:]
        var line =
            "  bfd_instance \(session.name): \(session.state.rawValue) (neighbor \(session.neighbor) "
            + "\(session.remoteState.rawValue)\(session.multihop ? ", multihop" : "")), tx \(ms(session.transmitIntervalMicroseconds)), "
            + "detection \(ms(session.detectionTimeMicroseconds)), \(counters["packets_sent"] ?? 0) sent "
            + "\(counters["packets_received"] ?? 0) received"
        if session.state != .up && session.up { line += "; trackers still see it up (the neighbour is AdminDown)" }
        var lines = [line]
        let drops = counters.filter { $0.key.hasPrefix("dropped_") && $0.value > 0 }
        if !drops.isEmpty {
            lines.append(
                "    dropped: "
                    + drops.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines
    }

    /// The checker's two lines of `vigilctl status` (checks and lateness; IPVS writes and reads).
    public static func render(_ checker: CheckerStatistics) -> [String] {
        func ms(_ value: Double?) -> String { value.map { fixedPoint($0, digits: 1) + " ms" } ?? "-" }
        let rate = checker.checksPerSecond.map { fixedPoint($0, digits: 0) + "/s" } ?? "-"
        return [
            "  checks: \(rate), lateness p50 \(ms(checker.latenessP50Milliseconds)) p99 \(ms(checker.latenessP99Milliseconds)), "
                + "duration p50 \(ms(checker.durationP50Milliseconds)) p99 \(ms(checker.durationP99Milliseconds)), "
                + "in flight \(checker.inFlight) of \(checker.inFlightLimit); \(checker.checksStarted) started, "
                + "\(checker.checksFailed) failed, \(checker.checksNotRun) not run",
            "  ipvs: \(checker.ipvsAvailable ? "available" : "UNAVAILABLE"), \(checker.ipvsWrites) writes "
                + "(\(checker.ipvsFailures) refused), \(checker.ipvsFullReads) full table reads, "
                + "\(checker.ipvsVerifyDumps) drift-check dumps, \(checker.ipvsRepairs) repairs; counters: "
                + "\(checker.ipvsCounterDumps) real-server dumps, \(checker.ipvsCountersKept) services unchanged",
        ]
    }

    private static func seconds(_ value: Double) -> String {
        value < 10 ? fixedPoint(value, digits: 2) + "s" : fixedPoint(value, digits: 0) + "s"
    }

    /// `", 6.6 MiB resident"`, or "" when unknown.
    private static func resident(_ kib: Int?) -> String {
        guard let kib, kib > 0 else { return "" }
        return ", \(fixedPoint(Double(kib) / 1024, digits: 1)) MiB resident"
    }
}

/// `vigilctl status --json`: the status alone, pretty-printed with sorted keys.
public enum StatusJSON {
    public static func encode(_ status: DaemonStatus) -> [UInt8] {
        // The status types encode without throwing (no custom encoders).
        Array(((try? JSONText.encode(status)) ?? "{}").utf8)
    }
}
