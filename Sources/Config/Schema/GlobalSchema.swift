/// `global_defs` and the other top-level daemon settings.
enum GlobalSchema {
    static let topLevelHandlers: [String: KeywordTable<KeepalivedConfig>.Handler] = [:]
    /// Top-level blocks and keywords Vigil recognises but does not implement (a warning each).
    static let unsupportedTopLevel: Set<String> = []

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {}
}
