import Config
import WorkerIPC

/// The metrics `/metrics` serves, from a `MonitoringSnapshot`.
///
/// The `keepalived_*` families carry the names, labels and values of the two keepalived exporters in wide use, so
/// dashboards and alerts written for keepalived keep working: the VRRP families of mehdy/keepalived-exporter
/// (`keepalived_vrrp_state{iname,intf,vrid,ip_address}`, `keepalived_advertisements_received_total{iname,intf,vrid}`,
/// …) and the IPVS families of gen2brain/keepalived_exporter (`keepalived_lvs_vip_conn{addr,proto}`,
/// `keepalived_lvs_rs_in_packets{vip,addr,proto}`, …). The `vigil_*` families tell what keepalived cannot: the
/// workers' supervision, reloads, the checker's timing, real servers' health and weight, IPVS writes and repairs,
/// and every VRRP receive check's drops.
public enum VigilMetrics {
    /// keepalived's numbers for a VRRP state (`VRRP_STATE_*`): INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98.
    public static func keepalivedStateNumber(_ state: VRRPInstanceReport.State) -> Int64 {
        switch state {
        case .initializing: 0
        case .backup: 1
        case .master: 2
        case .fault: 3
        case .stopped: 98
        }
    }

    /// The VRRP receive-error counters keepalived keeps, by the exporter's metric name, and the Vigil counters (of
    /// `VRRPInstanceReport.counters`) that make each. Vigil counts an unknown authentication type and a mismatched
    /// one as one receive check, `authenticationType`: both are in `keepalived_authentication_mismatch_total`.
    static let keepalivedErrorCounters: [(name: String, help: String, counters: [String])] = [
        ("keepalived_packet_length_errors_total", "Adverts dropped for their length.", ["dropped_length"]),
        (
            "keepalived_advertisements_interval_errors_total", "Adverts whose interval differs from ours.",
            ["dropped_advertisementInterval", "warning_advertisementInterval"]
        ),
        (
            "keepalived_ip_ttl_errors_total", "Adverts dropped for a TTL / hop limit other than 255.",
            ["dropped_hopLimit"]
        ),
        (
            "keepalived_invalid_type_received_total", "Packets dropped for a VRRP type other than ADVERTISEMENT.",
            ["dropped_type"]
        ),
        (
            "keepalived_address_list_errors_total", "Adverts whose address list differs from ours.",
            ["dropped_addressList", "warning_addressList"]
        ),
        (
            "keepalived_authentication_mismatch_total",
            "Adverts dropped for an authentication type other than ours (an unknown one included).",
            ["dropped_authenticationType", "dropped_authenticationUnsupported"]
        ),
        (
            "keepalived_authentication_failure_total", "Adverts dropped for a wrong password.",
            ["dropped_authentication"]
        ),
    ]

    /// Every family, in a fixed order; families without samples are left out of the text.
    public static func families(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        daemonFamilies(snapshot) + vrrpFamilies(snapshot) + checkerFamilies(snapshot) + ipvsFamilies(snapshot)
            + anycastFamilies(snapshot)
    }

    /// The exposition text of every family.
    public static func exposition(_ snapshot: MonitoringSnapshot) -> String {
        families(snapshot).exposition()
    }

    // MARK: The daemon and its workers

    static func daemonFamilies(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        let status = snapshot.status
        let allReady = !status.stopping && status.workers.allSatisfy { $0.pid != nil && $0.ready == true }
        var up = MetricFamily(
            "keepalived_up", .gauge,
            help: "1 when every worker the configuration needs is running and has reported its state (vigild).")
        up.add(.flag(allReady))

        var info = MetricFamily("vigil_build_info", .gauge, help: "The running vigild's version; always 1.")
        info.add(.integer(1), [("version", status.version)])
        var started = MetricFamily(
            "vigil_start_time_seconds", .gauge, help: "When vigild started, in seconds since the Unix epoch.")
        if let at = status.startedAtUnixSeconds { started.add(.real(at)) }

        var workerUp = MetricFamily(
            "vigil_worker_up", .gauge, help: "1 when the worker runs and has applied its configuration and reported.")
        var restarts = MetricFamily(
            "vigil_worker_restarts_total", .counter, help: "Times the watchdog replaced the worker (death or hang).")
        var starved = MetricFamily(
            "vigil_worker_starved_total", .counter,
            help: "Times the worker was silent past the heartbeat limit while starved of CPU, and left to run.")
        var heartbeatAge = MetricFamily(
            "vigil_worker_heartbeat_age_seconds", .gauge, help: "Time since the worker last answered a heartbeat.")
        var loopLag = MetricFamily(
            "vigil_worker_loop_lag_seconds", .gauge,
            help: "The longest the worker's event loop kept a beacon waiting in the last heartbeat interval.")
        var progressAge = MetricFamily(
            "vigil_worker_progress_age_seconds", .gauge,
            help: "How long the worker's engine had made no progress when it last answered a heartbeat.")
        var restartLatency = MetricFamily(
            "vigil_worker_last_restart_seconds", .gauge,
            help: "From the last death of the worker to its replacement's hello.")
        var resident = MetricFamily(
            "vigil_process_resident_bytes", .gauge,
            help: "Resident memory (VmRSS) of the watchdog (role \"watchdog\") and of each running worker.")
        if let kib = status.residentKiB { resident.add(.integer(UInt64(kib) * 1024), [("role", "watchdog")]) }
        for worker in status.workers {
            let role = [("role", worker.role.rawValue)]
            if worker.pid != nil, let kib = worker.residentKiB { resident.add(.integer(UInt64(kib) * 1024), role) }
            workerUp.add(.flag(worker.pid != nil && worker.ready == true), role)
            restarts.add(.integer(UInt64(max(0, worker.restartCount))), role)
            if let count = worker.starvedCount { starved.add(.integer(UInt64(max(0, count))), role) }
            if let age = worker.lastHeartbeatSecondsAgo { heartbeatAge.add(.real(age), role) }
            if let lag = worker.loopLagMilliseconds { loopLag.add(.real(lag / 1000), role) }
            if let age = worker.progressAgeMilliseconds { progressAge.add(.real(age / 1000), role) }
            if let latency = worker.lastRestartMilliseconds { restartLatency.add(.real(latency / 1000), role) }
        }

        var reloads = MetricFamily(
            "vigil_reloads_total", .counter, help: "Reloads (SIGHUP, vigilctl reload) applied and refused.")
        reloads.add(.integer(UInt64(max(0, status.reloadsApplied))), [("outcome", "applied")])
        reloads.add(.integer(UInt64(max(0, status.reloadsRefused))), [("outcome", "refused")])
        var reloadTime = MetricFamily(
            "vigil_last_reload_timestamp_seconds", .gauge,
            help: "When the last reload was asked for, in seconds since the Unix epoch.")
        var reloadSuccess = MetricFamily(
            "vigil_last_reload_success", .gauge,
            help: "1 when the last reload was applied, 0 when it was refused (the previous configuration runs).")
        var reloadChanges = MetricFamily(
            "vigil_last_reload_changes", .gauge, help: "Changes the last applied reload made (as reload --diff lists).")
        if let reload = status.lastReload {
            if let started = status.startedAtUnixSeconds { reloadTime.add(.real(started + reload.atUptimeSeconds)) }
            reloadSuccess.add(.flag(reload.succeeded))
            if let changes = reload.changes { reloadChanges.add(.integer(UInt64(max(0, changes)))) }
        }
        return [
            up, info, started, workerUp, restarts, starved, heartbeatAge, loopLag, progressAge, restartLatency,
            resident,
            reloads, reloadTime, reloadSuccess, reloadChanges,
        ]
    }

    // MARK: Anycast

    static func anycastFamilies(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        guard let anycast = snapshot.status.anycast else { return [] }
        var announced = MetricFamily(
            "vigil_anycast_announced", .gauge,
            help: "1 while the address's route is in announce_table (the BGP daemon announces it), else 0.")
        var changes = MetricFamily(
            "vigil_anycast_changes_total", .counter, help: "Announcements and withdrawals of the address.")
        for address in anycast.addresses {
            let labels = [("address", address.address), ("table", "\(anycast.table)")]
            announced.add(.flag(address.announced), labels)
            changes.add(.integer(UInt64(max(0, address.changes))), labels)
        }
        return [announced, changes]
    }

    // MARK: VRRP

    static func vrrpFamilies(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        var state = MetricFamily(
            "keepalived_vrrp_state", .gauge,
            help: "VRRP state of the instance, one series per virtual address: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, "
                + "98 STOP.")
        var excluded = MetricFamily(
            "keepalived_vrrp_excluded_state", .gauge,
            help: "VRRP state of the instance, one series per excluded virtual address (virtual_ipaddress_excluded).")
        var received = MetricFamily(
            "keepalived_advertisements_received_total", .counter, help: "Adverts received for the instance.")
        var sent = MetricFamily("keepalived_advertisements_sent_total", .counter, help: "Adverts sent.")
        var becameMaster = MetricFamily(
            "keepalived_become_master_total", .counter, help: "Times the instance became MASTER.")
        var releasedMaster = MetricFamily(
            "keepalived_release_master_total", .counter, help: "Times the instance left MASTER.")
        var priorityZeroReceived = MetricFamily(
            "keepalived_priority_zero_received_total", .counter, help: "Adverts of priority 0 (a master resigning).")
        var priorityZeroSent = MetricFamily(
            "keepalived_priority_zero_sent_total", .counter, help: "Adverts of priority 0 sent (resigning).")
        var errors = keepalivedErrorCounters.map { MetricFamily($0.name, .counter, help: $0.help) }
        var scripts = MetricFamily(
            "keepalived_script_status", .gauge, help: "vrrp_script status after rise and fall: 1 GOOD, 0 BAD.")

        var priority = MetricFamily(
            "vigil_vrrp_priority", .gauge, help: "The instance's priority in effect (after tracking weights).")
        var configuredPriority = MetricFamily(
            "vigil_vrrp_configured_priority", .gauge, help: "The instance's configured priority.")
        var held = MetricFamily(
            "vigil_vrrp_addresses_held", .gauge, help: "Virtual addresses the instance has on its interfaces now.")
        var dropped = MetricFamily(
            "vigil_vrrp_dropped_packets_total", .counter,
            help: "Packets the instance dropped, by the receive check that failed (RFC 3768/5798 §7.1).")
        var sendErrors = MetricFamily("vigil_vrrp_send_errors_total", .counter, help: "Adverts that failed to send.")
        var lowerPriority = MetricFamily(
            "vigil_vrrp_lower_priority_heard_total", .counter,
            help: "Adverts of a lower priority heard as MASTER: a peer that thinks it is master (split brain).")

        for (_, workerState) in snapshot.workersWithState {
            for report in workerState.vrrpInstances {
                let configured = snapshot.instance(named: report.name)
                let interface = configured.map(snapshot.interface(of:)) ?? ""
                let vrid = configured.map { String($0.virtualRouterID) } ?? ""
                let labels = [("iname", report.name), ("intf", interface), ("vrid", vrid)]
                let number = MetricValue.signed(keepalivedStateNumber(report.state))
                let addresses = configured?.virtualAddresses ?? []
                for address in addresses {
                    state.add(
                        number,
                        [
                            ("iname", report.name), ("intf", address.device ?? interface), ("vrid", vrid),
                            ("ip_address", address.exporterText),
                        ])
                }
                // As the exporter does for an instance without addresses: one series with an empty address.
                if addresses.isEmpty { state.add(number, labels + [("ip_address", "")]) }
                for address in configured?.excludedVirtualAddresses ?? [] {
                    excluded.add(
                        number,
                        [
                            ("iname", report.name), ("intf", address.device ?? interface), ("vrid", vrid),
                            ("ip_address", address.exporterText),
                        ])
                }
                let counters = report.counters ?? [:]
                func count(_ names: [String]) -> MetricValue { .integer(names.reduce(0) { $0 &+ (counters[$1] ?? 0) }) }
                received.add(count(["adverts_received"]), labels)
                sent.add(count(["adverts_sent"]), labels)
                becameMaster.add(count(["became_master"]), labels)
                releasedMaster.add(count(["released_master"]), labels)
                priorityZeroReceived.add(count(["priority_zero_received"]), labels)
                priorityZeroSent.add(count(["priority_zero_sent"]), labels)
                for (index, error) in keepalivedErrorCounters.enumerated() {
                    errors[index].add(count(error.counters), labels)
                }
                if let value = report.effectivePriority ?? report.priority {
                    priority.add(.signed(Int64(value)), labels)
                }
                if let value = report.priority { configuredPriority.add(.signed(Int64(value)), labels) }
                held.add(.integer(UInt64(report.heldAddresses.count)), labels)
                for (name, value) in counters.sorted(by: { $0.key < $1.key }) where name.hasPrefix("dropped_") {
                    dropped.add(.integer(value), labels + [("check", String(name.dropFirst("dropped_".count)))])
                }
                sendErrors.add(count(["send_errors"]), labels)
                lowerPriority.add(count(["lower_priority_heard"]), labels)
            }
            for script in workerState.vrrpScripts ?? [] {
                scripts.add(.flag(script.isUp), [("name", script.name)])
            }
        }
        return [
            state, excluded, received, sent, becameMaster, releasedMaster, priorityZeroReceived, priorityZeroSent,
        ] + errors + [scripts, priority, configuredPriority, held, dropped, sendErrors, lowerPriority]
    }

    // MARK: Checker

    static func checkerFamilies(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        var virtualUp = MetricFamily(
            "vigil_virtual_server_up", .gauge, help: "1 when the virtual server's quorum of real servers is up.")
        var realUp = MetricFamily(
            "vigil_real_server_up", .gauge,
            help: "1 when the real server's checks pass, 0 when they fail (no series before the first verdict).")
        var realWeight = MetricFamily(
            "vigil_real_server_weight", .gauge, help: "The real server's weight in effect (dynamic weights applied).")
        var checks = MetricFamily(
            "vigil_checks_total", .counter,
            help: "Health checks by outcome; not_run: a shortage of this host's (descriptors, ports), not a failure.")
        var inFlight = MetricFamily("vigil_checks_in_flight", .gauge, help: "Health checks running now.")
        var inFlightLimit = MetricFamily(
            "vigil_checks_in_flight_limit", .gauge, help: "The most health checks that may run at once.")
        var lateness = MetricFamily(
            "vigil_check_lateness_seconds", .histogram, help: "How late health checks started (due time to start).")
        var duration = MetricFamily(
            "vigil_check_duration_seconds", .histogram, help: "How long health checks took (start to verdict).")
        var ipvsAvailable = MetricFamily(
            "vigil_ipvs_available", .gauge, help: "1 when the checker worker can talk to the kernel's IPVS.")
        var ipvsWrites = MetricFamily(
            "vigil_ipvs_writes_total", .counter,
            help: "IPVS rule changes written (netlink operations), the start's by the watchdog included.")
        var ipvsFailures = MetricFamily(
            "vigil_ipvs_write_failures_total", .counter, help: "IPVS rule changes the kernel refused.")
        // The start's rules, written by the watchdog while the checker worker started (`StartRulesReport`): the
        // daemon's writes as much as the worker's.
        let startRules = snapshot.status.startRules
        let startWrites = UInt64(max(0, startRules?.written ?? 0))
        let startRefusals = UInt64(max(0, startRules?.refused ?? 0))
        var ipvsFullReads = MetricFamily(
            "vigil_ipvs_full_reads_total", .counter,
            help: "Whole-table reads of IPVS (start, reload, recovery); a real server going up or down causes none.")
        var ipvsDriftDumps = MetricFamily(
            "vigil_ipvs_drift_check_dumps_total", .counter,
            help: "Netlink dumps of the drift check (ipvs_repair_interval).")
        var ipvsRepairs = MetricFamily(
            "vigil_ipvs_drift_repairs_total", .counter,
            help: "IPVS rule changes written to put back rules changed behind Vigil's back.")
        var ipvsCounterDumps = MetricFamily(
            "vigil_ipvs_counter_dumps_total", .counter,
            help: "Real servers' dumps made to read traffic counters (not made for a service whose counters stood).")
        var ipvsCountersKept = MetricFamily(
            "vigil_ipvs_counters_kept_total", .counter,
            help: "Services whose traffic counters had not moved, so their real servers' last reading stood.")

        for (worker, workerState) in snapshot.workersWithState {
            for server in workerState.virtualServers {
                let labels = [("virtual_server", server.name)]
                if server.health != .unknown { virtualUp.add(.flag(server.health == .up), labels) }
                for real in server.realServers {
                    let labels = labels + [("real_server", real.address)]
                    if real.health != .unknown { realUp.add(.flag(real.health == .up), labels) }
                    if let weight = real.weight { realWeight.add(.signed(Int64(weight)), labels) }
                }
            }
            guard let statistics = worker.checker, worker.pid != nil else { continue }
            checks.add(.integer(statistics.checksSucceeded), [("outcome", "succeeded")])
            checks.add(.integer(statistics.checksFailed), [("outcome", "failed")])
            checks.add(.integer(statistics.checksNotRun), [("outcome", "not_run")])
            inFlight.add(.integer(UInt64(max(0, statistics.inFlight))))
            inFlightLimit.add(.integer(UInt64(max(0, statistics.inFlightLimit))))
            if !statistics.latencyBucketBounds.isEmpty {
                lateness.addHistogram(
                    bounds: statistics.latencyBucketBounds, counts: statistics.latenessBuckets,
                    sum: statistics.latenessSumSeconds)
                duration.addHistogram(
                    bounds: statistics.latencyBucketBounds, counts: statistics.durationBuckets,
                    sum: statistics.durationSumSeconds)
            }
            ipvsAvailable.add(.flag(statistics.ipvsAvailable))
            ipvsWrites.add(.integer(statistics.ipvsWrites + startWrites))
            ipvsFailures.add(.integer(statistics.ipvsFailures + startRefusals))
            ipvsFullReads.add(.integer(statistics.ipvsFullReads))
            ipvsDriftDumps.add(.integer(statistics.ipvsVerifyDumps))
            ipvsRepairs.add(.integer(statistics.ipvsRepairs))
            ipvsCounterDumps.add(.integer(statistics.ipvsCounterDumps))
            ipvsCountersKept.add(.integer(statistics.ipvsCountersKept))
        }
        return [
            virtualUp, realUp, realWeight, checks, inFlight, inFlightLimit, lateness, duration, ipvsAvailable,
            ipvsWrites, ipvsFailures, ipvsFullReads, ipvsDriftDumps, ipvsRepairs, ipvsCounterDumps, ipvsCountersKept,
        ]
    }

    // MARK: IPVS traffic

    static func ipvsFamilies(_ snapshot: MonitoringSnapshot) -> [MetricFamily] {
        func counterFamilies(_ prefix: String, _ what: String) -> [MetricFamily] {
            [
                MetricFamily("\(prefix)_in_packets", .counter, help: "\(what): packets in."),
                MetricFamily("\(prefix)_out_packets", .counter, help: "\(what): packets out."),
                MetricFamily("\(prefix)_in_bytes", .counter, help: "\(what): bytes in."),
                MetricFamily("\(prefix)_out_bytes", .counter, help: "\(what): bytes out."),
                MetricFamily("\(prefix)_conn", .counter, help: "\(what): connections scheduled."),
            ]
        }
        func add(_ counters: IPVSCounters, to families: inout [MetricFamily], _ labels: [(String, String)]) {
            let values = [
                counters.inPackets, counters.outPackets, counters.inBytes, counters.outBytes, counters.connections,
            ]
            for (index, value) in values.enumerated() { families[index].add(.integer(value), labels) }
        }
        var services = counterFamilies("keepalived_lvs_vip", "IPVS virtual service")
        var reals = counterFamilies("keepalived_lvs_rs", "IPVS real server")
        var active = MetricFamily(
            "vigil_lvs_rs_active_connections", .gauge, help: "Connections open now to the real server (ActiveConn).")
        var inactive = MetricFamily(
            "vigil_lvs_rs_inactive_connections", .gauge,
            help: "Connections in other states to the real server (InActConn).")
        var weight = MetricFamily("vigil_lvs_rs_weight", .gauge, help: "The real server's weight in the kernel.")
        for worker in snapshot.status.workers where worker.pid != nil {
            for service in worker.ipvs?.services ?? [] {
                let proto = String(service.protocolNumber)
                add(service.counters, to: &services, [("addr", service.address), ("proto", proto)])
                for real in service.realServers {
                    let labels = [("vip", service.address), ("addr", real.address), ("proto", proto)]
                    add(real.counters, to: &reals, labels)
                    active.add(.integer(UInt64(real.activeConnections)), labels)
                    inactive.add(.integer(UInt64(real.inactiveConnections)), labels)
                    weight.add(.signed(Int64(real.weight)), labels)
                }
            }
        }
        return services + reals + [active, inactive, weight]
    }
}
