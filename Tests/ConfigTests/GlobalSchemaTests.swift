import Foundation
import Testing

@testable import Config

typealias GlobalCase = ModelCase<GlobalDefs>

let globalCases: [GlobalCase] = [
    GlobalCase("router_id LVS_DEVEL") { $0.routerID == "LVS_DEVEL" },
    GlobalCase("notification_email {\nops@example.com\nnoc@example.com\n}") {
        $0.notificationEmail == ["ops@example.com", "noc@example.com"]
    },
    GlobalCase("notification_email_from vigil@example.com") { $0.notificationEmailFrom == "vigil@example.com" },
    GlobalCase("smtp_server mail.example.com") { $0.smtpServer == SMTPServer(host: "mail.example.com") },
    GlobalCase("smtp_server 192.0.2.25 2525") { $0.smtpServer == SMTPServer(host: "192.0.2.25", port: 2525) },
    GlobalCase("smtp_server 2001:db8::25") { $0.smtpServer?.host == "2001:db8::25" },
    GlobalCase("smtp_helo_name vigil.example.com") { $0.smtpHeloName == "vigil.example.com" },
    GlobalCase("smtp_connect_timeout 15") { $0.smtpConnectTimeout == .seconds(15) },
    GlobalCase("smtp_alert") { $0.smtpAlert == true },
    GlobalCase("smtp_alert_vrrp off") { $0.smtpAlertVRRP == false },
    GlobalCase("smtp_alert_checker yes") { $0.smtpAlertChecker == true },
    GlobalCase("no_email_faults") { $0.noEmailFaults },
    GlobalCase("checker_log_all_failures") { $0.checkerLogAllFailures },
    GlobalCase("no_checker_emails") { $0.noCheckerEmails },
    GlobalCase("rs_init_notifies yes") { $0.rsInitNotifies },
    GlobalCase("script_user nobody") { $0.scriptUser == ScriptUser(user: "nobody") },
    GlobalCase("script_user nobody nogroup") { $0.scriptUser == ScriptUser(user: "nobody", group: "nogroup") },
    GlobalCase("enable_script_security") { $0.enableScriptSecurity },
    GlobalCase("startup_script \"/bin/up now\" root") {
        $0.startupScript == ScriptCommand(text: "/bin/up now", user: "root")
    },
    GlobalCase("startup_script_timeout 20") { $0.startupScriptTimeout == .seconds(20) },
    GlobalCase("shutdown_script /bin/down") { $0.shutdownScript?.arguments == ["/bin/down"] },
    GlobalCase("shutdown_script_timeout 1000") { $0.shutdownScriptTimeout == .seconds(1000) },
    GlobalCase("notify_fifo /run/fifo nobody") {
        $0.notifyFIFO == NotifyFIFO(path: "/run/fifo", owner: ScriptUser(user: "nobody"))
    },
    GlobalCase("notify_fifo /run/fifo\nnotify_fifo_script /bin/reader") {
        $0.notifyFIFO?.path == "/run/fifo" && $0.notifyFIFO?.script?.text == "/bin/reader"
    },
    GlobalCase("vrrp_notify_fifo /run/vfifo\nvrrp_notify_fifo_script /bin/v") {
        $0.vrrpNotifyFIFO?.path == "/run/vfifo" && $0.vrrpNotifyFIFO?.script != nil
    },
    GlobalCase("lvs_notify_fifo /run/lfifo\nlvs_notify_fifo_script /bin/l") {
        $0.lvsNotifyFIFO?.path == "/run/lfifo" && $0.lvsNotifyFIFO?.script?.text == "/bin/l"
    },
    GlobalCase("fifo_write_vrrp_states_on_reload") { $0.fifoWriteVRRPStatesOnReload },
    GlobalCase("vrrp_mcast_group4 224.0.0.19") { $0.vrrpMcastGroup4 == IPAddress("224.0.0.19") },
    GlobalCase("vrrp_mcast_group6 ff02::13") { $0.vrrpMcastGroup6 == IPAddress("ff02::13") },
    GlobalCase("vrrp_garp_master_delay 10") { $0.vrrpGarpMasterDelay == .seconds(10) },
    GlobalCase("vrrp_garp_master_repeat 1") { $0.vrrpGarpMasterRepeat == 1 },
    GlobalCase("vrrp_garp_master_refresh 60") { $0.vrrpGarpMasterRefresh == .seconds(60) },
    GlobalCase("vrrp_garp_master_refresh_repeat 2") { $0.vrrpGarpMasterRefreshRepeat == 2 },
    GlobalCase("vrrp_garp_lower_prio_delay 3") { $0.vrrpGarpLowerPrioDelay == .seconds(3) },
    GlobalCase("vrrp_garp_lower_prio_repeat 4") { $0.vrrpGarpLowerPrioRepeat == 4 },
    GlobalCase("vrrp_garp_interval 0.001") { $0.vrrpGarpInterval == .milliseconds(1) },
    GlobalCase("vrrp_gna_interval 0.000001") { $0.vrrpGnaInterval == .microseconds(1) },
    GlobalCase("vrrp_min_garp") { $0.vrrpMinGarp },
    GlobalCase("vrrp_down_timer_adverts 4") { $0.vrrpDownTimerAdverts == 4 },
    GlobalCase("vrrp_lower_prio_no_advert") { $0.vrrpLowerPrioNoAdvert },
    GlobalCase("vrrp_higher_prio_send_advert true") { $0.vrrpHigherPrioSendAdvert },
    GlobalCase("vrrp_version 3") { $0.vrrpVersion == 3 },
    GlobalCase("vrrp_check_unicast_src") { $0.vrrpCheckUnicastSrc },
    GlobalCase("vrrp_skip_check_adv_addr") { $0.vrrpSkipCheckAdvAddr },
    GlobalCase("vrrp_strict") { $0.vrrpStrict },
    GlobalCase("vrrp_notify_priority_changes on") { $0.vrrpNotifyPriorityChanges },
    GlobalCase("vrrp_startup_delay 5.5") { $0.vrrpStartupDelay == .milliseconds(5500) },
    GlobalCase("default_interface p33p1.3") { $0.defaultInterface == "p33p1.3" },
    GlobalCase("dynamic_interfaces") { $0.dynamicInterfaces == .on },
    GlobalCase("dynamic_interfaces allow_if_changes") { $0.dynamicInterfaces == .allowIfChanges },
    GlobalCase("vrrp_priority -20") { $0.vrrpPriority == -20 },
    GlobalCase("checker_priority 19") { $0.checkerPriority == 19 },
    GlobalCase("vrrp_no_swap") { $0.vrrpNoSwap },
    GlobalCase("checker_no_swap") { $0.checkerNoSwap },
    GlobalCase("vrrp_rt_priority 20") { $0.vrrpRTPriority == 20 },
    GlobalCase("checker_rt_priority 10") { $0.checkerRTPriority == 10 },
    GlobalCase("vrrp_rlimit_rttime 1") { $0.vrrpRlimitRTTime == 2 },
    GlobalCase("checker_rlimit_rtime 30000") { $0.checkerRlimitRTTime == 30_000 },
    GlobalCase("vrrp_cpu_affinity 1 0 1") { $0.vrrpCPUAffinity == [1, 0] },
    GlobalCase("checker_cpu_affinity 0") { $0.checkerCPUAffinity == [0] },
    GlobalCase("bfd_priority -5") { $0.bfdPriority == -5 },
    GlobalCase("bfd_no_swap") { $0.bfdNoSwap },
    GlobalCase("bfd_rt_priority 30") { $0.bfdRTPriority == 30 },
    GlobalCase("bfd_rlimit_rtime 20000") { $0.bfdRlimitRTTime == 20_000 },
    GlobalCase("bfd_cpu_affinity 1") { $0.bfdCPUAffinity == [1] },
    GlobalCase("bfd_process_name b") { $0.bfdProcessName == "b" },
    GlobalCase("process_name vigil") { $0.processName == "vigil" },
    GlobalCase("process_names") { $0.processNames },
    GlobalCase("vrrp_process_name v") { $0.vrrpProcessName == "v" },
    GlobalCase("lvs_process_name c") { $0.checkerProcessName == "c" },
    GlobalCase("umask 027") { $0.umask == 0o27 },
    GlobalCase("umask 0x12") { $0.umask == 0o22 },
    GlobalCase("umask 18") { $0.umask == 0o22 },
    GlobalCase("umask IWGRP | IWOTH") { $0.umask == 0o22 },
    GlobalCase("max_auto_priority") { $0.maxAutoPriority == 99 },
    GlobalCase("max_auto_priority -1") { $0.maxAutoPriority == -1 },
    GlobalCase("min_auto_priority_delay 2500") { $0.minAutoPriorityDelay == .microseconds(2_500) },
    GlobalCase("reload_check_config") { $0.reloadCheckConfig == "/dev/null" },
    GlobalCase("reload_check_config /tmp/check.log") { $0.reloadCheckConfig == "/tmp/check.log" },
    GlobalCase("reload_file") { $0.reloadFile == .besidePidFile },
    GlobalCase("reload_file /run/k.reload") { $0.reloadFile == .path("/run/k.reload") },
    GlobalCase("reload_time_file /run/k.time") { $0.reloadTimeFile == "/run/k.time" && !$0.reloadRepeat },
    GlobalCase("reload_repeat") { $0.reloadRepeat },
    GlobalCase("disable_local_igmp") { $0.disableLocalIGMP },
    GlobalCase("random_seed 42") { $0.randomSeed == 42 },
    GlobalCase("lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82") {
        guard let daemon = $0.lvsSyncDaemon else { return false }
        return daemon.interface == "eth1" && daemon.instance == "VI_1" && daemon.syncID == 7 && daemon.maxLength == 1400
            && daemon.port == 8849 && daemon.ttl == 2 && daemon.group == IPAddress("224.0.0.82")
    },
    GlobalCase("lvs_sync_daemon eth1 inst VI_1") { $0.lvsSyncDaemon?.instance == "VI_1" },
    GlobalCase("lvs_sync_daemon eth1") { $0.lvsSyncDaemon?.instance == nil && $0.lvsSyncDaemon?.interface == "eth1" },
    GlobalCase("lvs_timeouts tcp 900 tcpfin 120 udp 300") {
        $0.lvsTimeouts == LVSTimeouts(tcp: .seconds(900), tcpFin: .seconds(120), udp: .seconds(300))
    },
    GlobalCase("lvs_timeouts udp 30") { $0.lvsTimeouts == LVSTimeouts(udp: .seconds(30)) },
    GlobalCase("lvs_flush") { $0.lvsFlush },
    GlobalCase("lvs_flush_on_stop") { $0.lvsFlushOnStop == .all },
    GlobalCase("lvs_flush_on_stop VS") { $0.lvsFlushOnStop == .virtualServers },
    GlobalCase("lvs_flush_onstop") { $0.lvsFlushOnStop == .all },
    GlobalCase("metrics_listen 127.0.0.1:9165") {
        $0.metricsListen == ListenAddress(address: IPAddress("127.0.0.1")!, port: 9165)
    },
    GlobalCase("metrics_listen [2001:db8::1]:9650") {
        $0.metricsListen == ListenAddress(address: IPAddress("2001:db8::1")!, port: 9650)
    },
    GlobalCase("lvs_sloppy_tcp") { $0.lvsSloppyTCP == true },
    GlobalCase("lvs_sloppy_sctp off") { $0.lvsSloppySCTP == false },
    GlobalCase("announce_table 100") { $0.announceTable == 100 && $0.announceProtocol == 18 },
    GlobalCase("announce_protocol 99") { $0.announceProtocol == 99 },
    GlobalCase("announce_grace_period 0") { $0.announceGracePeriod == .zero },
]

/// `global_defs` around `body`, with an instance named VI_1 for the references to resolve.
func globalText(_ body: String) -> String {
    "global_defs {\n\(body)\n}\nvrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 1\n"
        + "virtual_ipaddress {\n192.0.2.1\n}\n}\n"
}

@Suite("Global schema")
struct GlobalSchemaTests {
    @Test("Each global_defs keyword lands in the model", arguments: globalCases)
    func globalKeyword(_ testCase: GlobalCase) {
        let loaded = ConfigLoader.load(text: globalText(testCase.snippet))
        #expect(loaded.diagnostics.besidesNotInEffect.isEmpty, "\(loaded.diagnostics)")
        #expect(testCase.check(loaded.config.globalDefs))
    }

    @Test("notify_fifo with lvs_notify_fifo warns that only the checker's is written (the VRRP worker writes both)")
    func bothFIFOs() {
        let loaded = ConfigLoader.load(
            text: "global_defs {\nnotify_fifo /run/all\nlvs_notify_fifo /run/lvs\nvrrp_notify_fifo /run/vrrp\n}")
        #expect(
            loaded.diagnostics.map(\.description) == [
                "<config>:3: warning: with both notify_fifo and lvs_notify_fifo, Vigil writes those events to "
                    + "lvs_notify_fifo only, not also to notify_fifo (not implemented by Vigil yet)"
            ])
    }

    @Test("lvs_flush_on_stop ALL flushes as the bare keyword does, warning that keepalived 2.2.7 rejects 'ALL'")
    func flushOnStopAll() {
        let loaded = ConfigLoader.load(text: "global_defs {\nlvs_flush_on_stop ALL\n}")
        #expect(loaded.config.globalDefs.lvsFlushOnStop == .all)
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [2])
        #expect(loaded.diagnostics.warnings.first?.message.contains("keepalived 2.2.7 rejects 'ALL'") == true)
    }

    @Test("notify_fifo_script without a vrrp_instance is not started, and says so")
    func fifoScriptWithoutVRRP() {
        let loaded = ConfigLoader.load(text: "global_defs {\nnotify_fifo /run/all\nnotify_fifo_script /bin/r\n}")
        #expect(
            loaded.diagnostics.map(\.description) == [
                "warning: notify_fifo_script is started by the VRRP worker, and there is no vrrp_instance; not started"
            ])
    }

    @Test("The defaults are keepalived's")
    func defaults() {
        let globals = ConfigLoader.load(text: "global_defs {\n}").config.globalDefs
        #expect(globals.vrrpGarpMasterDelay == .seconds(5))
        #expect(globals.vrrpGarpMasterRepeat == 5)
        #expect(globals.vrrpGarpMasterRefresh == .zero)
        #expect(globals.vrrpGarpMasterRefreshRepeat == 1)
        #expect(globals.vrrpGarpLowerPrioDelay == nil && globals.vrrpGarpLowerPrioRepeat == nil)
        #expect(globals.vrrpMcastGroup4 == IPAddress("224.0.0.18"))
        #expect(globals.vrrpMcastGroup6 == IPAddress("ff02::12"))
        #expect(globals.vrrpVersion == 2)
        #expect(globals.vrrpDownTimerAdverts == 3)
        #expect(globals.smtpConnectTimeout == .seconds(30))
        #expect(globals.startupScriptTimeout == .seconds(10) && globals.shutdownScriptTimeout == .seconds(10))
        #expect(globals.scriptUser == nil && globals.routerID == nil && globals.smtpServer == nil)
        #expect(globals.childWaitTime == .seconds(5))
        #expect(globals.defaultInterface == "eth0")
        #expect(globals.maxAutoPriority == 0 && globals.minAutoPriorityDelay == .seconds(1))
        #expect(globals.reloadCheckConfig == nil && globals.reloadFile == nil && globals.reloadTimeFile == nil)
        #expect(globals.lvsFlushOnStop == nil && !globals.lvsFlush)
        #expect(globals.metricsListen == nil, "metrics are off unless asked for")
    }

    @Test("Top-level daemon keywords")
    func daemonKeywords() {
        let loaded = ConfigLoader.load(
            text: """
                net_namespace blue
                net_namespace_ipvs
                namespace_with_ipsets
                instance second
                use_pid_dir
                linkbeat_use_polling
                child_wait_time 8
                linkbeat_interfaces {
                    eth2
                    enp2s0 ETHTOOL
                }
                """)
        #expect(loaded.diagnostics.besidesNotInEffect.isEmpty, "\(loaded.diagnostics)")
        let globals = loaded.config.globalDefs
        #expect(globals.netNamespace == "blue" && globals.netNamespaceIPVS == "")
        #expect(globals.namespaceWithIPSets && globals.usePIDDir && globals.linkbeatUsePolling)
        #expect(globals.instanceName == "second")
        #expect(globals.childWaitTime == .seconds(8))
        #expect(
            globals.linkbeatInterfaces == [
                LinkbeatInterface(name: "eth2"), LinkbeatInterface(name: "enp2s0", polling: .ethtool),
            ])
    }

    @Test("A second net_namespace_ipvs is warned and ignored: keepalived keeps the first")
    func secondIPVSNamespace() {
        let loaded = ConfigLoader.load(text: "net_namespace_ipvs lab\nnet_namespace_ipvs other\n")
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [2], "\(loaded.diagnostics)")
        #expect(loaded.config.globalDefs.netNamespaceIPVS == "lab")
    }

    @Test("The interfaces the VRRP part names, each once with its first line; none without a VRRP part")
    func namedInterfaces() {
        let loaded = ConfigLoader.load(
            text: """
                interface_up_down_delays {
                    ud0 1
                }
                static_ipaddress {
                    192.0.2.50/24
                    192.0.2.51/24 dev st0
                }
                vrrp_instance VI_1 {
                    interface eth1
                    virtual_router_id 1
                    track_interface {
                        tr0
                        eth1
                    }
                    virtual_ipaddress {
                        192.0.2.100/24 dev vip0
                    }
                    virtual_rules {
                        from 192.0.2.100 table 100 iif ru0
                    }
                }
                """)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let named = loaded.config.namedInterfaces.map { "\($0.name):\($0.location.line)" }
        #expect(named == ["eth0:5", "st0:6", "eth1:8", "tr0:12", "vip0:16", "ru0:19", "ud0:2"], "\(named)")
        #expect(ConfigLoader.load(text: "interface_up_down_delays {\nud0 1\n}\n").config.namedInterfaces.isEmpty)
    }

    @Test(
        "Bad values are errors naming the keyword",
        arguments: [
            ("smtp_server mail..bad/host", "'smtp_server' takes an address or a host name"),
            ("smtp_server mail.example.com 70000", "port in 'smtp_server'"),
            ("vrrp_mcast_group4 192.0.2.1", "must be a multicast address"),
            ("vrrp_mcast_group4 ff02::12", "is an IPv6 address where an IPv4 one is needed"),
            ("vrrp_version 4", "'vrrp_version' must be a whole number from 2 to 3"),
            ("vrrp_priority 20", "'vrrp_priority' must be a whole number from -20 to 19"),
            ("max_auto_priority 100", "'max_auto_priority'"),
            ("min_auto_priority_delay 0", "'min_auto_priority_delay' must be a whole number from 1 to 10000000"),
            ("min_auto_priority_delay", "'min_auto_priority_delay' takes 1 value, got 0"),
            ("reload_time_file", "'reload_time_file' takes 1 value, got 0"),
            ("startup_script_timeout 0", "'startup_script_timeout' must be from 1 to 1000"),
            ("vrrp_down_timer_adverts 0", "'vrrp_down_timer_adverts'"),
            ("lvs_sync_daemon eth1 VI_1 port 0", "port in 'lvs_sync_daemon'"),
            ("lvs_sync_daemon eth1 VI_1 id 256", "'id' must be a whole number from 0 to 255"),
            ("lvs_sync_daemon eth1 VI_1 color red", "unknown option 'color' in 'lvs_sync_daemon'"),
            ("lvs_timeouts tcp", "'lvs_timeouts' takes 2 to 6 values"),
            ("lvs_timeouts tcp 0", "'tcp' must be a whole number"),
            ("lvs_flush_on_stop SOME", "'lvs_flush_on_stop' takes one of VS, ALL"),
            ("metrics_listen 127.0.0.1", "'metrics_listen' takes ADDRESS:PORT"),
            ("metrics_listen localhost:9165", "'metrics_listen' takes ADDRESS:PORT"),
            ("metrics_listen 2001:db8::1:9165", "'metrics_listen' takes ADDRESS:PORT"),
            ("metrics_listen 127.0.0.1:0", "'metrics_listen' takes ADDRESS:PORT"),
            ("metrics_listen [::1]:70000", "'metrics_listen' takes ADDRESS:PORT"),
            ("dynamic_interfaces always", "takes one of allow_if_changes"),
            ("router_id", "'router_id' takes 1 value, got 0"),
            ("vrrp_garp_master_delay -1", "'vrrp_garp_master_delay' takes a time in seconds"),
            ("smtp_alert sometimes", "'smtp_alert' takes on|off"),
            ("notification_email x@example.com", "'notification_email' needs a { } block"),
            ("vrrp_cpu_affinity 0 x", "a CPU number must be a whole number from 0 to 1023, not 'x'"),
            ("checker_rlimit_rttime 0", "'checker_rlimit_rttime' must be a whole number from 1"),
            ("vrrp_rt_priority high", "'vrrp_rt_priority' must be a whole number"),
            ("umask 0999", "invalid umask value '0999'"),
            ("umask 01000", "invalid umask value '01000'"),
            ("umask IWGRP|ISUID", "unknown umask bit 'ISUID'"),
            ("process_name \"\"", "'process_name' needs a name"),
        ])
    func valueErrors(_ statement: String, _ message: String) {
        let errors = ConfigLoader.load(text: globalText(statement)).diagnostics.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.message.contains(message) == true, "\(errors)")
        #expect(errors.first?.location?.line == 2)
    }

    @Test("A misspelt global keyword suggests the right one")
    func suggestion() {
        let errors = ConfigLoader.load(text: globalText("vrrp_garp_master_dealy 5")).diagnostics.errors
        #expect(errors.first?.message.contains("did you mean 'vrrp_garp_master_delay'?") == true)
    }

    @Test(
        "Unimplemented global keywords warn",
        arguments: [
            "vrrp_iptables", "enable_snmp_vrrp", "nftables_ipvs", "vrrp_ipsets a b",
        ])
    func unsupported(_ statement: String) {
        let diagnostics = ConfigLoader.load(text: globalText(statement)).diagnostics
        #expect(diagnostics.errors.isEmpty, "\(diagnostics)")
        #expect(diagnostics.warnings.count == 1)
    }

    @Test(
        "Values keepalived adjusts and runs with are warned with the value used",
        arguments: [
            ("vrrp_rt_priority 100", "'vrrp_rt_priority' 100 is outside 1…99; using 99 (as keepalived)"),
            ("checker_rt_priority -3", "'checker_rt_priority' -3 is outside 1…99; using 1 (as keepalived)"),
            (
                "vrrp_process_name a_name_of_16_byt",
                "'vrrp_process_name' 'a_name_of_16_byt' is longer than 15 bytes; using 'a_name_of_16_by'"
            ),
        ])
    func adjustedValues(_ statement: String, _ message: String) {
        let diagnostics = ConfigLoader.load(text: globalText(statement)).diagnostics
        #expect(diagnostics.errors.isEmpty, "\(diagnostics)")
        #expect(diagnostics.warnings.map(\.message) == [message])
    }

    @Test("Daemon keywords belong outside global_defs, as in keepalived")
    func daemonKeywordInsideGlobalDefs() {
        let errors = ConfigLoader.load(text: globalText("net_namespace blue")).diagnostics.errors
        #expect(errors.first?.message.contains("unknown keyword 'net_namespace' in global_defs") == true)
    }

    @Test("lvs_sync_daemon must name an existing vrrp_instance")
    func syncDaemonInstance() {
        let errors = ConfigLoader.load(text: globalText("lvs_sync_daemon eth1 VI_9")).diagnostics.errors
        #expect(errors.map(\.message) == ["'lvs_sync_daemon' names vrrp_instance 'VI_9', which is not defined"])
        #expect(errors.first?.location?.line == 2)
    }

    @Test("The global model round-trips through JSON")
    func codable() throws {
        let globals = ConfigLoader.load(text: globalText("lvs_sync_daemon eth1 VI_1\nsmtp_server mail.example.com"))
            .config.globalDefs
        let data = try JSONEncoder().encode(globals)
        #expect(try JSONDecoder().decode(GlobalDefs.self, from: data) == globals)
    }
}

@Suite("random_seed")
struct KeepalivedRandomTests {
    @Test("The sequence is glibc's random() after srandom(seed)")
    func glibcSequence() {
        var fortyTwo = KeepalivedRandom(seed: 42)
        #expect((0..<4).map { _ in fortyTwo.next() } == [71_876_166, 708_592_740, 1_483_128_881, 907_283_241])
        var zero = KeepalivedRandom(seed: 0)
        var one = KeepalivedRandom(seed: 1)
        #expect((0..<2).map { _ in zero.next() } == [1_804_289_383, 846_930_886])
        #expect((0..<2).map { _ in one.next() } == [1_804_289_383, 846_930_886])
    }

    @Test("${_RANDOM MIN MAX} is random() % (MAX - MIN + 1) + MIN")
    func expansion() {
        var options = ConfigReaderOptions()
        options.random = KeepalivedRandom.expander(seed: 42)
        let loaded = ConfigLoader.load(
            text: "global_defs {\n  router_id r${_RANDOM 10 19}\n  smtp_helo_name h${_RANDOM}\n}\n", options: options)
        #expect(loaded.config.globalDefs.routerID == "r\(71_876_166 % 10 + 10)")
        #expect(loaded.config.globalDefs.smtpHeloName == "h\(708_592_740 % 32768)")
    }
}
