import Testing

@testable import Config

/// Input built to make the reader work without end (issue 19 item 3): each is refused with an error
/// at its FILE:LINE after bounded work, not minutes and gigabytes. Each case here hung or exhausted
/// memory before the bounds: ten nested parameters ran past 120 s and 8.2 GB.
@Suite("Reader: hostile input is bounded")
struct HostileInputTests {
    static let path = "/etc/keepalived/keepalived.conf"

    static func read(_ files: [String: String], options: ConfigReaderOptions = ConfigReaderOptions()) -> ConfigTree {
        ConfigReader.read(path: path, from: InMemoryFileSource(files), options: options)
    }

    /// `$P1` is `$P0` ten times, `$P2` is `$P1` ten times, …: `$P9` would be 10^9 copies of `$P0`.
    static let nestedParameters: String = {
        var lines = ["$P0=" + String(repeating: "x", count: 100)]
        for level in 1...9 {
            lines.append("$P\(level)=" + Array(repeating: "${P\(level - 1)}", count: 10).joined(separator: " "))
        }
        lines.append("global_defs {\n router_id ${P9}\n}")
        return lines.joined(separator: "\n")
    }()

    @Test("Ten nested parameters: the line that uses them is refused, the rest is read")
    func nestedParameters() {
        let tree = Self.read([Self.path: Self.nestedParameters])
        #expect(tree.diagnostics.count == 1, "\(tree.diagnostics)")
        let error = tree.diagnostics.first
        #expect(error?.location == SourceLocation(file: Self.path, line: 12))
        #expect(error?.message.contains("parameter substitution makes this line longer than 65536 bytes") == true)
        #expect(tree.nodes.map(\.keyword) == ["global_defs"])
    }

    /// Multiline parameters nested the same way multiply lines instead of their length.
    static let nestedMultilineParameters: String = {
        var lines = ["$M0=router_id x"]
        for level in 1...9 {
            lines.append("$M\(level)=\\")
            for _ in 0..<9 { lines.append("${M\(level - 1)} \\") }
            lines.append("${M\(level - 1)}")
        }
        lines.append("global_defs {\n$M9\n}")
        return lines.joined(separator: "\n")
    }()

    @Test("Nested multiline parameters stop at the expansion budget, at the line that uses them")
    func nestedMultilineParameters() {
        let options = ConfigReaderOptions(maxExpansionBytes: 1 << 20)
        let tree = Self.read([Self.path: Self.nestedMultilineParameters], options: options)
        let errors = tree.diagnostics.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.location == SourceLocation(file: Self.path, line: 102))
        #expect(errors.first?.message.contains("expand to more than 1048576 bytes") == true)
        // What was read before the budget ran out: bounded by it (a line is 12 bytes).
        let lines = tree.nodes.first?.children?.count ?? 0
        #expect(lines > 0 && lines <= (1 << 20) / 12)
    }

    @Test("Nested multiline parameters stop at the line limit with the default budget")
    func nestedMultilineParametersLineLimit() {
        let options = ConfigReaderOptions(maxExpandedLines: 100_000)
        let tree = Self.read([Self.path: Self.nestedMultilineParameters], options: options)
        #expect(
            tree.diagnostics.errors.map(\.description) == [
                "\(Self.path):102: error: configuration expands to more than 100000 lines; stopped reading"
            ])
    }

    @Test("A line longer than the limit (millions of words) is refused at its line; the others are read")
    func longLine() {
        let words = String(repeating: "w ", count: 1_000_000)
        let tree = Self.read([Self.path: "global_defs {\n router_id \(words)\n router_id b\n}\n"])
        #expect(
            tree.diagnostics.map(\.description) == [
                "\(Self.path):2: error: line is 2000011 bytes long, more than 65536; it is not read"
            ])
        #expect(tree.nodes.first?.children?.map(\.arguments) == [["b"]])
    }

    @Test("A sequence longer than the line limit is refused before it runs")
    func longSequence() {
        let tree = Self.read([Self.path: "~SEQ(N, 1, 2000000000) x $N\n"])
        #expect(
            tree.diagnostics.map(\.description) == [
                "\(Self.path):1: error: ~SEQ produces 2000000000 values, more than 1000000"
            ])
        #expect(tree.nodes.isEmpty)
    }

    @Test("Nested sequences stop at the line limit")
    func nestedSequences() {
        let options = ConfigReaderOptions(maxExpandedLines: 10_000)
        let tree = Self.read([Self.path: "~SEQ(A, 1, 5000) ~SEQ(B, 1, 5000) x $A $B\n"], options: options)
        #expect(
            tree.diagnostics.errors.map(\.description) == [
                "\(Self.path):1: error: configuration expands to more than 10000 lines; stopped reading"
            ])
        #expect(tree.nodes.count < 10_000)
    }

    @Test("An include fan-out (each file includes the next twice, 25 deep) stops at the file limit")
    func includeFanOut() {
        var files: [String: String] = [Self.path: "include inc0.conf\n"]
        for level in 0..<25 {
            files["/etc/keepalived/inc\(level).conf"] = "include inc\(level + 1).conf\ninclude inc\(level + 1).conf\n"
        }
        files["/etc/keepalived/inc25.conf"] = "router_id x\n"
        let tree = Self.read(files)
        let errors = tree.diagnostics.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.message.contains("more than 1000 files read") == true)
        #expect(errors.first?.location?.file.hasPrefix("/etc/keepalived/inc") == true)
        #expect(tree.files.count == 1000)
    }

    @Test("Included files together larger than the limit stop reading")
    func includedBytes() {
        let big = String(repeating: "router_id x\n", count: 1000)
        let files = [
            Self.path: "include a.conf\ninclude a.conf\ninclude a.conf\n", "/etc/keepalived/a.conf": big,
        ]
        let tree = Self.read(files, options: ConfigReaderOptions(maxTotalFileBytes: 30_000))
        #expect(
            tree.diagnostics.errors.map(\.description) == [
                "\(Self.path):3: error: the files read come to more than 30000 bytes at /etc/keepalived/a.conf; stopped reading"
            ])
    }
}
