import Config

/// How one configured script would run, as `enable_script_security` sees it.
public enum ScriptAssessment: Hashable, Sendable {
    /// It runs as a user and group other than root: not checked (keepalived's rule).
    case notRoot
    /// It runs as root and nobody else can replace it.
    case root
    /// It runs as root and a user other than root could replace it (the reason, naming the path).
    case unsafe(String)
    /// It names no user, `script_user` is not set and user `keepalived_script` does not exist: root by default, which
    /// keepalived refuses with `enable_script_security` ("Unable to set default user … - removing").
    case rootByDefault
}

/// A script `enable_script_security` found unsafe.
public struct ScriptSecurityFinding: Hashable, Sendable {
    /// The block or checker that runs it.
    public var location: SourceLocation?
    /// What runs it: `vrrp_script chk`, `notify_master of vrrp_instance VI_1`, `MISC_CHECK`.
    public var owner: String
    /// Why it is unsafe.
    public var problem: String
    /// Removed from the configuration (`enable_script_security` is on); else run anyway.
    public var disabled: Bool

    /// The line an operator reads in `vigild -t` and syslog.
    public var message: String {
        disabled
            ? "\(owner) disabled by enable_script_security: \(problem)"
            : "\(owner): \(problem); run anyway as root since enable_script_security is not set"
    }
}

/// What `ScriptSecurityAudit.audit` found and the configuration that is run.
public struct ScriptSecurityReport: Sendable {
    /// The configuration without the scripts `enable_script_security` disabled.
    public var config: KeepalivedConfig
    public var findings: [ScriptSecurityFinding] = []
    /// Where a script runs as root without `enable_script_security` (keepalived's `SECURITY VIOLATION`), first found.
    public var rootScriptWithoutSecurity: (owner: String, location: SourceLocation?)?

    /// Errors for the disabled scripts, warnings for the others, as `vigild -t` prints them.
    public var diagnostics: [Diagnostic] {
        var result = findings.map { Diagnostic($0.disabled ? .error : .warning, $0.message, at: $0.location) }
        if let root = rootScriptWithoutSecurity {
            result.append(
                .warning(
                    "\(root.owner) and possibly other scripts run as root without enable_script_security "
                        + "(keepalived -t reports a SECURITY VIOLATION and exits 6)", at: root.location))
        }
        return result
    }
}

/// keepalived's script security pass: every script of the configuration is assessed once the file is read; with
/// `enable_script_security`, an unsafe `vrrp_script` is removed together with every `track_script` line naming it
/// (the instance runs as if it were not tracked), an unsafe `MISC_CHECK` is removed from its real server, and an
/// unsafe notify, quorum or FIFO script is not run. Without it, every unsafe script is reported and still run.
public enum ScriptSecurityAudit {
    /// Assesses every script of `config` with `assess` (given the script and the user configured for the block
    /// that runs it, else `script_user`).
    public static func audit(
        _ config: KeepalivedConfig, assess: @escaping (Config.ScriptCommand, ScriptUser?) -> ScriptAssessment
    ) -> ScriptSecurityReport {
        var audit = Walk(config: config, assess: assess)
        audit.run()
        return audit.report
    }

    /// The audit against this host's files and users (`ScriptSecurity`, `ScriptIdentity`); a script whose user
    /// cannot be resolved is left to the worker that runs it, which logs why it does not.
    public static func audit(_ config: KeepalivedConfig) -> ScriptSecurityReport {
        audit(config) { command, fallback in
            guard let identity = try? ScriptIdentity.resolve(for: command, scriptUser: fallback),
                let program = try? ScriptCommand(command)
            else { return .notRoot }
            if command.user == nil && fallback == nil
                && ScriptIdentity.lookUpUser(ScriptIdentity.defaultScriptUser) == nil
            {
                return .rootByDefault
            }
            if let problem = ScriptSecurity.problem(with: program, runningAs: identity) { return .unsafe(problem) }
            return identity.uid == 0 || identity.gid == 0 ? .root : .notRoot
        }
    }

    /// One pass over a configuration.
    struct Walk {
        var report: ScriptSecurityReport
        let assess: (Config.ScriptCommand, ScriptUser?) -> ScriptAssessment
        let enforced: Bool
        let scriptUser: ScriptUser?

        init(config: KeepalivedConfig, assess: @escaping (Config.ScriptCommand, ScriptUser?) -> ScriptAssessment) {
            report = ScriptSecurityReport(config: config)
            self.assess = assess
            enforced = config.globalDefs.enableScriptSecurity
            scriptUser = config.globalDefs.scriptUser
        }

        /// Whether `script` may run; records what was found.
        mutating func allows(
            _ script: Config.ScriptCommand?, owner: @autoclosure () -> String, at location: SourceLocation?,
            user: ScriptUser? = nil
        ) -> Bool {
            guard let script else { return true }
            var assessment = assess(script, user ?? scriptUser)
            if assessment == .rootByDefault && enforced {
                assessment = .unsafe(
                    "it would run as root by default (no script_user, no user \(ScriptIdentity.defaultScriptUser)); "
                        + "set script_user or a user for the script")
            }
            switch assessment {
            case .notRoot:
                return true
            case .root, .rootByDefault:
                if !enforced && report.rootScriptWithoutSecurity == nil {
                    report.rootScriptWithoutSecurity = (owner(), location)
                }
                return true
            case .unsafe(let problem):
                if !enforced && report.rootScriptWithoutSecurity == nil {
                    report.rootScriptWithoutSecurity = (owner(), location)
                }
                report.findings.append(
                    ScriptSecurityFinding(location: location, owner: owner(), problem: problem, disabled: enforced))
                return !enforced
            }
        }

        /// Keeps `script` if it may run, else clears it.
        mutating func filter(_ script: inout Config.ScriptCommand?, owner: String, at location: SourceLocation?) {
            if !allows(script, owner: owner, at: location) { script = nil }
        }

        mutating func filter(_ notify: inout NotifyScripts, of owner: String, at location: SourceLocation) {
            filter(&notify.master, owner: "notify_master of \(owner)", at: location)
            filter(&notify.backup, owner: "notify_backup of \(owner)", at: location)
            filter(&notify.fault, owner: "notify_fault of \(owner)", at: location)
            filter(&notify.stop, owner: "notify_stop of \(owner)", at: location)
            filter(&notify.deletedScript, owner: "notify_deleted of \(owner)", at: location)
            filter(&notify.any, owner: "notify of \(owner)", at: location)
            filter(&notify.masterRxLowerPri, owner: "notify_master_rx_lower_pri of \(owner)", at: location)
        }

        mutating func run() {
            var config = report.config
            var disabled: Set<String> = []
            config.vrrp.scripts = config.vrrp.scripts.filter { script in
                guard allows(script.script, owner: "vrrp_script \(script.name)", at: script.location, user: script.user)
                else {
                    disabled.insert(script.name)
                    return false
                }
                return true
            }
            for index in config.vrrp.instances.indices {
                let instance = config.vrrp.instances[index]
                config.vrrp.instances[index].trackScripts.removeAll { disabled.contains($0.name) }
                filter(
                    &config.vrrp.instances[index].notify, of: "vrrp_instance \(instance.name)", at: instance.location)
            }
            for index in config.vrrp.syncGroups.indices {
                let group = config.vrrp.syncGroups[index]
                config.vrrp.syncGroups[index].trackScripts.removeAll { disabled.contains($0.name) }
                filter(&config.vrrp.syncGroups[index].notify, of: "vrrp_sync_group \(group.name)", at: group.location)
            }
            // The configuration is written only where a script is disabled: a write to a real server would copy the
            // lists it is in, and the watchdog would hold a second model of a large farm (7 MiB for 1,000 × 10).
            for (vsIndex, server) in config.lvs.virtualServers.enumerated() {
                let name = "virtual_server \(server.displayName)"
                if !allows(server.quorumUp, owner: "quorum_up of \(name)", at: server.location) {
                    config.lvs.virtualServers[vsIndex].quorumUp = nil
                }
                if !allows(server.quorumDown, owner: "quorum_down of \(name)", at: server.location) {
                    config.lvs.virtualServers[vsIndex].quorumDown = nil
                }
                for (rsIndex, real) in server.realServers.enumerated()
                where real.notifyUp != nil || real.notifyDown != nil || real.checkers.contains(where: \.isMisc) {
                    let realName = "real_server \(real.address)\(real.port.map { " \($0)" } ?? "") of \(name)"
                    if !allows(real.notifyUp, owner: "notify_up of \(realName)", at: real.location) {
                        config.lvs.virtualServers[vsIndex].realServers[rsIndex].notifyUp = nil
                    }
                    if !allows(real.notifyDown, owner: "notify_down of \(realName)", at: real.location) {
                        config.lvs.virtualServers[vsIndex].realServers[rsIndex].notifyDown = nil
                    }
                    let allowed = real.checkers.filter { checker in
                        guard case .misc(let misc) = checker.kind else { return true }
                        let command = Config.ScriptCommand(
                            text: misc.path, user: misc.user?.user, group: misc.user?.group)
                        return allows(command, owner: "MISC_CHECK of \(realName)", at: checker.location)
                    }
                    if allowed.count != real.checkers.count {
                        config.lvs.virtualServers[vsIndex].realServers[rsIndex].checkers = allowed
                    }
                }
            }
            for (path, keyword) in [
                (\GlobalDefs.notifyFIFO, "notify_fifo_script"), (\GlobalDefs.vrrpNotifyFIFO, "vrrp_notify_fifo_script"),
                (\GlobalDefs.lvsNotifyFIFO, "lvs_notify_fifo_script"),
            ] where config.globalDefs[keyPath: path]?.script != nil {
                filter(&config.globalDefs[keyPath: path]!.script, owner: keyword, at: nil)
            }
            filter(&config.globalDefs.startupScript, owner: "startup_script", at: nil)
            filter(&config.globalDefs.shutdownScript, owner: "shutdown_script", at: nil)
            report.config = config
        }
    }
}
