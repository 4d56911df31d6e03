import Config
import Logging
import NIOCore
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// What the checker tells the world when a real server or a quorum changes: the log and the watchdog's event
/// stream, `notify_up`/`notify_down`/`quorum_up`/`quorum_down` scripts (as their user, else `script_user`, never
/// waited for), `lvs_notify_fifo`/`notify_fifo` lines, and `smtp_alert` mail.
final class CheckerNotifications {
    private let loop: CheckLoop
    private let logger: Logger
    private let event: (String) -> Void
    /// SMTP alerts use SwiftNIO channels: they run on this loop.
    private let mailLoop: () -> any EventLoop
    private(set) var scripts: ScriptRunner?
    private var scriptIdentity: ScriptIdentity?
    private var fifo: Notifier.NotifyFIFO?
    private var alerter: SMTPAlerter?
    private var globals = GlobalDefs()

    init(loop: CheckLoop, logger: Logger, event: @escaping (String) -> Void, mailLoop: @escaping () -> any EventLoop) {
        self.loop = loop
        self.logger = logger
        self.event = event
        self.mailLoop = mailLoop
    }

    /// Takes a configuration's settings; keeps the script runner (and the programs it runs) while the script
    /// user is the same.
    /// - Returns: the script runner, for MISC_CHECK programs.
    func configure(_ globals: GlobalDefs) -> ScriptRunner {
        self.globals = globals
        let identity = ScriptIdentity.scriptUser(of: globals, logger: logger)
        if scripts == nil || scriptIdentity != identity {
            scripts?.shutdown()
            scripts = ScriptRunner(identity: identity, logger: logger)
            scriptIdentity = identity
        }
        let configured = globals.lvsNotifyFIFO?.path != nil ? globals.lvsNotifyFIFO : globals.notifyFIFO
        if fifo?.path != configured?.path {
            fifo = configured?.path.map { path in
                // Read-write, as keepalived opens it: lvs_notify_fifo_script gets every line, from the first.
                Notifier.NotifyFIFO(path: path, keepsLinesForALateReader: true, logger: logger)
            }
            // lvs_notify_fifo_script, started with the FIFO (notify_fifo_script is the VRRP worker's to start).
            if let path = configured?.path, configured == globals.lvsNotifyFIFO, let script = configured?.script {
                scripts!.startFIFOScript(script, path: path, scriptUser: globals.scriptUser, on: loop)
            }
        }
        alerter =
            globals.smtpServer == nil ? nil : SMTPAlerter(settings: globals, hostName: Self.hostName, logger: logger)
        return scripts!
    }

    /// A real server went up or down (or, `rs_init_notifies`, started up: then `mail` is false).
    func realServer(_ real: RealServer, of server: VirtualServer, up: Bool, reason: String?, mail: Bool = true) {
        let text =
            "RS \(Self.endpoint(real)) of \(Self.endpoint(server)) \(up ? "UP" : "DOWN")"
            + (up ? "" : " (\(reason ?? "failed"))")
        logger.notice("\(text)")
        event(text)
        run(up ? real.notifyUp : real.notifyDown)
        let rs = Self.fifoEndpoint(real, of: server)
        let vs = Self.fifoEndpoint(server)
        fifo?.write(NotifyFIFOLine.realServer(rs, of: vs, up: up))
        if mail, let alerter, alerts(real, of: server) {
            let mail = SMTPAlertText.realServer(
                routerID: globals.routerID ?? Self.hostName, realServer: rs, virtualServer: vs, up: up,
                body: "=> \(text) <=")
            _ = alerter.send(subject: mail.subject, body: mail.body, on: mailLoop())
        }
    }

    /// `smtp_alert` of a real server: its own, else its virtual server's, else `smtp_alert_checker`, else
    /// `smtp_alert`.
    private func alerts(_ real: RealServer, of server: VirtualServer) -> Bool {
        real.smtpAlert ?? alerts(server)
    }

    /// `smtp_alert` of a virtual server (quorum mails): its own, else `smtp_alert_checker`, else `smtp_alert`.
    private func alerts(_ server: VirtualServer) -> Bool {
        server.smtpAlert ?? globals.smtpAlertChecker ?? globals.smtpAlert ?? false
    }

    /// One checker of a real server passed or failed while the real server stayed as it was (another of its
    /// checkers fails). keepalived mails each checker's change unless `no_checker_emails`; the subject carries the
    /// real server's state.
    func checker(_ checker: Checker, of real: RealServer, of server: VirtualServer, passing: Bool, realServerUp: Bool) {
        logger.info(
            "RS \(Self.endpoint(real)) of \(Self.endpoint(server)): \(checker.kind.keyword) \(passing ? "passes" : "fails"); the real server stays \(realServerUp ? "UP" : "DOWN")"
        )
        guard let alerter, !globals.noCheckerEmails, alerts(real, of: server) else { return }
        let mail = SMTPAlertText.realServer(
            routerID: globals.routerID ?? Self.hostName, realServer: Self.fifoEndpoint(real, of: server),
            virtualServer: Self.fifoEndpoint(server), up: realServerUp,
            body: "=> \(checker.kind.keyword) \(passing ? "succeed" : "failed") on service <=")
        _ = alerter.send(subject: mail.subject, body: mail.body, on: mailLoop())
    }

    /// `log_all_failures`: one failed attempt of a passing checker (the last of `fall` fails it, and the real server
    /// DOWN line follows).
    func checkFailed(_ real: RealServer, of server: VirtualServer, reason: String, attempt: Int, fall: Int) {
        logger.info(
            "RS \(Self.endpoint(real)) of \(Self.endpoint(server)): check failed (attempt \(attempt) of \(fall)): \(reason)"
        )
    }

    /// A virtual server's quorum was gained or lost.
    func quorum(_ server: VirtualServer, met: Bool, liveWeight: Int) {
        let text =
            "VS \(Self.endpoint(server)) quorum \(met ? "gained" : "lost") (live weight \(liveWeight), quorum \(server.quorum), hysteresis \(server.hysteresis))"
        logger.notice("\(text)")
        event(text)
        run(met ? server.quorumUp : server.quorumDown)
        fifo?.write(NotifyFIFOLine.virtualServer(Self.fifoEndpoint(server), up: met))
        if let alerter, alerts(server) {
            // keepalived's threshold: quorum + hysteresis to gain, quorum - hysteresis to lose.
            let threshold = server.quorum + (met ? 1 : -1) * server.hysteresis
            let mail = SMTPAlertText.virtualServer(
                routerID: globals.routerID ?? Self.hostName, virtualServer: Self.fifoEndpoint(server), up: met,
                body:
                    "=> \(met ? "Gained" : "Lost") quorum \(server.quorum)+\(server.hysteresis)=\(threshold) <= \(liveWeight) <="
            )
            _ = alerter.send(subject: mail.subject, body: mail.body, on: mailLoop())
        }
    }

    /// Runs a `notify_up`/`notify_down`/`quorum_up`/`quorum_down` script as its user (else `script_user`),
    /// without waiting for it; failures are logged.
    /// - Returns: completes when the script has ended (nil when none was started).
    @discardableResult
    func run(_ command: Config.ScriptCommand?) -> EventLoopFuture<Void>? {
        guard let command, let scripts else { return nil }
        let logger = logger
        do {
            let runnable = try Notifier.ScriptCommand(command)
            let identity = try ScriptIdentity.resolve(for: command, scriptUser: globals.scriptUser)
            return scripts.run(runnable, as: identity, timeout: .seconds(30), on: loop).map { result in
                if case .exited(0) = result { return }
                logger.warning("script '\(command.text)' ended with \(result)")
            }
        } catch {
            logger.error("cannot run '\(command.text)': \(error.message)")
            return nil
        }
    }

    func shutdown() {
        scripts?.shutdown()
    }

    /// `198.51.100.11:80`, `[2001:db8::1]:80`, `fwmark 5`, `group web`.
    static func endpoint(_ real: RealServer) -> String { endpointText(real.address, port: real.port) }

    static func endpoint(_ server: VirtualServer) -> String {
        if case .endpoint(let address, let port) = server.address { return endpointText(address, port: port) }
        return VirtualServerNames.name(server.address)
    }

    /// keepalived's `[ADDRESS]:tcp:PORT`, `FWM N`, `[GROUP]:0` for `notify_fifo` lines and alerts.
    static func fifoEndpoint(_ server: VirtualServer) -> String {
        switch server.address {
        case .endpoint(let address, let port):
            NotifyFIFOLine.endpoint(address: "\(address)", protocol: server.protocol.rawValue, port: port)
        case .fwmark(let mark): NotifyFIFOLine.firewallMark(mark)
        case .group(let name): NotifyFIFOLine.virtualServerGroup(name, port: 0)
        }
    }

    static func fifoEndpoint(_ real: RealServer, of server: VirtualServer) -> String {
        var port = real.port ?? 0
        if real.port == nil, case .endpoint(_, let servicePort) = server.address { port = servicePort }
        return NotifyFIFOLine.endpoint(address: "\(real.address)", protocol: server.protocol.rawValue, port: port)
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
