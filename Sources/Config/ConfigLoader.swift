/// The outcome of reading and checking one configuration.
public struct LoadedConfig: Sendable {
    /// The statements after includes, parameters and generators (what `vigild -d` prints).
    public var tree: ConfigTree
    /// The typed configuration; meaningful only when `diagnostics` has no errors.
    public var config: KeepalivedConfig
    /// Reader and schema problems together, in file order of discovery.
    public var diagnostics: [Diagnostic]

    public var isValid: Bool { !diagnostics.hasErrors }
}

/// Reads a keepalived.conf and checks it against the schema in one call.
public enum ConfigLoader {
    public static func load(
        path: String,
        from source: some ConfigFileSource = DiskFileSource(),
        options: ConfigReaderOptions = ConfigReaderOptions()
    ) -> LoadedConfig {
        let tree = ConfigReader.read(path: path, from: source, options: options)
        let (config, schemaDiagnostics) = ConfigSchema.check(tree.nodes)
        return LoadedConfig(tree: tree, config: config, diagnostics: tree.diagnostics + schemaDiagnostics)
    }

    /// Reads configuration text (tests, control-socket uploads).
    public static func load(
        text: String,
        name: String = "<config>",
        options: ConfigReaderOptions = ConfigReaderOptions()
    ) -> LoadedConfig {
        load(
            path: ConfigPath.normalize(name), from: InMemoryFileSource([ConfigPath.normalize(name): text]),
            options: options)
    }
}
