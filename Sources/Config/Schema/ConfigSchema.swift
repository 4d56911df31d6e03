/// Gives the statement tree meaning: every keyword of keepalived.conf(5), checked values, and the
/// cross-checks between blocks (names that must exist, duplicate VRIDs, …).
public enum ConfigSchema {
    public static func check(_ nodes: [ConfigNode]) -> (KeepalivedConfig, [Diagnostic]) {
        check(nodes, context: SchemaContext())
    }

    /// The same with a context of the caller's (tests observe which block each statement is in).
    static func check(_ nodes: [ConfigNode], context: SchemaContext) -> (KeepalivedConfig, [Diagnostic]) {
        var config = KeepalivedConfig()
        topLevel.apply(nodes, to: &config, context)
        GlobalSchema.crossCheck(config, context)
        VRRPSchema.crossCheck(config, context)
        VRRPSchema.resolveTracking(&config, context)
        LVSSchema.crossCheck(config, context)
        BFDSchema.crossCheck(config, context)
        config.lvs.dropSpareCapacity()
        return (config, context.diagnostics)
    }

    /// The top level of the file: each part of the schema contributes its blocks.
    static let topLevel = KeywordTable<KeepalivedConfig>(
        "the top level",
        handlers: GlobalSchema.topLevelHandlers
            .merging(VRRPSchema.topLevelHandlers) { first, _ in first }
            .merging(LVSSchema.topLevelHandlers) { first, _ in first }
            .merging(BFDSchema.topLevelHandlers) { first, _ in first },
        unsupported: GlobalSchema.unsupportedTopLevel.merging(VRRPSchema.unsupportedTopLevel)
    )
}
