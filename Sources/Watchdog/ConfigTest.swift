import Config
import Notifier

/// `vigild -t` and `vigild -d`: read and check the configuration, print every problem as
/// `FILE:LINE: severity: message`, and optionally the resolved configuration.
///
/// With `-t`, a valid file's scripts also go through `enable_script_security`'s check against this host's files
/// (`ScriptSecurityAudit`): a script it disables is an error and the exit status is 6, keepalived's status for a
/// script security problem; unsafe scripts run without it are warnings.
public enum ConfigTest {
    /// `vigild -t`'s exit status when the file is valid but `enable_script_security` disables scripts.
    public static let scriptSecurityExitStatus: Int32 = 6

    /// Runs the check of the file as read (`options.loadConfiguration`; `vigild` reads it once, for this check and
    /// then for the daemon); returns the process exit status (0 when there is no error).
    /// - Parameters:
    ///   - output: receives the resolved configuration (for `-d`).
    ///   - errors: receives diagnostics and the summary line.
    public static func run(
        _ loaded: LoadedConfig, _ options: DaemonOptions, output: (String) -> Void, errors: (String) -> Void
    ) -> Int32 {
        // The dump goes to stdout, the check's lines to stderr.
        if options.dumpConfig { output(ConfigPrinter.render(loaded.tree.nodes)) }
        return check(loaded, options, lines: errors)
    }

    /// `vigild -t`'s check of a file already read: each diagnostic (and, for a valid file, the script security
    /// audit's) and with `configTest` the summary line go to `lines`; returns the exit status. The watchdog runs it
    /// on a new file before a reload for `reload_check_config`.
    public static func check(_ loaded: LoadedConfig, _ options: DaemonOptions, lines: (String) -> Void) -> Int32 {
        for diagnostic in loaded.diagnostics {
            lines(diagnostic.description)
        }
        var diagnostics = loaded.diagnostics
        var disabledScripts = 0
        if options.configTest && loaded.isValid {
            let report = ScriptSecurityAudit.audit(loaded.config)
            for diagnostic in report.diagnostics { lines(diagnostic.description) }
            diagnostics += report.diagnostics
            disabledScripts = report.findings.filter(\.disabled).count
        }
        let errorCount = diagnostics.errors.count
        let warningCount = diagnostics.warnings.count
        if options.configTest {
            let files = loaded.tree.files.count
            lines(
                "\(options.configFile): \(errorCount) error\(errorCount == 1 ? "" : "s"), "
                    + "\(warningCount) warning\(warningCount == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")"
                    + (options.strict && warningCount > 0 ? " (--strict: warnings are errors)" : ""))
        }
        if errorCount > disabledScripts || (options.strict && warningCount > 0) { return 1 }
        return disabledScripts > 0 ? scriptSecurityExitStatus : 0
    }
}
