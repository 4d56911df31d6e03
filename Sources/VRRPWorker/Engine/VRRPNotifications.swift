import Config
import Logging
import NIOCore
import Notifier

/// One state change to tell the outside world about: an instance or a sync group entering a state.
struct VRRPNotice: Hashable, Sendable {
    var subject: VRRPNotifySubject
    var name: String
    var state: VRRPState
    /// The instance's effective priority (keepalived sends 0 for a group).
    var priority: Int
    var scripts: NotifyScripts
    /// The instance's or group's own `smtp_alert`; `nil` means the global default.
    var smtpAlert: Bool?
    /// What happened besides entering `state`.
    var event: Event = .transition

    /// keepalived's notifications that are not a plain state change.
    enum Event: Hashable, Sendable {
        case transition
        /// Removed by a reload: DELETED with `notify_deleted`, else keepalived's old FAULT.
        case deleted
        /// A master heard a lower priority (`notify_master_rx_lower_pri`, FIFO `MASTER_RX_LOWER_PRI`).
        case masterReceivedLowerPriority
        /// `notify_priority_changes`: the FIFO's `MASTER_PRIORITY` / `BACKUP_PRIORITY`.
        case priorityChanged
        /// `fifo_write_vrrp_states_on_reload`: the current state, to the FIFO only.
        case stateOnReload
    }

    /// keepalived's word for the state (`.initialize` is STOP).
    var notifyState: VRRPNotifyState {
        switch (event, state) {
        case (.deleted, _): scripts.deleted ? .deleted : .fault
        case (.masterReceivedLowerPriority, _): .masterRxLowerPriority
        case (.priorityChanged, .master): .masterPriority
        case (.priorityChanged, _): .backupPriority
        case (_, .master): .master
        case (_, .backup): .backup
        case (_, .fault): .fault
        case (_, .initialize): .stop
        }
    }
}

/// What keepalived does for one `VRRPNotice`: the scripts it runs, the FIFO line, and the mail, if any.
struct VRRPNotificationPlan: Hashable, Sendable {
    /// Each with its own `USER [GROUP]`, if configured.
    var scripts: [Config.ScriptCommand]
    /// For `vrrp_notify_fifo`, else `notify_fifo`.
    var fifoLine: String
    var mail: Mail?

    struct Mail: Hashable, Sendable {
        var subject: String
        var body: String
    }

    /// keepalived's notify handling (keepalived.conf(5), "notify", "smtp_alert"): the state's own script as
    /// written, then `notify` with `INSTANCE|GROUP NAME STATE PRIORITY` appended; a FIFO line in the same four
    /// fields; a mail when `smtp_alert` (the object's, else `smtp_alert_vrrp`, else the global `smtp_alert`) is
    /// on — STOP is mailed for instances only, as keepalived does.
    init(_ notice: VRRPNotice, globals: GlobalDefs, routerID: String) {
        let scripts = notice.scripts
        let state = notice.notifyState
        // Removed by a reload: notify_deleted's script, or none (keepalived picks the script before it turns
        // DELETED into FAULT, so notify_fault does not run).
        let specific: Config.ScriptCommand? =
            switch (notice.event, state) {
            case (.deleted, _): scripts.deletedScript
            case (_, .master): scripts.master
            case (_, .backup): scripts.backup
            case (_, .fault): scripts.fault
            case (_, .stop): scripts.stop
            case (_, .deleted): scripts.deletedScript
            case (_, .masterRxLowerPriority): scripts.masterRxLowerPri
            case (_, .masterPriority), (_, .backupPriority): nil
            }
        let fifoOnly = notice.event == .stateOnReload || notice.event == .priorityChanged
        var commands = fifoOnly ? [] : [specific].compactMap { $0 }
        // The generic `notify` hears state changes (DELETED too), not the FIFO-only events.
        let generic = fifoOnly || notice.event == .masterReceivedLowerPriority ? nil : scripts.any
        if var generic {
            generic.arguments += [notice.subject.rawValue, notice.name, state.rawValue, "\(notice.priority)"]
            commands.append(generic)
        }
        self.scripts = commands
        switch notice.subject {
        case .instance:
            fifoLine = NotifyFIFOLine.instance(name: notice.name, state: state, priority: notice.priority)
        case .group:
            fifoLine = NotifyFIFOLine.group(name: notice.name, state: state)
        }
        let alert = notice.smtpAlert ?? globals.smtpAlertVRRP ?? globals.smtpAlert ?? false
        let faultMuted = globals.noEmailFaults && state == .fault
        let mailed = notice.event == .transition || notice.event == .deleted
        if mailed && alert && !faultMuted && globals.smtpServer != nil && !globals.notificationEmail.isEmpty {
            let text =
                notice.subject == .instance
                ? SMTPAlertText.instance(routerID: routerID, name: notice.name, state: state)
                : SMTPAlertText.group(routerID: routerID, name: notice.name, state: state)
            mail = notice.subject == .group && state == .stop ? nil : Mail(subject: text.subject, body: text.body)
        } else {
            mail = nil
        }
    }
}

/// Carries out `VRRPNotificationPlan`s: scripts through the `ScriptRunner`, lines to the FIFO, mails through
/// the `SMTPAlerter`. Built again at every `apply` (the globals may have changed).
struct VRRPNotifications {
    let runner: ScriptRunner
    let globals: GlobalDefs
    let routerID: String
    /// `notify_fifo` and `vrrp_notify_fifo`: keepalived writes every line to both.
    let fifos: [Notifier.NotifyFIFO]
    let alerter: SMTPAlerter?
    let loop: EventLoop
    let logger: Logger

    /// - Parameter fifos: the FIFOs already open, each reused when its path is still configured (its
    ///   `…_fifo_script` then keeps running); a new FIFO starts its script, with the FIFO's path as last argument.
    init(globals: GlobalDefs, hostName: String, fifos: [Notifier.NotifyFIFO], loop: EventLoop, logger: Logger) {
        runner = ScriptRunner(identity: ScriptIdentity.scriptUser(of: globals, logger: logger), logger: logger)
        self.globals = globals
        routerID = globals.routerID ?? hostName
        var opened: [Notifier.NotifyFIFO] = []
        for configured in [globals.notifyFIFO, globals.vrrpNotifyFIFO].compactMap({ $0 }) {
            guard let path = configured.path, !opened.contains(where: { $0.path == path }) else { continue }
            if let fifo = fifos.first(where: { $0.path == path }) {
                opened.append(fifo)
                continue
            }
            let owner = configured.owner.flatMap { try? ScriptIdentity.resolve(user: $0.user, group: $0.group) }
            // Read-write, as keepalived opens it: the FIFO script gets every line, from the first.
            opened.append(Notifier.NotifyFIFO(path: path, owner: owner, keepsLinesForALateReader: true, logger: logger))
            if let script = configured.script {
                runner.startFIFOScript(script, path: path, scriptUser: globals.scriptUser, on: loop)
            }
        }
        self.fifos = opened
        alerter = globals.smtpServer == nil ? nil : SMTPAlerter(settings: globals, hostName: hostName, logger: logger)
        self.loop = loop
        self.logger = logger
    }

    /// Starts the scripts, writes the FIFO line and sends the mail; results are logged, never awaited.
    func run(_ notice: VRRPNotice) {
        let plan = VRRPNotificationPlan(notice, globals: globals, routerID: routerID)
        for configured in plan.scripts {
            let command: Notifier.ScriptCommand
            let identity: ScriptIdentity
            do {
                command = try Notifier.ScriptCommand(configured)
                identity = try ScriptIdentity.resolve(for: configured, scriptUser: globals.scriptUser)
            } catch {
                logger.warning("notify script for \(notice.name): \(error)")
                continue
            }
            let logger = logger
            runner.run(command, as: identity, timeout: .seconds(30), on: loop).whenSuccess { result in
                if !result.succeeded {
                    logger.warning("notify script \(command.program) for \(notice.name): \(result)")
                }
            }
        }
        for fifo in fifos { fifo.write(plan.fifoLine) }
        if let mail = plan.mail, let alerter {
            _ = alerter.send(subject: mail.subject, body: mail.body, on: loop)
        }
    }
}
