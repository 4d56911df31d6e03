/// Placeholder until the schema lands: the typed model of a keepalived.conf.
public struct KeepalivedConfig: Sendable, Hashable {
    public init() {}
}

/// Gives the statement tree meaning: keywords, values, cross-checks.
public enum ConfigSchema {
    public static func check(_ nodes: [ConfigNode]) -> (KeepalivedConfig, [Diagnostic]) {
        (KeepalivedConfig(), [])
    }
}
