/// A state that VRRP notifications name, spelled as keepalived sends it.
public enum VRRPNotifyState: String, Hashable, Sendable, CaseIterable {
    case master = "MASTER"
    case backup = "BACKUP"
    case fault = "FAULT"
    /// Instances only: the daemon is stopping.
    case stop = "STOP"
    /// Instances only, with `notify_deleted`: removed by a reload.
    case deleted = "DELETED"
    /// FIFO only: a master received an advert of lower priority.
    case masterRxLowerPriority = "MASTER_RX_LOWER_PRI"
    /// FIFO only, with `notify_priority_changes`: the priority of a master changed.
    case masterPriority = "MASTER_PRIORITY"
    /// FIFO only, with `notify_priority_changes`: the priority of a backup changed.
    case backupPriority = "BACKUP_PRIORITY"
}

/// Whether a notification is about one instance or a sync group.
public enum VRRPNotifySubject: String, Hashable, Sendable {
    case instance = "INSTANCE"
    case group = "GROUP"
}

/// The argument vectors keepalived passes to notify programs (keepalived.conf(5), `notify`).
public enum NotifyArguments {
    /// `notify`: the configured words, then `INSTANCE|GROUP`, the name, the state and the priority
    /// (keepalived sends 0 for a sync group).
    public static func notify(
        _ command: ScriptCommand, subject: VRRPNotifySubject, name: String, state: VRRPNotifyState, priority: Int
    ) -> ScriptCommand {
        command.appending([subject.rawValue, name, state.rawValue, String(priority)])
    }

    /// `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify_deleted`,
    /// `notify_master_rx_lower_pri`, and a real server's `notify_up` / `notify_down`: run exactly as
    /// configured, with no extra arguments.
    public static func plain(_ command: ScriptCommand) -> ScriptCommand { command }

    /// `notify_fifo_script` (and the vrrp / lvs variants): the FIFO's path as the last argument.
    public static func fifoScript(_ command: ScriptCommand, fifoPath: String) -> ScriptCommand {
        command.appending([fifoPath])
    }
}

/// Lines keepalived writes to `notify_fifo`, `vrrp_notify_fifo` and `lvs_notify_fifo`, each ending in
/// a newline.
public enum NotifyFIFOLine {
    /// `INSTANCE "VI_1" MASTER 100`.
    public static func instance(name: String, state: VRRPNotifyState, priority: Int) -> String {
        "INSTANCE \"\(name)\" \(state.rawValue) \(priority)\n"
    }

    /// `GROUP "G1" BACKUP 0`: keepalived 2.2.7 prints the same four fields for a group, priority 0.
    public static func group(name: String, state: VRRPNotifyState) -> String {
        "GROUP \"\(name)\" \(state.rawValue) 0\n"
    }

    /// `VS [192.0.2.100]:tcp:80 UP`.
    public static func virtualServer(_ virtualServer: String, up: Bool) -> String {
        "VS \(virtualServer) \(up ? "UP" : "DOWN")\n"
    }

    /// `RS [198.51.100.11]:tcp:80 [192.0.2.100]:tcp:80 DOWN`.
    public static func realServer(_ realServer: String, of virtualServer: String, up: Bool) -> String {
        "RS \(realServer) \(virtualServer) \(up ? "UP" : "DOWN")\n"
    }

    /// An address endpoint as keepalived prints it: `[ADDRESS]:PROTOCOL:PORT`, protocol in lower case
    /// (`tcp`, `udp`, `sctp`), IPv6 addresses in the same brackets.
    public static func endpoint(address: String, protocol name: String, port: Int) -> String {
        "[\(address)]:\(name.lowercased()):\(port)"
    }

    /// A firewall-mark virtual server: `FWM MARK` (keepalived's `format_vs`).
    public static func firewallMark(_ mark: UInt32) -> String { "FWM \(mark)" }

    /// A virtual server defined by a `virtual_server_group`: `[GROUP]:PORT` (keepalived's `format_vs`).
    public static func virtualServerGroup(_ name: String, port: Int) -> String { "[\(name)]:\(port)" }
}

/// The subjects and bodies of keepalived 2.2.7's `smtp_alert` mails (checked against the strings in
/// Debian's keepalived 2.2.7 binary).
public enum SMTPAlertText {
    /// `[ROUTER_ID] VRRP Instance VI_1 - Entering MASTER state`, with the body keepalived sends for it.
    public static func instance(routerID: String, name: String, state: VRRPNotifyState) -> (
        subject: String, body: String
    ) {
        let body =
            switch state {
            case .master: "=> VRRP Instance is now owning VRRP VIPs <="
            case .stop: "=> VRRP Instance stopping <="
            case .deleted: "=> VRRP Deleted at reload <="
            default: "=> VRRP Instance is no longer owning VRRP VIPs <="
            }
        return ("[\(routerID)] VRRP Instance \(name) - \(entering(state))", body)
    }

    /// `[ROUTER_ID] VRRP Group G1 - Entering BACKUP state`.
    public static func group(routerID: String, name: String, state: VRRPNotifyState) -> (
        subject: String, body: String
    ) {
        let body =
            state == .stop
            ? "=> All VRRP group instances are now stopping <="
            : "=> All VRRP group instances are now in \(state.rawValue) state <="
        return ("[\(routerID)] VRRP Group \(name) - \(entering(state))", body)
    }

    /// `[ROUTER_ID] Realserver [198.51.100.11]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN`;
    /// the body is the checker's (`=> TCP CHECK failed on service <=`), by default the generic one.
    public static func realServer(
        routerID: String, realServer: String, virtualServer: String, up: Bool, body: String? = nil
    ) -> (subject: String, body: String) {
        (
            "[\(routerID)] Realserver \(realServer) of virtual server \(virtualServer) - \(up ? "UP" : "DOWN")",
            body ?? (up ? "=> CHECK succeed on service <=" : "=> CHECK failed on service <=")
        )
    }

    /// `[ROUTER_ID] Virtualserver [192.0.2.100]:tcp:80 - DOWN` (quorum lost or gained).
    public static func virtualServer(routerID: String, virtualServer: String, up: Bool, body: String) -> (
        subject: String, body: String
    ) {
        ("[\(routerID)] Virtualserver \(virtualServer) - \(up ? "UP" : "DOWN")", body)
    }

    private static func entering(_ state: VRRPNotifyState) -> String { "Entering \(state.rawValue) state" }
}
