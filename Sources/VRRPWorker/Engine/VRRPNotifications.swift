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

    /// keepalived's word for the state (`.initialize` is STOP).
    var notifyState: VRRPNotifyState {
        switch state {
        case .master: .master
        case .backup: .backup
        case .fault: .fault
        case .initialize: .stop
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
        let specific: Config.ScriptCommand? =
            switch notice.state {
            case .master: scripts.master
            case .backup: scripts.backup
            case .fault: scripts.fault
            case .initialize: scripts.stop
            }
        let state = notice.notifyState
        var commands = [specific].compactMap { $0 }
        if var generic = scripts.any {
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
        if alert && !faultMuted && globals.smtpServer != nil && !globals.notificationEmail.isEmpty {
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
    let fifo: Notifier.NotifyFIFO?
    let alerter: SMTPAlerter?
    let loop: EventLoop
    let logger: Logger

    /// - Parameter fifo: the FIFO already open, reused when its path did not change.
    init(globals: GlobalDefs, hostName: String, fifo: Notifier.NotifyFIFO?, loop: EventLoop, logger: Logger) {
        runner = ScriptRunner(identity: ScriptIdentity.scriptUser(of: globals, logger: logger), logger: logger)
        self.globals = globals
        routerID = globals.routerID ?? hostName
        let configured = globals.vrrpNotifyFIFO ?? globals.notifyFIFO
        if let path = configured?.path {
            if let fifo, fifo.path == path {
                self.fifo = fifo
            } else {
                let owner = configured?.owner.flatMap { try? ScriptIdentity.resolve(user: $0.user, group: $0.group) }
                self.fifo = Notifier.NotifyFIFO(path: path, owner: owner, logger: logger)
            }
        } else {
            self.fifo = nil
        }
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
        fifo?.write(plan.fifoLine)
        if let mail = plan.mail, let alerter {
            _ = alerter.send(subject: mail.subject, body: mail.body, on: loop)
        }
    }
}
