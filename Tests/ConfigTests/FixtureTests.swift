import Foundation
import Testing

@testable import Config

/// The fixture directory inside the test bundle.
let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").path

func fixtureFiles(_ directory: String) -> [String] {
    let path = fixtures + "/" + directory
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { $0.hasSuffix(".conf") }.sorted().map { path + "/" + $0 }
}

/// What an invalid fixture expects, from its `# expect-error: [FILE:]LINE: TEXT` line: exactly one
/// error, on that line of that file (the fixture itself, or FILE relative to it), whose message
/// contains TEXT.
struct ExpectedError {
    var file: String?
    var line: Int
    var text: String

    init?(header: String) {
        guard let range = header.range(of: "# expect-error: ") else { return nil }
        var parts = header[range.upperBound...].split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, Int(parts[0]) == nil {
            file = String(parts[0])
            parts.removeFirst()
        } else {
            parts = header[range.upperBound...].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        }
        guard parts.count == 2, let line = Int(parts[0]) else { return nil }
        self.line = line
        self.text = parts[1].trimmingCharacters(in: .whitespaces)
    }
}

@Suite("Configuration fixtures")
struct FixtureTests {
    @Test("Each valid fixture passes with no error", arguments: fixtureFiles("valid"))
    func validFixture(_ path: String) {
        let loaded = ConfigLoader.load(path: path, options: ConfigReaderOptions(configID: "main"))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics.errors.map(\.description))")
    }

    @Test("Each invalid fixture has exactly its one error, with file and line", arguments: fixtureFiles("invalid"))
    func invalidFixture(_ path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expected = try #require(
            text.split(separator: "\n").lazy.compactMap { ExpectedError(header: String($0)) }.first,
            "\(path) has no '# expect-error: LINE: TEXT' line")
        let loaded = ConfigLoader.load(path: path, options: ConfigReaderOptions(configID: "main"))
        let errors = loaded.diagnostics.errors
        #expect(errors.count == 1, "\(errors.map(\.description))")
        let error = try #require(errors.first)
        let file = expected.file.map { ConfigPath.directory(of: path) + "/" + $0 } ?? path
        #expect(error.location == SourceLocation(file: file, line: expected.line), "\(error)")
        #expect(error.message.contains(expected.text), "\(error)")
    }
}

/// Debian's keepalived package installs its sample configurations; every one must pass.
let keepalivedSamples = "/usr/share/doc/keepalived/samples"

@Suite("keepalived's own samples")
struct KeepalivedSampleTests {
    static var samples: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: keepalivedSamples)) ?? []
        return names.filter { $0.hasPrefix("keepalived.conf") }.sorted().map { keepalivedSamples + "/" + $0 }
    }

    @Test(
        "Every sample passes with no error",
        .enabled(if: FileManager.default.fileExists(atPath: keepalivedSamples), "apt-get install keepalived"),
        arguments: samples)
    func sample(_ path: String) {
        let loaded = ConfigLoader.load(path: path)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics.errors.map(\.description))")
    }

    @Test(
        "There are samples to check",
        .enabled(if: ProcessInfo.processInfo.environment["CI"] != nil, "CI must have the samples"))
    func samplesArePresent() {
        #expect(Self.samples.count >= 20)
    }
}

extension Array where Element == Diagnostic {
    /// The diagnostics other than the warnings for keywords that do not take effect in Vigil.
    var besidesNotInEffect: [Diagnostic] { filter { !$0.message.contains("does not take effect in Vigil") } }
}
