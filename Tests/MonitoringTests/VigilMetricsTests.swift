import Config
import Testing
import WorkerIPC

@testable import Monitoring

/// A director's snapshot: one VRRP instance (two addresses, one excluded), one virtual server with two real servers
/// and their IPVS counters, a checker with a few checks, one refused reload.
func sampleSnapshot(state: VRRPInstanceReport.State = .master, detail: String = "TCP_CHECK: connection refused")
    -> MonitoringSnapshot
{
    let config = ConfigLoader.load(
        text: """
            global_defs {
                router_id lvs-1
            }
            vrrp_script chk_web {
                script "/bin/true"
            }
            vrrp_instance VI_1 {
                state MASTER
                interface eth0
                virtual_router_id 51
                priority 150
                virtual_ipaddress {
                    192.0.2.100/24
                    192.0.2.101 dev eth1
                }
                virtual_ipaddress_excluded {
                    2001:db8::100
                }
                track_script {
                    chk_web
                }
            }
            virtual_server 192.0.2.100 80 {
                lb_algo rr
                lb_kind DR
                protocol TCP
                real_server 198.51.100.11 80 {
                    TCP_CHECK {
                    }
                }
                real_server 198.51.100.12 80 {
                    TCP_CHECK {
                    }
                }
            }
            """
    ).config
    var counters: [String: UInt64] = [
        "adverts_received": 7, "adverts_sent": 1234, "became_master": 2, "released_master": 1,
        "priority_zero_received": 1, "priority_zero_sent": 3, "send_errors": 0, "lower_priority_heard": 6,
    ]
    for check in ["length", "hopLimit", "authentication", "authenticationType", "addressList"] {
        counters["dropped_\(check)"] = 0
    }
    counters["dropped_hopLimit"] = 5
    counters["dropped_authenticationType"] = 2
    counters["dropped_authenticationUnsupported"] = 1
    counters["warning_addressList"] = 4
    let vrrpState = WorkerState(
        vrrpInstances: [
            VRRPInstanceReport(
                name: "VI_1", state: state,
                heldAddresses: state == .master ? ["192.0.2.100/24", "192.0.2.101/32"] : [],
                priority: 150, effectivePriority: 140, reason: "preempted", since: 1_000_000_000, counters: counters)
        ], vrrpScripts: [VRRPScriptReport(name: "chk_web", isUp: false)])
    let checkerState = WorkerState(virtualServers: [
        VirtualServerReport(
            name: "192.0.2.100 80", health: .up,
            realServers: [
                RealServerReport(server: ServerAddress(configName: "198.51.100.11 80")!, health: .up, weight: 1),
                RealServerReport(
                    server: ServerAddress(configName: "198.51.100.12 80")!, health: .down, weight: 1, detail: detail),
            ])
    ])
    var statistics = CheckerStatistics()
    statistics.checksStarted = 10
    statistics.checksSucceeded = 6
    statistics.checksFailed = 3
    statistics.checksNotRun = 1
    statistics.inFlightLimit = 1000
    statistics.latencyBucketBounds = [0.001, 0.01]
    statistics.latenessBuckets = [8, 1, 0]
    statistics.durationBuckets = [5, 3, 1]
    statistics.latenessSumSeconds = 0.004
    statistics.durationSumSeconds = 0.05
    statistics.ipvsAvailable = true
    statistics.ipvsWrites = 4
    let ipvs = IPVSStatisticsReport(services: [
        IPVSServiceStatistics(
            virtualServer: "192.0.2.100 80", address: "192.0.2.100:80", protocolNumber: 6,
            counters: IPVSCounters(connections: 20, inPackets: 200, outPackets: 0, inBytes: 20000, outBytes: 0),
            realServers: [
                IPVSRealServerStatistics(
                    endpoint: ServerAddress(endpoint: "198.51.100.11:80")!, naming: .withPort, weight: 1,
                    activeConnections: 3,
                    inactiveConnections: 9, persistentConnections: 0,
                    counters: IPVSCounters(connections: 20, inPackets: 200, outPackets: 0, inBytes: 20000, outBytes: 0))
            ])
    ])
    let status = DaemonStatus(
        pid: 42, version: "0.1.0", configFile: "/etc/keepalived/keepalived.conf", uptimeSeconds: 100, stopping: false,
        workers: [
            WorkerStatus(
                role: .vrrp, pid: 43, uptimeSeconds: 99, restartCount: 1, lastHeartbeatSecondsAgo: 0.1,
                lastRestartMilliseconds: 21, loopLagMilliseconds: 0.5, progressAgeMilliseconds: 10, ready: true,
                state: vrrpState, residentKiB: 2048),
            WorkerStatus(
                role: .checker, pid: 44, uptimeSeconds: 99, restartCount: 0, lastHeartbeatSecondsAgo: 0.2,
                lastRestartMilliseconds: nil, ready: true, checker: statistics, ipvs: ipvs, state: checkerState),
        ],
        lastReload: ReloadReport(atUptimeSeconds: 50, succeeded: false, message: "x has 1 error:\nx:3: error: bad"),
        reloadsApplied: 2, reloadsRefused: 1, startedAtUnixSeconds: 1_800_000_000,
        recentEvents: [DaemonEvent(atUnixSeconds: 1_800_000_050, source: "vrrp", summary: "VI_1: BACKUP -> MASTER")],
        residentKiB: 1024)
    return MonitoringSnapshot(
        status: status, config: config, takenAtUnixSeconds: 1_800_000_100, takenAtMonotonicNanoseconds: 31_000_000_000)
}

/// The exposition's samples as `name{labels}` → value.
func samples(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return result
}

@Suite("Vigil's metrics")
struct VigilMetricsTests {
    @Test("keepalived_vrrp_state: one series per address, the exporter's labels, keepalived's numbers")
    func vrrpState() {
        let master = samples(VigilMetrics.exposition(sampleSnapshot()))
        #expect(
            master["keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.100/24\"}"]
                == "2")
        #expect(
            master["keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth1\",vrid=\"51\",ip_address=\"192.0.2.101\"}"] == "2")
        #expect(
            master[
                "keepalived_vrrp_excluded_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"2001:db8::100\"}"]
                == "2")
        let backup = samples(VigilMetrics.exposition(sampleSnapshot(state: .backup)))
        #expect(
            backup["keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"192.0.2.100/24\"}"]
                == "1")
        #expect(VigilMetrics.keepalivedStateNumber(.fault) == 3)
        #expect(VigilMetrics.keepalivedStateNumber(.initializing) == 0)
        #expect(VigilMetrics.keepalivedStateNumber(.stopped) == 98)
    }

    @Test("The exporter's counters come from the worker's, receive errors summed as keepalived counts them")
    func vrrpCounters() {
        let metrics = samples(VigilMetrics.exposition(sampleSnapshot()))
        let labels = "{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"}"
        #expect(metrics["keepalived_advertisements_received_total" + labels] == "7")
        #expect(metrics["keepalived_advertisements_sent_total" + labels] == "1234")
        #expect(metrics["keepalived_become_master_total" + labels] == "2")
        #expect(metrics["keepalived_release_master_total" + labels] == "1")
        #expect(metrics["keepalived_priority_zero_sent_total" + labels] == "3")
        #expect(metrics["keepalived_ip_ttl_errors_total" + labels] == "5")
        #expect(metrics["keepalived_authentication_mismatch_total" + labels] == "3")
        #expect(metrics["keepalived_address_list_errors_total" + labels] == "4")
        #expect(metrics["keepalived_script_status{name=\"chk_web\"}"] == "0")
        #expect(metrics["vigil_vrrp_priority" + labels] == "140")
        #expect(metrics["vigil_vrrp_configured_priority" + labels] == "150")
        #expect(
            metrics["vigil_vrrp_dropped_packets_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",check=\"hopLimit\"}"]
                == "5")
        #expect(metrics["vigil_vrrp_lower_priority_heard_total" + labels] == "6")
    }

    @Test("Workers, reloads and the checker: vigil_* families")
    func daemonAndChecker() {
        let metrics = samples(VigilMetrics.exposition(sampleSnapshot()))
        #expect(metrics["keepalived_up"] == "1")
        #expect(metrics["vigil_worker_up{role=\"vrrp\"}"] == "1")
        #expect(metrics["vigil_worker_restarts_total{role=\"vrrp\"}"] == "1")
        #expect(metrics["vigil_worker_loop_lag_seconds{role=\"vrrp\"}"] == "0.0005")
        #expect(metrics["vigil_process_resident_bytes{role=\"watchdog\"}"] == "1048576")
        #expect(metrics["vigil_process_resident_bytes{role=\"vrrp\"}"] == "2097152")
        #expect(metrics["vigil_process_resident_bytes{role=\"checker\"}"] == nil)
        #expect(metrics["vigil_reloads_total{outcome=\"refused\"}"] == "1")
        #expect(metrics["vigil_last_reload_success"] == "0")
        #expect(metrics["vigil_last_reload_timestamp_seconds"] == "1800000050")
        #expect(
            metrics["vigil_real_server_up{virtual_server=\"192.0.2.100 80\",real_server=\"198.51.100.12 80\"}"] == "0")
        #expect(metrics["vigil_checks_total{outcome=\"failed\"}"] == "3")
        #expect(metrics["vigil_check_duration_seconds_bucket{le=\"0.01\"}"] == "8")
        #expect(metrics["vigil_check_duration_seconds_count"] == "9")
        #expect(metrics["vigil_ipvs_writes_total"] == "4")
    }

    @Test("the IPVS write counters count the start's rules the watchdog wrote")
    func startRulesAreWrites() {
        var snapshot = sampleSnapshot()
        snapshot.status.startRules = StartRulesReport(written: 1100, refused: 2, services: 100, milliseconds: 300)
        let metrics = samples(VigilMetrics.exposition(snapshot))
        #expect(metrics["vigil_ipvs_writes_total"] == "1104")
        #expect(metrics["vigil_ipvs_write_failures_total"] == "2")
    }

    @Test("IPVS traffic: the gen2brain exporter's names and labels")
    func ipvs() {
        let metrics = samples(VigilMetrics.exposition(sampleSnapshot()))
        #expect(metrics["keepalived_lvs_vip_conn{addr=\"192.0.2.100:80\",proto=\"6\"}"] == "20")
        let real = "{vip=\"192.0.2.100:80\",addr=\"198.51.100.11:80\",proto=\"6\"}"
        #expect(metrics["keepalived_lvs_rs_in_packets" + real] == "200")
        #expect(metrics["keepalived_lvs_rs_in_bytes" + real] == "20000")
        #expect(metrics["keepalived_lvs_rs_out_bytes" + real] == "0")
        #expect(metrics["vigil_lvs_rs_active_connections" + real] == "3")
    }

    @Test("keepalived_up is 0 while a worker restarts")
    func notUp() {
        var snapshot = sampleSnapshot()
        snapshot.status.workers[1].pid = nil
        let metrics = samples(VigilMetrics.exposition(snapshot))
        #expect(metrics["keepalived_up"] == "0")
        #expect(metrics["vigil_worker_up{role=\"checker\"}"] == "0")
        #expect(metrics["keepalived_lvs_vip_conn{addr=\"192.0.2.100:80\",proto=\"6\"}"] == nil)
    }

    @Test("Every family: a valid name, HELP and TYPE once, no series twice, valid label names")
    func wellFormed() {
        let families = VigilMetrics.families(sampleSnapshot())
        #expect(Set(families.map(\.name)).count == families.count)
        for family in families {
            #expect(MetricFamily.isValidName(family.name), "\(family.name)")
            #expect(!family.help.isEmpty)
            let series = family.samples.map { sample in
                sample.suffix + sample.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
            }
            #expect(Set(series).count == series.count, "\(family.name) repeats a series")
            for label in family.samples.flatMap(\.labels) {
                #expect(MetricFamily.isValidName(label.name, label: true), "\(label.name)")
            }
            if family.kind == .counter {
                #expect(family.name.hasSuffix("_total") || family.name.hasPrefix("keepalived_lvs_"))
            }
        }
    }
}

@Suite("The status page")
struct StatusPageTests {
    @Test("Instances, real servers with connections, events; refreshed by the browser, no script")
    func page() {
        let html = StatusPage.html(sampleSnapshot())
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        #expect(!html.contains("<script"))
        #expect(html.contains("<td>VI_1</td><td><span class=\"s MASTER\">MASTER</span></td>"))
        #expect(html.contains("192.0.2.100/24 (held), 192.0.2.101 (held)"))
        #expect(html.contains("140 (configured 150)"))
        #expect(
            html.contains(
                "<td>198.51.100.11 80</td><td><span class=\"s up\">up</span></td><td class=\"n\">1</td><td class=\"n\">3</td><td class=\"n\">9</td>"
            ))
        #expect(html.contains("VI_1: BACKUP -&gt; MASTER"))
        #expect(html.contains("2027-01-15 08:00:50"))
        #expect(html.contains("REFUSED"))
    }

    @Test("What a real server or a file says is escaped, never markup")
    func escaped() {
        let html = StatusPage.html(sampleSnapshot(detail: "HTTP_GET: <script>alert('x')</script> & \"more\""))
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"))
    }

    @Test("UTC dates without Foundation")
    func dates() {
        #expect(StatusPage.utc(0) == "1970-01-01 00:00:00")
        #expect(StatusPage.utc(951_782_400) == "2000-02-29 00:00:00")
        #expect(StatusPage.utc(1_800_000_050.9) == "2027-01-15 08:00:50")
        #expect(StatusPage.utc(-1) == "1969-12-31 23:59:59")
    }

    @Test("status.json is what vigilctl status --json prints")
    func json() {
        let snapshot = sampleSnapshot()
        let response = MonitoringEndpoint.render(.statusJSON, snapshot)
        #expect(response.contentType == "application/json")
        #expect(response.body == StatusJSON.encode(snapshot.status) + [0x0a])
    }
}
