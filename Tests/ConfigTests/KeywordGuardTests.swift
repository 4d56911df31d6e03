import Foundation
import Testing

@testable import Config

/// Nothing is silently ignored: every keyword of every block declares its fate, the docs table says
/// it, and a keyword that claims to take effect sets model fields that code outside `Config` reads.
///
/// How "takes effect" is checked: `Fixtures/keywords/every-keyword.conf` uses every keyword of every
/// block once, with a value that is not the default. For each statement, the file is checked once
/// without it, and the two models are compared (`ModelDiff`): what changes is what the keyword sets,
/// after every default and cross-block rule of the schema. Each changed field must be read outside
/// `Sources/Config`, which the compiler's index store tells (`ModelReaders`).
@Suite("Every keyword declares its fate")
struct KeywordGuardTests {
    static let everyKeyword = fixtures + "/keywords/every-keyword.conf"

    /// Fields the schema resolves into others: the checker's timing settings of the virtual server,
    /// the real server and the checker are folded into `Checker.timing`, which the workers read.
    static let intermediates: Set<String> = [
        "Checker.ownTiming", "VirtualServer.checkDefaults", "RealServer.checkDefaults",
    ]

    /// Keywords that take effect but change nothing in the fixture, because another keyword of it wins as in
    /// keepalived; the reason names the test that sees them take effect.
    static let outranked: [String: String] = [
        "vrrp_instance lvs_sync_daemon_interface":
            "global_defs' lvs_sync_daemon comes first; VRRPSchemaTests' lvsSyncDaemonInterface checks it alone"
    ]

    struct Statement: Hashable {
        var block: String
        var node: ConfigNode
    }

    /// The fixture's statements, each with the block whose table dispatched it.
    static func readFixture() -> (tree: ConfigTree, statements: [Statement], diagnostics: [Diagnostic]) {
        let tree = ConfigReader.read(path: everyKeyword, from: DiskFileSource())
        let context = SchemaContext()
        var statements: [Statement] = []
        context.observer = { block, node in statements.append(Statement(block: block, node: node)) }
        let (_, diagnostics) = ConfigSchema.check(tree.nodes, context: context)
        return (tree, statements, tree.diagnostics + diagnostics)
    }

    /// Keywords the reader acts on while it reads (the schema only checks their words): `include_check` sets the
    /// checks of the includes after it (ReaderTests' include suite shows it).
    static let actedOnByReader: Set<String> = ["include_check"]

    static func status(of keyword: String, in block: String) -> KeywordStatus? {
        KeywordCatalog.entries.first { $0.block == block && $0.keyword == keyword }?.status
    }

    @Test("docs/keywords.md is what vigild --keywords prints")
    func docsAreCurrent() throws {
        let path = ModelReaders.packageRoot + "/docs/keywords.md"
        let checkedIn = try String(contentsOfFile: path, encoding: .utf8)
        let current = KeywordCatalog.markdown()
        if checkedIn != current {
            let old = checkedIn.split(separator: "\n", omittingEmptySubsequences: false)
            let new = current.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(old.count, new.count)).first { old[$0] != new[$0] } ?? min(old.count, new.count)
            let text = line < new.count ? String(new[line]) : ""
            Issue.record(
                "docs/keywords.md is stale from line \(line + 1) ('\(text)'): run  swift run vigild --keywords > docs/keywords.md"
            )
        }
    }

    @Test("The fixture uses every keyword of every block, and has no error")
    func everyKeywordHasAnExample() {
        let (_, statements, diagnostics) = Self.readFixture()
        #expect(diagnostics.errors.isEmpty, "\(diagnostics.errors.map(\.description))")
        let used = Set(statements.map { "\($0.block) \($0.node.keyword)" })
        for entry in KeywordCatalog.entries where !KeywordCatalog.optionBlocks.contains(entry.block) {
            if case .alias = entry.status { continue }
            if !used.contains("\(entry.block) \(entry.keyword)") {
                Issue.record(
                    "'\(entry.keyword)' in \(entry.block) has no example in every-keyword.conf: add one (with a value that is not the default)"
                )
            }
        }
        let catalogued = Set(KeywordCatalog.blocks)
        for block in Set(statements.map(\.block)) where !catalogued.contains(block) {
            Issue.record("block '\(block)' has a keyword table that KeywordCatalog.tables does not list")
        }
    }

    @Test("A keyword that takes effect sets fields read outside Config; a warned one does not")
    func keywordsTakeEffect() throws {
        let readers = try ModelReaders.load()
        let (tree, statements, _) = Self.readFixture()
        let (full, _) = ConfigSchema.check(tree.nodes)
        // What each statement sets: the fields that differ when the file is checked without it.
        var fields: [Statement: Set<String>] = [:]
        for statement in statements {
            let (without, _) = ConfigSchema.check(Self.removing(statement.node, from: tree.nodes))
            let paths = ModelDiff.changedPaths(without, full).filter { Self.intermediates.isDisjoint(with: $0) }
            fields[statement] = Set(paths.flatMap { $0 })
        }
        // A block keyword answers only for what its own statements do not.
        var byKeyword: [String: (block: String, keyword: String, lines: [Int], fields: Set<String>)] = [:]
        for statement in statements {
            let inner = Set(Self.descendants(of: statement.node))
            let own = statements.filter { inner.contains($0.node) }.reduce(fields[statement] ?? []) {
                $0.subtracting(fields[$1] ?? [])
            }
            let key = "\(statement.block) \(statement.node.keyword)"
            var entry = byKeyword[key] ?? (statement.block, statement.node.keyword, [], [])
            entry.lines.append(statement.node.location.line)
            entry.fields.formUnion(own)
            if inner.isEmpty || !own.isEmpty || !(fields[statement] ?? []).isEmpty { byKeyword[key] = entry }
        }
        var checked = 0
        for (_, entry) in byKeyword.sorted(by: { $0.key < $1.key }) {
            let name =
                "'\(entry.keyword)' in \(entry.block) (every-keyword.conf:\(entry.lines.map(String.init).joined(separator: ",")))"
            guard let status = Self.status(of: entry.keyword, in: entry.block) else { continue }
            let unread = entry.fields.filter { !readers.isRead($0) }.sorted()
            switch status {
            case .implemented:
                checked += 1
                let opensBlock = statements.contains { $0.node.keyword == entry.keyword && $0.node.hasBlock }
                #expect(
                    !entry.fields.isEmpty || opensBlock || Self.outranked["\(entry.block) \(entry.keyword)"] != nil
                        || Self.actedOnByReader.contains(entry.keyword),
                    "\(name) changes nothing in the model: give it a value that is not the default in the fixture")
                #expect(
                    unread.isEmpty,
                    "\(name) sets \(unread.joined(separator: ", ")), which nothing outside Sources/Config reads: make it take effect, or list it in its table's `unsupported` with the reason"
                )
            case .warned(.notYetImplemented) where !entry.fields.isEmpty && unread.isEmpty:
                Issue.record(
                    "\(name) is warned as not implemented, but everything it sets is read outside Config: remove the warning"
                )
            default:
                break
            }
        }
        #expect(checked > 100)
    }

    @Test("An option of a list line that does not take effect is warned at its line")
    func optionWarnings() {
        let loaded = ConfigLoader.load(
            text: "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n"
                + "192.0.2.1/24 dev eth0 track_group G1\n}\nunicast_peer {\n192.0.2.2 min_ttl 3\n}\n}\n")
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(
            loaded.diagnostics.warnings.map(\.description) == [
                "<config>:5: warning: 'track_group' is only for static_ipaddress, static_routes and static_rules "
                    + "lines; keepalived 2.2.7 ignores it on an instance's virtual_ipaddress line, and so does Vigil"
                    // min_ttl takes effect (the VRRP worker checks the peer's TTL): no warning.
            ])
        #expect(KeywordCatalog.entries.contains { $0.block == "virtual_ipaddress line" && $0.keyword == "dev" })
    }

    /// Every statement inside `node`'s block, at any depth.
    static func descendants(of node: ConfigNode) -> [ConfigNode] {
        (node.children ?? []).flatMap { [$0] + descendants(of: $0) }
    }

    /// The tree without the first statement equal to `target`, at any depth.
    static func removing(_ target: ConfigNode, from nodes: [ConfigNode]) -> [ConfigNode] {
        var removed = false
        func walk(_ nodes: [ConfigNode]) -> [ConfigNode] {
            var result: [ConfigNode] = []
            for var node in nodes {
                if !removed && node == target {
                    removed = true
                    continue
                }
                if let children = node.children, !removed { node.children = walk(children) }
                result.append(node)
            }
            return result
        }
        return walk(nodes)
    }
}
