/// `virtual_server_group`, `virtual_server`, `real_server`, `sorry_server` and the checkers.
enum LVSSchema {
    static let topLevelHandlers: [String: KeywordTable<KeepalivedConfig>.Handler] = [:]

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {}
}
