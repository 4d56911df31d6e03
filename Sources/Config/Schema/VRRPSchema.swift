/// `static_ipaddress`, `static_routes`, `static_rules`, `vrrp_script`, `vrrp_track_file`,
/// `vrrp_sync_group`, `vrrp_instance`.
enum VRRPSchema {
    static let topLevelHandlers: [String: KeywordTable<KeepalivedConfig>.Handler] = [:]

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {}
}
