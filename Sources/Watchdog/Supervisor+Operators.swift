import Config
import Monitoring
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The watchdog's side of what operators' tools read: the metrics listener (`--metrics-listen`, `metrics_listen`),
/// systemd's notifications, and the log of recent events that `vigilctl status --json` and the status page show.
struct OperatorInterfaces {
    var metrics: MetricsServer?
    var notify: (socket: SystemdNotifySocket, policy: SystemdNotifyPolicy)?
    var events = EventLog()
    /// When the watchdog started, wall clock (seconds since the Unix epoch).
    let startedAtUnixSeconds = wallClockSeconds()
    var reloadsApplied = 0
    var reloadsRefused = 0
}

/// The latest events, oldest first, at most `capacity`.
struct EventLog {
    static let capacity = 50
    private(set) var events: [DaemonEvent] = []

    mutating func record(_ source: String, _ summary: String, at unixSeconds: Double = wallClockSeconds()) {
        events.append(DaemonEvent(atUnixSeconds: unixSeconds, source: source, summary: summary))
        if events.count > Self.capacity { events.removeFirst(events.count - Self.capacity) }
    }
}

/// CLOCK_REALTIME in seconds since the Unix epoch.
func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension Supervisor {
    /// Where the metrics listener should be: the command line's address, else the configuration's.
    var wantedMetricsAddress: ListenAddress? {
        options.metricsListen ?? loaded.config.globalDefs.metricsListen
    }

    /// Starts what systemd and monitoring read; a metrics address that cannot be bound fails the start (before the
    /// control socket is taken, so `vigild` without `-n` reports the failure).
    func startOperatorInterfaces() throws(WatchdogError) {
        if let (socket, watchdog) = SystemdNotifySocket.fromEnvironment(logger: logger) {
            operators.notify = (socket, SystemdNotifyPolicy(watchdogPeriod: watchdog.map { $0 * 1000 / 2 }))
            logger.info(
                "notifying systemd at \(socket.path)\(watchdog.map { ", WATCHDOG=1 every \($0 / 2000) ms" } ?? "")")
        }
        if let address = wantedMetricsAddress {
            operators.metrics = try MetricsServer(address: address, logger: logger)
            logger.info("serving metrics and status on http://\(address)/")
        }
    }

    /// After a reload: the listener follows `metrics_listen` (a new address that cannot be bound is logged, and
    /// nothing is served until the next reload).
    func reconcileMetricsListener() {
        let wanted = wantedMetricsAddress
        guard operators.metrics?.address != wanted else { return }
        operators.metrics?.stop()
        operators.metrics = nil
        guard let wanted else {
            logger.info("metrics listener closed (metrics_listen removed)")
            return
        }
        do {
            operators.metrics = try MetricsServer(address: wanted, logger: logger)
            logger.info("serving metrics and status on http://\(wanted)/")
        } catch {
            logger.error("\(error); metrics and status are not served")
            recordEvent("watchdog", "metrics listener: \(error)")
        }
    }

    /// When the operators' interfaces next need the loop.
    func operatorInterfacesWakeAt(now: Int64) -> Int64? {
        operators.notify?.policy.wakeAt(now: now)
    }

    /// Gives back what answering operators ran (`vigilctl`, the metrics listener's pages), `MemoryTrim.settleDelay`
    /// after the last request: one `vigilctl status` and one scrape left 2.6-3.4 MiB of code, constants, library code
    /// and the listener's malloc arena that the watchdog otherwise kept until the next reload (20 VRRP instances,
    /// BENCHMARKS.md "2026-12-05 (night)"). A scraper that asks more often than that keeps what it runs; one that asks
    /// less often has it faulted back in, from the page cache, at its next request. Not while a load's own trims are
    /// still to come. Logged at debug level: with a scrape every 15 s it runs four times a minute.
    func trimAfterOperatorQueries(now: Int64) {
        if let metrics = operators.metrics, metrics.responsesSent != metricsResponsesSeen {
            metricsResponsesSeen = metrics.responsesSent
            operatorQueryTrimAt = now + MemoryTrim.settleDelay
        }
        guard let at = operatorQueryTrimAt, now >= at, !stopping else { return }
        operatorQueryTrimAt = nil
        guard !trimPending, settledTrimAt == nil else { return }
        let trimmed = MemoryTrim.trim()
        logger.debug("memory given back after operators' requests: \(trimmed)")
    }

    /// Once per turn of the watchdog's loop: the snapshot for the metrics listener, and systemd's messages.
    func operatorInterfacesTick() {
        if let metrics = operators.metrics {
            metrics.publish(
                MonitoringSnapshot(
                    status: status(), config: loaded.config, takenAtUnixSeconds: wallClockSeconds(),
                    takenAtMonotonicNanoseconds: monotonicNanoseconds()))
        }
        guard var notify = operators.notify else { return }
        let now = monotonicNanoseconds()
        let running = slots.values.filter { !$0.retired }
        let allReported = running.allSatisfy { $0.pid != nil && $0.reportedState }
        // Alive: answering heartbeats (none unanswered for a whole interval) and making progress — half of what
        // gets a worker killed, so WATCHDOG=1 stops as soon as a worker stops answering, before it is replaced.
        let interval = heartbeat.interval.nanoseconds
        let alive = running.allSatisfy { slot in
            guard slot.pid != nil, slot.helloAt != nil else { return false }
            let oldestUnanswered = slot.unanswered.first.map { now - $0.sentAt } ?? 0
            return oldestUnanswered <= interval && (slot.lastHeartbeat?.progressAge ?? 0) <= interval
        }
        for message in notify.policy.update(
            now: now, allReported: allReported, workersAlive: alive, status: systemdStatusLine())
        {
            notify.socket.send(message)
        }
        operators.notify = notify
    }

    /// `STATUS=`: one line on what runs (`VRRP: 1 MASTER, 1 BACKUP; checker: 3/4 real servers up`).
    func systemdStatusLine() -> String {
        var parts: [String] = []
        for role in WorkerRole.allCases {
            guard let slot = slots[role], !slot.retired else { continue }
            guard slot.pid != nil else {
                parts.append("\(role) worker restarting")
                continue
            }
            guard slot.reportedState, let state = slot.state else {
                parts.append("\(role) worker starting")
                continue
            }
            var facts: [String] = []
            let instances = state.vrrpInstances
            if !instances.isEmpty {
                let counts = Dictionary(grouping: instances, by: \.state).mapValues(\.count)
                facts.append(
                    VRRPInstanceReport.State.allCasesForStatus.compactMap { state in
                        counts[state].map { "\($0) \(state.rawValue)" }
                    }.joined(separator: ", "))
            }
            let reals = state.virtualServers.flatMap(\.realServers)
            if !reals.isEmpty {
                facts.append("\(reals.filter { $0.health == .up }.count)/\(reals.count) real servers up")
            }
            parts.append("\(role): " + (facts.isEmpty ? "running" : facts.joined(separator: "; ")))
        }
        if parts.isEmpty { return "no worker: the configuration has no vrrp_instance and no virtual_server" }
        if lastReload?.succeeded == false { parts.append("last reload refused") }
        return parts.joined(separator: "; ")
    }

    /// A reload starts (SIGHUP, `vigilctl reload`).
    func operatorInterfacesReloading() {
        guard var notify = operators.notify else { return }
        let now = monotonicNanoseconds()
        let roles = slots.values.filter { $0.helloAt != nil && !$0.retired }.map(\.role.rawValue)
        notify.socket.send(notify.policy.reloading(roles: roles, now: now, monotonicMicroseconds: now / 1000))
        operators.notify = notify
    }

    /// A reload ended: applied (then the listener follows the new file) or refused.
    func operatorInterfacesReloaded(_ report: ReloadReport) {
        if report.succeeded {
            operators.reloadsApplied += 1
            reconcileMetricsListener()
            for role in WorkerRole.allCases where slots[role] == nil || slots[role]?.retired == true {
                operators.notify?.policy.forget(role: role.rawValue)
            }
        } else {
            operators.reloadsRefused += 1
            // Nothing changes: ready again at once.
            for role in WorkerRole.allCases { operators.notify?.policy.forget(role: role.rawValue) }
        }
        let first = report.message.split(separator: "\n").dropFirst().first.map { ": \($0)" } ?? ""
        recordEvent(
            "watchdog",
            report.succeeded
                ? "reload applied (\(report.message))" : "reload REFUSED, previous configuration kept\(first)")
    }

    /// A worker reported its state.
    func operatorInterfacesReported(_ role: WorkerRole) {
        operators.notify?.policy.reported(role: role.rawValue)
    }

    func recordEvent(_ source: String, _ summary: String) {
        operators.events.record(source, summary)
    }

    /// Stopping: systemd hears STOPPING=1 (the listener serves until the end).
    func operatorInterfacesStopping() {
        guard var notify = operators.notify else { return }
        notify.socket.send(notify.policy.stop(status: "stopping: releasing VIPs and IPVS rules"))
        operators.notify = notify
    }

    func stopOperatorInterfaces() {
        operators.metrics?.stop()
        operators.metrics = nil
        operators.notify?.socket.close()
        operators.notify = nil
    }
}

extension VRRPInstanceReport.State {
    /// The order `STATUS=` lists states in.
    static let allCasesForStatus: [VRRPInstanceReport.State] = [.master, .backup, .fault, .initializing, .stopped]
}
