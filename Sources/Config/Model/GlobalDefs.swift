/// `global_defs { }` and the daemon settings written outside any block (`net_namespace`,
/// `instance`, …), with keepalived's defaults.
public struct GlobalDefs: Sendable, Hashable, Codable {
    // MARK: Top-level daemon settings

    /// `net_namespace NAME`: the network namespace to run in.
    public var netNamespace: String?
    /// `net_namespace_ipvs [NAME]`: where IPVS is configured; `""` means the default namespace.
    public var netNamespaceIPVS: String?
    /// `namespace_with_ipsets`.
    public var namespaceWithIPSets = false
    /// `instance NAME`: distinguishes the pid files of several daemons in one namespace.
    public var instanceName: String?
    /// `use_pid_dir`: pid files in /run/keepalived.
    public var usePIDDir = false
    /// `linkbeat_use_polling`: poll link state (MII/ethtool) instead of netlink.
    public var linkbeatUsePolling = false
    /// `child_wait_time SECS`: how long the watchdog waits for its workers to exit at stop before it kills them
    /// (default 5 s).
    public var childWaitTime: Duration = .seconds(5)
    /// `linkbeat_interfaces { IFACE [MII|ETHTOOL|IOCTL] }`.
    public var linkbeatInterfaces: [LinkbeatInterface] = []

    // MARK: Identity and notification

    /// `router_id`; `nil` means the host name, resolved at run time.
    public var routerID: String?
    /// `notification_email { }`: addresses of the alert mails.
    public var notificationEmail: [String] = []
    /// `notification_email_from`; `nil` means `keepalived@HOSTNAME`.
    public var notificationEmailFrom: String?
    /// `smtp_server HOST [PORT]`.
    public var smtpServer: SMTPServer?
    /// `smtp_helo_name`; `nil` means the host name.
    public var smtpHeloName: String?
    /// `smtp_connect_timeout` (default 30 s).
    public var smtpConnectTimeout: Duration = .seconds(30)
    /// `smtp_alert <BOOL>`: default for every `smtp_alert`.
    public var smtpAlert: Bool?
    /// `smtp_alert_vrrp <BOOL>`.
    public var smtpAlertVRRP: Bool?
    /// `smtp_alert_checker <BOOL>`.
    public var smtpAlertChecker: Bool?
    /// `no_email_faults`.
    public var noEmailFaults = false
    /// `checker_log_all_failures <BOOL>`.
    public var checkerLogAllFailures = false
    /// `no_checker_emails <BOOL>`: mail a real server's checker changes only when the real server's state changes.
    public var noCheckerEmails = false
    /// `rs_init_notifies <BOOL>`: run `notify_up` (and write the FIFO line) for real servers that start up.
    public var rsInitNotifies = false

    // MARK: Scripts and FIFOs

    /// `script_user USER [GROUP]`; `nil` means `keepalived_script` if it exists, else root — resolved
    /// at run time.
    public var scriptUser: ScriptUser?
    /// `enable_script_security`.
    public var enableScriptSecurity = false
    /// `startup_script SCRIPT [USER [GROUP]]`.
    public var startupScript: ScriptCommand?
    /// `startup_script_timeout` (1–1000 s, default 10 s).
    public var startupScriptTimeout: Duration = .seconds(10)
    /// `shutdown_script SCRIPT [USER [GROUP]]`.
    public var shutdownScript: ScriptCommand?
    /// `shutdown_script_timeout` (1–1000 s, default 10 s).
    public var shutdownScriptTimeout: Duration = .seconds(10)
    /// `notify_fifo` and `notify_fifo_script`: every notify event.
    public var notifyFIFO: NotifyFIFO?
    /// `vrrp_notify_fifo` and `vrrp_notify_fifo_script`.
    public var vrrpNotifyFIFO: NotifyFIFO?
    /// `lvs_notify_fifo` and `lvs_notify_fifo_script` (started by the checker worker).
    public var lvsNotifyFIFO: NotifyFIFO?
    /// `fifo_write_vrrp_states_on_reload`.
    public var fifoWriteVRRPStatesOnReload = false

    // MARK: VRRP defaults

    /// `vrrp_mcast_group4` (RFC 5798 §5.1.1.2: 224.0.0.18).
    public var vrrpMcastGroup4: IPAddress = .v4(0xE000_0012)
    /// `vrrp_mcast_group6` (RFC 5798 §5.1.2.2: ff02::12).
    public var vrrpMcastGroup6: IPAddress = .v6([0xff, 0x02] + Array(repeating: 0, count: 13) + [0x12])
    /// `vrrp_garp_master_delay`: second burst of gratuitous ARPs after becoming master; 0 = none
    /// (default 5 s).
    public var vrrpGarpMasterDelay: Duration = .seconds(5)
    /// `vrrp_garp_master_repeat`: gratuitous ARPs per burst (default 5).
    public var vrrpGarpMasterRepeat = 5
    /// `vrrp_garp_master_refresh`: periodic gratuitous ARPs while master; 0 = off (default).
    public var vrrpGarpMasterRefresh: Duration = .zero
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    public var vrrpGarpMasterRefreshRepeat = 1
    /// `vrrp_garp_lower_prio_delay`; `nil` means `vrrpGarpMasterDelay`.
    public var vrrpGarpLowerPrioDelay: Duration?
    /// `vrrp_garp_lower_prio_repeat`; `nil` means `vrrpGarpMasterRepeat`.
    public var vrrpGarpLowerPrioRepeat: Int?
    /// `vrrp_garp_interval`: gap between gratuitous ARPs on one interface (default 0).
    public var vrrpGarpInterval: Duration = .zero
    /// `vrrp_gna_interval`: gap between unsolicited neighbour adverts (default 0).
    public var vrrpGnaInterval: Duration = .zero
    /// `vrrp_garp_extra_if [all] SECONDS` (or the deprecated `vrrp_vmac_garp_intvl`): periodic gratuitous ARPs /
    /// NAs on the other interfaces of a master's addresses; `nil`: none.
    public var vrrpGarpExtraIf: GARPExtraInterfaces?
    /// `vrrp_min_garp`: one ARP/NA, no second burst.
    public var vrrpMinGarp = false
    /// `vrrp_down_timer_adverts` (1–100, default 3 as RFC 5798 §6.1 requires).
    public var vrrpDownTimerAdverts = 3
    /// `vrrp_lower_prio_no_advert`.
    public var vrrpLowerPrioNoAdvert = false
    /// `vrrp_higher_prio_send_advert`.
    public var vrrpHigherPrioSendAdvert = false
    /// `vrrp_version` (default 2; IPv6 instances always use 3).
    public var vrrpVersion = 2
    /// `vrrp_check_unicast_src`.
    public var vrrpCheckUnicastSrc = false
    /// `vrrp_skip_check_adv_addr`.
    public var vrrpSkipCheckAdvAddr = false
    /// `vrrp_strict`: strict RFC compliance.
    public var vrrpStrict = false
    /// `log_unknown_vrids`: log adverts for VRIDs no instance on the interface has.
    public var logUnknownVRIDs = false
    /// `nftables [NAME]`: the no-accept filter's tables (default `keepalived`, as keepalived's).
    public var nftablesTable: String?
    /// `nftables_priority`: of the filter's chains (default -1).
    public var nftablesPriority = -1
    /// `nftables_counters`: a counter on each drop rule.
    public var nftablesCounters = false
    /// `vmac_prefix`: generated VMAC names are PREFIX.VRID (default `vrrp`).
    public var vmacPrefix: String?
    /// `vmac_addr_prefix`: the same for the VMACs of addresses on other interfaces (default `vmac_prefix`).
    public var vmacAddrPrefix: String?
    /// `vrrp_notify_priority_changes <BOOL>`.
    public var vrrpNotifyPriorityChanges = false
    /// `vrrp_startup_delay`: wait before starting the instances (default 0).
    public var vrrpStartupDelay: Duration = .zero
    /// `default_interface`: for static addresses without `dev` (default eth0).
    public var defaultInterface = "eth0"
    /// `dynamic_interfaces [allow_if_changes]`.
    public var dynamicInterfaces: DynamicInterfaces = .off
    /// `disable_local_igmp`: `net.ipv4.igmp_link_local_mcast_reports` is 0 while the daemon runs.
    public var disableLocalIGMP = false

    // MARK: Processes

    /// `vrrp_priority` (nice, −20…19).
    public var vrrpPriority: Int?
    /// `checker_priority` (nice, −20…19).
    public var checkerPriority: Int?
    /// `bfd_priority` (nice, −20…19).
    public var bfdPriority: Int?
    /// `vrrp_no_swap`.
    public var vrrpNoSwap = false
    /// `checker_no_swap`.
    public var checkerNoSwap = false
    /// `bfd_no_swap`.
    public var bfdNoSwap = false
    /// `vrrp_rt_priority` (SCHED_RR, 1…99); `nil`: the normal scheduler (then `vrrp_priority` applies).
    public var vrrpRTPriority: Int?
    /// `checker_rt_priority` (SCHED_RR, 1…99).
    public var checkerRTPriority: Int?
    /// `bfd_rt_priority` (SCHED_RR, 1…99).
    public var bfdRTPriority: Int?
    /// `vrrp_rlimit_rttime`: microseconds of CPU a real-time VRRP worker may use without blocking (RLIMIT_RTTIME;
    /// the soft limit is half). keepalived's default, 10,000.
    public var vrrpRlimitRTTime = defaultRlimitRTTime
    /// `checker_rlimit_rttime`.
    public var checkerRlimitRTTime = defaultRlimitRTTime
    /// `bfd_rlimit_rttime`.
    public var bfdRlimitRTTime = defaultRlimitRTTime
    /// keepalived's `RT_RLIMIT_DEFAULT`.
    public static let defaultRlimitRTTime = 10_000
    /// `vrrp_cpu_affinity CPU…`; empty: every CPU.
    public var vrrpCPUAffinity: [Int] = []
    /// `checker_cpu_affinity CPU…`.
    public var checkerCPUAffinity: [Int] = []
    /// `bfd_cpu_affinity CPU…`.
    public var bfdCPUAffinity: [Int] = []
    /// `process_name NAME`: the watchdog's name (as `ps` and `/proc/PID/status` show it).
    public var processName: String?
    /// `process_names`: the workers are named keepalived_vrrp, keepalived_lvs and keepalived_bfd unless named
    /// otherwise.
    public var processNames = false
    /// `vrrp_process_name NAME`.
    public var vrrpProcessName: String?
    /// `checker_process_name NAME` (or `lvs_process_name`).
    public var checkerProcessName: String?
    /// `bfd_process_name NAME`.
    public var bfdProcessName: String?
    /// `umask MODE`: the daemon's file creation mask; `nil` leaves the inherited one.
    public var umask: UInt32?
    /// `max_auto_priority [-1…99]`: the highest SCHED_RR priority a worker whose loop runs late raises itself to;
    /// 0 (default) and −1 never raise it.
    public var maxAutoPriority = 0
    /// `min_auto_priority_delay USECS`: how late a worker's loop must run before it raises its priority (default 1 s).
    public var minAutoPriorityDelay: Duration = .seconds(1)
    /// `random_seed`: seed of `${_RANDOM}`; `nil` means time based.
    public var randomSeed: UInt32?

    // MARK: Reloads

    /// `reload_check_config [FILE]`: the new file is checked before a reload, its check written to FILE
    /// (`/dev/null` without one); a file that fails the check is not loaded.
    public var reloadCheckConfig: String?
    /// `reload_file [PATH]`: a file that exists while a reload reads the configuration.
    public var reloadFile: ReloadFile?
    /// `reload_time_file PATH`: a file naming the time of a scheduled reload.
    public var reloadTimeFile: String?
    /// `reload_repeat`: the reload time file is kept after its reload (a time of day reloads every day).
    public var reloadRepeat = false
    /// `config_save_dir DIR`: the configuration and state before and after each reload are saved there.
    public var configSaveDir: String?

    // MARK: LVS

    /// `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
    public var lvsSyncDaemon: LVSSyncDaemon?
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
    public var lvsTimeouts: LVSTimeouts?
    /// `lvs_flush`: flush IPVS at startup.
    public var lvsFlush = false
    /// Vigil's `ipvs_repair_interval`: every IPVS rule of the configuration is compared with the kernel's at least
    /// this often (spread over the interval), and what changed behind Vigil's back is put back; zero turns it off.
    /// nil: `defaultIPVSRepairInterval`.
    public var ipvsRepairInterval: Duration?
    public static let defaultIPVSRepairInterval = Duration.seconds(30)
    /// `lvs_flush_on_stop [VS|ALL]`; `nil` removes each service one by one.
    public var lvsFlushOnStop: LVSFlushOnStop?
    /// Vigil's `lvs_sloppy_tcp [on|off]` and `lvs_sloppy_sctp [on|off]`: the checker worker sets
    /// `net.ipv4.vs.sloppy_tcp` / `sloppy_sctp` to match once IPVS is there (IPVS then takes up a connection it
    /// sees mid-stream, as a director that inherits another's flows by ECMP must); nil leaves the kernel's value.
    public var lvsSloppyTCP: Bool?
    public var lvsSloppySCTP: Bool?

    // MARK: Anycast (Vigil only)

    /// `announce_table N`: the routing table where the watchdog keeps a host route for each virtual server address
    /// to announce (see `VirtualServer.announceUp`); the BGP daemon (FRR, BIRD) exports that table. nil: nothing is
    /// announced.
    public var announceTable: UInt32?
    /// `announce_protocol N`: the routing protocol number of those routes (iproute2's `proto`); routes of this
    /// protocol in `announceTable` are Vigil's, and those the configuration does not want are removed at start.
    public var announceProtocol: UInt8 = GlobalDefs.defaultAnnounceProtocol
    /// 18, which iproute2's `rt_protos` names `keepalived`.
    public static let defaultAnnounceProtocol: UInt8 = 18
    /// `announce_grace_period S`: how long announcements are kept while the checker worker is gone (restarting);
    /// when no successor has reported by then, every announcement is withdrawn.
    public var announceGracePeriod: Duration = .seconds(10)

    // MARK: Operators' interfaces

    /// Vigil's `metrics_listen ADDRESS:PORT`: where the watchdog serves Prometheus metrics (`/metrics`), the status
    /// page (`/`) and `/status.json`; nil (the default): not served. `vigild --metrics-listen` takes precedence.
    public var metricsListen: ListenAddress?

    public init() {}
}

/// `smtp_server HOST [PORT]`: an address or a host name.
public struct SMTPServer: Sendable, Hashable, Codable {
    public var host: String
    /// Default 25.
    public var port: Int

    public init(host: String, port: Int = 25) {
        self.host = host
        self.port = port
    }
}

/// A notify FIFO and the script keepalived starts to read it.
public struct NotifyFIFO: Sendable, Hashable, Codable {
    /// The FIFO's path; `nil` when only the `…_script` keyword was given.
    public var path: String?
    /// `[USER [GROUP]]` after the path: the FIFO's owner.
    public var owner: ScriptUser?
    /// `…_fifo_script`: run with the FIFO's name as its last argument.
    public var script: ScriptCommand?

    public init(path: String? = nil, owner: ScriptUser? = nil, script: ScriptCommand? = nil) {
        self.path = path
        self.owner = owner
        self.script = script
    }
}

/// `reload_file [PATH]`.
public enum ReloadFile: Sendable, Hashable, Codable {
    /// No path: the main pid file's name with `.reload` for `.pid` (keepalived's `keepalived.reload` beside its pid
    /// file).
    case besidePidFile
    case path(String)
}

/// `dynamic_interfaces [allow_if_changes]`.
public enum DynamicInterfaces: String, Sendable, Hashable, Codable {
    case off
    case on
    /// An interface may come back with another type or parent.
    case allowIfChanges
}

/// One line of `linkbeat_interfaces { }`.
public struct LinkbeatInterface: Sendable, Hashable, Codable {
    public enum Polling: String, Sendable, Hashable, Codable {
        case mii = "MII"
        case ethtool = "ETHTOOL"
        case ioctl = "IOCTL"
    }

    public var name: String
    /// `nil`: MII, else ethtool, else ioctl, whichever works.
    public var polling: Polling?

    public init(name: String, polling: Polling? = nil) {
        self.name = name
        self.polling = polling
    }
}

/// The IPVS connection synchronisation daemon.
public struct LVSSyncDaemon: Sendable, Hashable, Codable {
    public var interface: String
    /// The VRRP instance whose state decides master or backup; `nil` runs both.
    public var instance: String?
    /// `id` (0–255); `nil` means the instance's VRID, or 0.
    public var syncID: Int?
    /// `maxlen` (1–65507).
    public var maxLength: Int?
    /// `port` (default 8848).
    public var port: Int?
    /// `ttl` (1–255).
    public var ttl: Int?
    /// `group` (default 224.0.0.81).
    public var group: IPAddress?
    public var location: SourceLocation

    public init(interface: String, location: SourceLocation) {
        self.interface = interface
        self.location = location
    }
}

/// IPVS connection timeouts; `nil` leaves the kernel's value.
public struct LVSTimeouts: Sendable, Hashable, Codable {
    public var tcp: Duration?
    public var tcpFin: Duration?
    public var udp: Duration?

    public init(tcp: Duration? = nil, tcpFin: Duration? = nil, udp: Duration? = nil) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}

/// `lvs_flush_on_stop [VS|ALL]`.
public enum LVSFlushOnStop: String, Sendable, Hashable, Codable {
    /// Flush everything in IPVS.
    case all
    /// Remove each of Vigil's virtual servers, leaving the real servers to the kernel.
    case virtualServers
}

/// `garp_extra_if [all] SECONDS` (instance) and `vrrp_garp_extra_if` (global): while MASTER, every `interval` one
/// gratuitous ARP / unsolicited NA on each interface of the instance's addresses other than the one it advertises
/// on — VMACs only, or every such interface with `all` — so switches keep those MACs in their caches.
public struct GARPExtraInterfaces: Sendable, Hashable, Codable {
    /// 0 (instance only) turns the global setting off.
    public var interval: Duration
    public var all: Bool

    public init(interval: Duration, all: Bool = false) {
        self.interval = interval
        self.all = all
    }
}
