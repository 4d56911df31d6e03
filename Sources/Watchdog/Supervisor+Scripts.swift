import Config
import Notifier

extension Supervisor {
    /// The loaded configuration without the scripts `enable_script_security` disables, audited once per
    /// configuration (at start and at each reload); what was found is logged with its FILE:LINE.
    func securedConfig() -> KeepalivedConfig {
        if let audit = scriptAudit, audit.source == loaded.config { return audit.report.config }
        let report = ScriptSecurityAudit.audit(loaded.config)
        for diagnostic in report.diagnostics {
            if diagnostic.severity == .error {
                logger.error("\(diagnostic.description)")
            } else {
                logger.warning("\(diagnostic.description)")
            }
        }
        scriptAudit = (loaded.config, report)
        return report.config
    }
}

extension Supervisor {
    /// keepalived's `startup_script`: run by the watchdog once it is ready (pid file, control socket) and before it
    /// starts the workers, which start when the script ends or after `startup_script_timeout`, whatever its status.
    func runStartupScript() {
        // Without one, the audit waits for the workers' configurations (after their spawn).
        guard loaded.config.globalDefs.startupScript != nil else { return }
        let globals = securedConfig().globalDefs
        runLifeCycleScript(globals.startupScript, "startup_script", timeout: globals.startupScriptTimeout, globals)
    }

    /// keepalived's `shutdown_script`: run by the watchdog after its workers have stopped, before it exits
    /// (waiting at most `shutdown_script_timeout`), with the configuration in force then.
    func runShutdownScript() {
        let globals = securedConfig().globalDefs
        runLifeCycleScript(globals.shutdownScript, "shutdown_script", timeout: globals.shutdownScriptTimeout, globals)
    }

    private func runLifeCycleScript(
        _ configured: Config.ScriptCommand?, _ keyword: String, timeout: Duration, _ globals: GlobalDefs
    ) {
        guard let configured else { return }
        do {
            let command = try Notifier.ScriptCommand(configured)
            let identity = try ScriptIdentity.resolve(for: configured, scriptUser: globals.scriptUser)
            logger.info("running \(keyword) \(configured.text) as \(identity.userName)")
            let result = ScriptRunner.runAndWait(command, as: identity, timeout: timeout)
            if result.succeeded {
                logger.info("\(keyword) \(command.program) succeeded")
            } else {
                logger.warning("\(keyword) \(command.program): \(result)")
            }
        } catch {
            logger.error("\(keyword): \(error); not run")
        }
    }
}
