import Config

/// `vigild -t` and `vigild -d`: read and check the configuration, print every problem as
/// `FILE:LINE: severity: message`, and optionally the resolved configuration.
public enum ConfigTest {
    /// Runs the check; returns the process exit status (0 when there is no error).
    /// - Parameters:
    ///   - output: receives the resolved configuration (for `-d`).
    ///   - errors: receives diagnostics and the summary line.
    public static func run(
        _ options: DaemonOptions,
        hostName: String,
        source: some ConfigFileSource = DiskFileSource(),
        output: (String) -> Void,
        errors: (String) -> Void
    ) -> Int32 {
        let loaded = ConfigLoader.load(
            path: options.configFile, from: source, options: options.readerOptions(hostName: hostName))
        for diagnostic in loaded.diagnostics {
            errors(diagnostic.description)
        }
        if options.dumpConfig {
            output(ConfigPrinter.render(loaded.tree.nodes))
        }
        let errorCount = loaded.diagnostics.errors.count
        let warningCount = loaded.diagnostics.warnings.count
        if options.configTest {
            let files = loaded.tree.files.count
            errors(
                "\(options.configFile): \(errorCount) error\(errorCount == 1 ? "" : "s"), "
                    + "\(warningCount) warning\(warningCount == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")"
                    + (options.strict && warningCount > 0 ? " (--strict: warnings are errors)" : ""))
        }
        if options.strict && warningCount > 0 { return 1 }
        return errorCount == 0 ? 0 : 1
    }
}
