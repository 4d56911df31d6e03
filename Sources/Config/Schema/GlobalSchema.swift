/// `global_defs`, `linkbeat_interfaces` and the daemon keywords written outside any block.
enum GlobalSchema {
    typealias Handler = KeywordTable<KeepalivedConfig>.Handler
    typealias Global = Field<GlobalDefs>

    static let topLevelHandlers: [String: Handler] = {
        var handlers: [String: Handler] = [
            "global_defs": { config, node, context in
                guard let children = context.block(node) else { return }
                context.arguments(node, count: 0...0)
                globalDefs.apply(children, to: &config.globalDefs, context)
            },
            "linkbeat_interfaces": { config, node, context in
                guard let lines = context.block(node) else { return }
                for line in lines where context.noBlock(line) {
                    guard let words = context.arguments(line, count: 0...1) else { continue }
                    var interface = LinkbeatInterface(name: line.keyword)
                    if let word = words.first {
                        guard let polling = context.choice(word, ["MII", "ETHTOOL", "IOCTL"], for: line) else {
                            continue
                        }
                        interface.polling = LinkbeatInterface.Polling(rawValue: polling)
                    }
                    config.globalDefs.linkbeatInterfaces.append(interface)
                }
            },
        ]
        for (keyword, handler) in daemonHandlers {
            handlers[keyword] = { config, node, context in handler(&config.globalDefs, node, context) }
        }
        return handlers
    }()

    /// Top-level blocks and keywords that do not take effect (a warning each). The daemon settings
    /// among them are checked by their handlers first.
    static let unsupportedTopLevel: KeywordWarnings = [
        "linkbeat_use_polling": .linkbeatPolling, "linkbeat_interfaces": .linkbeatPolling,
        "namespace_with_ipsets": .notBuilt(
            "Vigil uses no ipsets (its no_accept filter is an nftables table, see vrrp_ipsets): nothing to create in "
                + "the namespace"),
    ]

    /// The `global_defs` keywords that do not take effect, with the reason `vigild -t` gives.
    static let globalDefsWarnings = KeywordWarnings(
        Dictionary(
            uniqueKeysWithValues: [
                (
                    "tmp_config_directory",
                    NotInEffect.notBuilt(
                        "vigild reads the file once and sends each worker the configuration it read over its "
                            + "socket; there is no copy of the file to place")
                ),
                (
                    "nftables_ifindex",
                    .notBuilt(
                        "Vigil's no_accept sets hold addresses only, link-local ones too, matched on every "
                            + "interface: there is no interface name or index to choose between")
                ),
                (
                    "lvs_sync_daemon_interface",
                    .ignoredByKeepalived(
                        "it is no global_defs keyword (keepalived reports it unknown); write 'lvs_sync_daemon "
                            + "IFACE [INSTANCE]', or keepalived's older 'lvs_sync_daemon_interface IFACE' in the "
                            + "vrrp_instance")
                ),
            ]
                + ["nftables_ipvs", "nftables_ipvs_priority", "nftables_ipvs_start_fwmark"].map {
                    (
                        $0,
                        NotInEffect.notBuilt(
                            "Vigil puts each address of a virtual_server_group in IPVS as a service of its own; it "
                                + "does not mark the group's packets with nftables for one fwmark service")
                    )
                }
                + [
                    "snmp_socket", "enable_snmp_keepalived", "enable_snmp_vrrp", "enable_snmp_checker",
                    "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_traps",
                ].map { ($0, NotInEffect.notBuilt("Vigil has no SNMP agent; it exports Prometheus metrics")) }
                // keepalived itself uses nftables when no iptables command is installed; Vigil always does.
                + ["vrrp_iptables", "vrrp_ipsets"].map {
                    (
                        $0,
                        NotInEffect.notBuilt(
                            "Vigil filters no_accept traffic with nftables (table 'keepalived', see 'nftables'), as "
                                + "keepalived does without an iptables command; the chains or ipsets named are not used"
                        )
                    )
                }
                + ["enable_dbus", "dbus_service_name"].map {
                    ($0, NotInEffect.notBuilt("Vigil has no DBus interface; vigilctl does its work"))
                }
                + [
                    "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
                    "vrrp_netlink_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs",
                    "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
                    "lvs_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
                    "process_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier",
                ].map { ($0, NotInEffect.notBuilt("Vigil sizes its socket buffers itself")) }
                + [
                    ("data_use_instance", .notBuilt("vigild.data is written beside the control socket"))
                ]
        ))

    /// The daemon settings keepalived takes outside `global_defs`.
    static let daemonHandlers: [String: Global.Handler] = [
        "net_namespace": Global.string(\.netNamespace),
        "net_namespace_ipvs": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            if let earlier = globals.netNamespaceIPVS {
                context.warning(
                    "net_namespace_ipvs is already '\(earlier)'; this one is ignored, as keepalived does", at: node)
                return
            }
            globals.netNamespaceIPVS = words.first ?? ""
        },
        "namespace_with_ipsets": Global.set(\.namespaceWithIPSets, to: true),
        "instance": Global.string(\.instanceName),
        "use_pid_dir": Global.set(\.usePIDDir, to: true),
        "linkbeat_use_polling": Global.set(\.linkbeatUsePolling, to: true),
        // keepalived: whole seconds, 0 and up (0: the workers are killed at once).
        "child_wait_time": Global.value(\.childWaitTime) { node, context in
            context.integer(node, in: 0...Int(UInt32.max)).map { .seconds($0) }
        },
    ]

    static let globalDefsHandlers: [String: Global.Handler] = [
        "router_id": Global.string(\.routerID),
        "notification_email": { globals, node, context in
            globals.notificationEmail += context.names(node)?.map(\.name) ?? []
        },
        "notification_email_from": Global.string(\.notificationEmailFrom),
        "smtp_server": smtpServer,
        "smtp_helo_name": Global.string(\.smtpHeloName),
        "smtp_connect_timeout": Global.duration(\.smtpConnectTimeout, .seconds(1) ... .seconds(86_400)),
        "smtp_alert": Global.flag(\.smtpAlert),
        "smtp_alert_vrrp": Global.flag(\.smtpAlertVRRP),
        "smtp_alert_checker": Global.flag(\.smtpAlertChecker),
        "no_email_faults": Global.set(\.noEmailFaults, to: true),
        "checker_log_all_failures": Global.flag(\.checkerLogAllFailures),
        "no_checker_emails": Global.flag(\.noCheckerEmails),
        "rs_init_notifies": Global.flag(\.rsInitNotifies),
        "script_user": { globals, node, context in
            if let user = context.scriptUser(node) { globals.scriptUser = user }
        },
        "enable_script_security": Global.set(\.enableScriptSecurity, to: true),
        "startup_script": Global.script(\.startupScript),
        "startup_script_timeout": Global.duration(\.startupScriptTimeout, .seconds(1) ... .seconds(1_000)),
        "shutdown_script": Global.script(\.shutdownScript),
        "shutdown_script_timeout": Global.duration(\.shutdownScriptTimeout, .seconds(1) ... .seconds(1_000)),
        "notify_fifo": fifo(\.notifyFIFO),
        "notify_fifo_script": fifoScript(\.notifyFIFO),
        "vrrp_notify_fifo": fifo(\.vrrpNotifyFIFO),
        "vrrp_notify_fifo_script": fifoScript(\.vrrpNotifyFIFO),
        "lvs_notify_fifo": fifo(\.lvsNotifyFIFO),
        "lvs_notify_fifo_script": fifoScript(\.lvsNotifyFIFO),
        "fifo_write_vrrp_states_on_reload": Global.set(\.fifoWriteVRRPStatesOnReload, to: true),
        "vrrp_mcast_group4": multicastGroup(\.vrrpMcastGroup4, .ipv4),
        "vrrp_mcast_group6": multicastGroup(\.vrrpMcastGroup6, .ipv6),
        "vrrp_garp_master_delay": Global.duration(\.vrrpGarpMasterDelay, .zero ... .seconds(86_400)),
        "vrrp_garp_master_repeat": Global.integer(\.vrrpGarpMasterRepeat, 0...Int(Int32.max)),
        "vrrp_garp_master_refresh": Global.duration(\.vrrpGarpMasterRefresh, .zero ... .seconds(86_400)),
        "vrrp_garp_master_refresh_repeat": Global.integer(\.vrrpGarpMasterRefreshRepeat, 0...Int(Int32.max)),
        "vrrp_garp_lower_prio_delay": Global.duration(\.vrrpGarpLowerPrioDelay, .zero ... .seconds(86_400)),
        "vrrp_garp_lower_prio_repeat": Global.integer(\.vrrpGarpLowerPrioRepeat, 0...Int(Int32.max)),
        "vrrp_garp_interval": Global.duration(\.vrrpGarpInterval, .zero ... .seconds(1)),
        "vrrp_garp_extra_if": { globals, node, context in
            if let extra = context.garpExtraInterfaces(node, in: 1...86_400) { globals.vrrpGarpExtraIf = extra }
        },
        "vrrp_gna_interval": Global.duration(\.vrrpGnaInterval, .zero ... .seconds(1)),
        "vrrp_min_garp": Global.flag(\.vrrpMinGarp),
        "vrrp_down_timer_adverts": Global.integer(\.vrrpDownTimerAdverts, 1...100),
        "vrrp_lower_prio_no_advert": Global.flag(\.vrrpLowerPrioNoAdvert),
        "vrrp_higher_prio_send_advert": Global.flag(\.vrrpHigherPrioSendAdvert),
        "vrrp_version": Global.integer(\.vrrpVersion, 2...3),
        "vrrp_check_unicast_src": Global.set(\.vrrpCheckUnicastSrc, to: true),
        "vrrp_skip_check_adv_addr": Global.flag(\.vrrpSkipCheckAdvAddr),
        "vrrp_strict": Global.set(\.vrrpStrict, to: true),
        "vmac_prefix": vmacPrefix(\.vmacPrefix),
        "nftables": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            globals.nftablesTable = words.first ?? "keepalived"
        },
        "nftables_priority": Global.integer(\.nftablesPriority, -Int(Int32.max)...Int(Int32.max)),
        "nftables_counters": Global.set(\.nftablesCounters, to: true),
        "log_unknown_vrids": Global.set(\.logUnknownVRIDs, to: true),
        "vmac_addr_prefix": vmacPrefix(\.vmacAddrPrefix),
        "vrrp_notify_priority_changes": Global.flag(\.vrrpNotifyPriorityChanges),
        "vrrp_startup_delay": Global.duration(\.vrrpStartupDelay, .zero ... .seconds(3_600)),
        "default_interface": Global.string(\.defaultInterface),
        "dynamic_interfaces": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            guard let word = words.first else {
                globals.dynamicInterfaces = .on
                return
            }
            if context.choice(word, ["allow_if_changes"], for: node) != nil {
                globals.dynamicInterfaces = .allowIfChanges
            }
        },
        "vrrp_priority": Global.integer(\.vrrpPriority, -20...19),
        "checker_priority": Global.integer(\.checkerPriority, -20...19),
        "bfd_priority": Global.integer(\.bfdPriority, -20...19),
        "vrrp_no_swap": Global.set(\.vrrpNoSwap, to: true),
        "checker_no_swap": Global.set(\.checkerNoSwap, to: true),
        "bfd_no_swap": Global.set(\.bfdNoSwap, to: true),
        "vrrp_rt_priority": ProcessSchema.realtimePriority(\.vrrpRTPriority),
        "checker_rt_priority": ProcessSchema.realtimePriority(\.checkerRTPriority),
        "bfd_rt_priority": ProcessSchema.realtimePriority(\.bfdRTPriority),
        "vrrp_rlimit_rttime": ProcessSchema.rlimitRTTime(\.vrrpRlimitRTTime),
        "checker_rlimit_rttime": ProcessSchema.rlimitRTTime(\.checkerRlimitRTTime),
        "bfd_rlimit_rttime": ProcessSchema.rlimitRTTime(\.bfdRlimitRTTime),
        "vrrp_cpu_affinity": ProcessSchema.cpuAffinity(\.vrrpCPUAffinity),
        "checker_cpu_affinity": ProcessSchema.cpuAffinity(\.checkerCPUAffinity),
        "bfd_cpu_affinity": ProcessSchema.cpuAffinity(\.bfdCPUAffinity),
        "process_names": Global.set(\.processNames, to: true),
        "process_name": ProcessSchema.processName(\.processName),
        "vrrp_process_name": ProcessSchema.processName(\.vrrpProcessName),
        "checker_process_name": ProcessSchema.processName(\.checkerProcessName),
        "bfd_process_name": ProcessSchema.processName(\.bfdProcessName),
        "umask": ProcessSchema.umask,
        "max_auto_priority": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            guard let word = words.first else {
                globals.maxAutoPriority = 99
                return
            }
            if let value = context.integer(word, in: -1...99, for: node) { globals.maxAutoPriority = value }
        },
        "min_auto_priority_delay": Global.value(\.minAutoPriorityDelay) { node, context in
            context.integer(node, in: 1...10_000_000).map { .microseconds($0) }
        },
        "reload_check_config": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            globals.reloadCheckConfig = words.first ?? "/dev/null"
        },
        "reload_file": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            globals.reloadFile = words.first.map { .path($0) } ?? .besidePidFile
        },
        // The reader applies it to the includes that follow (ConfigReader's IncludeChecks); here its words are
        // checked.
        "include_check": { _, node, context in
            guard context.noBlock(node) else { return }
            for (index, word) in node.arguments.enumerated() {
                let signed = word.hasPrefix("+") || word.hasPrefix("-")
                let name = signed ? String(word.dropFirst()) : word
                guard ["read", "match", "wildcard_match", "brace_match"].contains(name) else {
                    context.error(
                        "unknown include_check type '\(name)' (read, match, wildcard_match, brace_match)", at: node)
                    continue
                }
                if !signed && index > 0 {
                    context.error(
                        "include_check '\(word)' after the first: only +\(word) or -\(word) add or remove", at: node)
                }
            }
        },
        "reload_time_file": Global.string(\.reloadTimeFile),
        "config_save_dir": Global.string(\.configSaveDir),
        "disable_local_igmp": Global.set(\.disableLocalIGMP, to: true),
        "reload_repeat": Global.set(\.reloadRepeat, to: true),
        "random_seed": { globals, node, context in
            if context.noBlock(node), let value = context.integer(node, in: 0...Int(UInt32.max)) {
                globals.randomSeed = UInt32(value)
            }
        },
        "lvs_sync_daemon": lvsSyncDaemon,
        "lvs_timeouts": lvsTimeouts,
        "lvs_flush": Global.set(\.lvsFlush, to: true),
        // Vigil only: IPVS's sloppy_tcp / sloppy_sctp sysctls (nil leaves the kernel's value).
        "lvs_sloppy_tcp": Global.flag(\.lvsSloppyTCP),
        "lvs_sloppy_sctp": Global.flag(\.lvsSloppySCTP),
        // Vigil only: BGP anycast through a route table the BGP daemon exports.
        "announce_table": Global.value(\.announceTable) { (node, context) -> UInt32? in
            guard let table = context.integer(node, in: 1...Int(UInt32.max)) else { return nil }
            guard !(252...255).contains(table) else {
                context.error(
                    "'announce_table' \(table) is one of the kernel's own tables (default 253, main 254, local 255, "
                        + "compat 252), which forward packets: name a table of its own, like 100", at: node)
                return nil
            }
            return UInt32(table)
        },
        "announce_protocol": Global.value(\.announceProtocol) { node, context in
            context.integer(node, in: 1...255).map { UInt8($0) }
        },
        "announce_grace_period": Global.value(\.announceGracePeriod) { node, context in
            context.integer(node, in: 0...86_400).map { .seconds($0) }
        },
        // Vigil only: how often every IPVS rule of the configuration is checked against the kernel's (0: never).
        "ipvs_repair_interval": Global.duration(\.ipvsRepairInterval, .zero ... .seconds(86_400)),
        // Vigil only: the metrics, status page and status JSON listener (off unless given).
        "metrics_listen": Global.value(\.metricsListen) { node, context in
            context.single(node).flatMap { text in
                guard let listen = ListenAddress(text) else {
                    context.error(
                        "'metrics_listen' takes ADDRESS:PORT (192.0.2.1:9165, [2001:db8::1]:9165), not '\(text)'",
                        at: node)
                    return nil
                }
                return listen
            }
        },
        "lvs_flush_on_stop": { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            guard let word = words.first else {
                globals.lvsFlushOnStop = .all
                return
            }
            if let choice = context.choice(word, ["VS", "ALL"], for: node, ignoringCase: true) {
                globals.lvsFlushOnStop = choice == "VS" ? .virtualServers : .all
                if choice == "ALL" {
                    context.warning(
                        "'lvs_flush_on_stop ALL' is Vigil's spelling of the bare keyword (flush all of IPVS at stop); "
                            + "keepalived 2.2.7 rejects 'ALL' and keeps its default", at: node)
                }
            }
        },
    ]

    static let globalDefs = KeywordTable<GlobalDefs>(
        "global_defs",
        handlers: globalDefsHandlers,
        unsupported: globalDefsWarnings,
        aliases: [
            "lvs_process_name": "checker_process_name",
            "lvs_flush_onstop": "lvs_flush_on_stop",
            "vrrp_vmac_garp_intvl": "vrrp_garp_extra_if",
            "vrrp_rlimit_rtime": "vrrp_rlimit_rttime",
            "checker_rlimit_rtime": "checker_rlimit_rttime",
            "bfd_rlimit_rtime": "bfd_rlimit_rttime",
        ]
    )

    // MARK: Keywords with structured values

    /// `smtp_server HOST [PORT]`: an address or a host name.
    static let smtpServer: Global.Handler = { globals, node, context in
        guard context.noBlock(node), let words = context.arguments(node, count: 1...2) else { return }
        let host = words[0]
        let isHostName =
            host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
            && !host.hasPrefix("-") && !host.hasPrefix(".")
        guard IPAddress(host) != nil || isHostName else {
            context.error("'smtp_server' takes an address or a host name, not '\(host)'", at: node)
            return
        }
        var server = SMTPServer(host: host)
        if words.count == 2 {
            guard let port = context.port(words[1], for: node) else { return }
            server.port = port
        }
        globals.smtpServer = server
    }

    static func multicastGroup(
        _ path: Global.Path<IPAddress>, _ family: IPAddress.Family
    ) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let text = context.single(node),
                let address = context.address(text, for: node, family: family)
            else { return }
            guard address.isMulticast else {
                context.error("'\(node.keyword)' must be a multicast address, not \(address)", at: node)
                return
            }
            globals[keyPath: path] = address
        }
    }

    /// `vmac_prefix` / `vmac_addr_prefix WORD`: the start of generated VMAC names, which must leave room for
    /// `.VRID` within an interface name (keepalived cuts a longer one).
    static func vmacPrefix(_ path: Global.Path<String?>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let prefix = context.single(node) else { return }
            guard !prefix.isEmpty, !prefix.contains("/"), !prefix.contains(":"),
                prefix.allSatisfy({ $0.isASCII && !$0.isWhitespace })
            else {
                context.error("'\(node.keyword)' '\(prefix)' cannot start an interface name", at: node)
                return
            }
            if prefix.utf8.count > 11 {
                context.warning(
                    "'\(node.keyword)' '\(prefix)' is shortened in VMAC names (at most 15 characters with '.VRID')",
                    at: node)
            }
            globals[keyPath: path] = prefix
        }
    }

    /// `…_fifo PATH [USER [GROUP]]`.
    static func fifo(_ path: Global.Path<NotifyFIFO?>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 1...3) else { return }
            var fifo = globals[keyPath: path] ?? NotifyFIFO()
            fifo.path = words[0]
            fifo.owner = words.count > 1 ? ScriptUser(user: words[1], group: words.dropFirst(2).first) : nil
            globals[keyPath: path] = fifo
            // keepalived writes each event to notify_fifo and to the part's own FIFO; the workers write one.
            // (The VRRP worker writes both since issue 14; the checker worker not yet.)
            let parts = [("lvs_notify_fifo", globals.lvsNotifyFIFO)]
            for (part, partFIFO) in parts where partFIFO?.path != nil && globals.notifyFIFO?.path != nil {
                guard node.keyword == "notify_fifo" || node.keyword == part else { continue }
                context.warning(
                    "with both notify_fifo and \(part), Vigil writes those events to \(part) only, not also to "
                        + "notify_fifo (not implemented by Vigil yet)", at: node)
            }
        }
    }

    /// `…_fifo_script SCRIPT [USER [GROUP]]`.
    static func fifoScript(_ path: Global.Path<NotifyFIFO?>) -> Global.Handler {
        { globals, node, context in
            guard let script = context.script(node) else { return }
            var fifo = globals[keyPath: path] ?? NotifyFIFO()
            fifo.script = script
            globals[keyPath: path] = fifo
        }
    }

    /// `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
    static let lvsSyncDaemon: Global.Handler = { globals, node, context in
        guard context.noBlock(node), let words = context.arguments(node, count: 1...14) else { return }
        var daemon = LVSSyncDaemon(interface: words[0], location: node.location)
        var index = 1
        while index < words.count {
            let word = words[index]
            let named = ["inst", "id", "maxlen", "port", "ttl", "group"].contains(word)
            if !named {
                guard daemon.instance == nil, index == 1 else {
                    context.error(
                        "unknown option '\(word)' in 'lvs_sync_daemon' (takes inst, id, maxlen, port, ttl, group)",
                        at: node)
                    return
                }
                daemon.instance = word
                index += 1
                continue
            }
            guard index + 1 < words.count else {
                context.error("'\(word)' needs a value (in 'lvs_sync_daemon')", at: node)
                return
            }
            let value = words[index + 1]
            switch word {
            case "inst": daemon.instance = value
            case "id": daemon.syncID = context.integer(value, in: 0...255, for: node, what: "'id'")
            case "maxlen": daemon.maxLength = context.integer(value, in: 1...65507, for: node, what: "'maxlen'")
            case "port": daemon.port = context.port(value, for: node)
            case "ttl": daemon.ttl = context.integer(value, in: 1...255, for: node, what: "'ttl'")
            default: daemon.group = context.address(value, for: node)
            }
            index += 2
        }
        globals.lvsSyncDaemon = daemon
    }

    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`: at least one.
    static let lvsTimeouts: Global.Handler = { globals, node, context in
        guard context.noBlock(node), let words = context.arguments(node, count: 2...6) else { return }
        guard let pairs = context.options(words[...], valued: ["tcp", "tcpfin", "udp"], flags: [], for: node)
        else { return }
        var timeouts = LVSTimeouts()
        for (name, text) in pairs {
            guard let seconds = context.integer(text!, in: 1...Int(Int32.max), for: node, what: "'\(name)'") else {
                return
            }
            switch name {
            case "tcp": timeouts.tcp = .seconds(seconds)
            case "tcpfin": timeouts.tcpFin = .seconds(seconds)
            default: timeouts.udp = .seconds(seconds)
            }
        }
        globals.lvsTimeouts = timeouts
    }

    // MARK: Cross-checks

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {
        if let daemon = config.globalDefs.lvsSyncDaemon, let name = daemon.instance,
            config.vrrp.instance(named: name) == nil
        {
            context.error(
                "'lvs_sync_daemon' names vrrp_instance '\(name)', which is not defined", at: daemon.location)
        }
        let fifos = [config.globalDefs.notifyFIFO, config.globalDefs.vrrpNotifyFIFO, config.globalDefs.lvsNotifyFIFO]
            .compactMap { $0?.path }
        if Set(fifos).count != fifos.count {
            context.warning("the notify FIFOs must all be different; keepalived ignores repeated ones", at: nil)
        }
        // The VRRP worker starts notify_fifo_script; without a vrrp_instance there is none (keepalived's checker
        // process would start it too).
        if config.globalDefs.notifyFIFO?.script != nil && config.vrrp.instances.isEmpty {
            context.warning(
                "notify_fifo_script is started by the VRRP worker, and there is no vrrp_instance; not started", at: nil)
        }
    }
}
