import Foundation
import Testing

/// The directory holding the built products (`vigild` sits beside the test bundle).
let productsDirectory: URL = {
    var url = Bundle.main.bundleURL
    while url.path != "/" {
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("vigild").path) { return url }
        url.deleteLastPathComponent()
    }
    for candidate in [".build/debug", ".build/release"] {
        let url = URL(fileURLWithPath: candidate)
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("vigild").path) { return url }
    }
    return URL(fileURLWithPath: ".build/debug")
}()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a built product with `arguments`, collecting its output (bounded by `timeout`).
func run(_ product: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> RunResult {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(product)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while the process runs so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        process.terminate()
        throw RunTimeout(product: product, arguments: arguments)
    }
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

struct RunTimeout: Error, CustomStringConvertible {
    var product: String
    var arguments: [String]
    var description: String { "\(product) \(arguments.joined(separator: " ")) did not finish in time" }
}

/// A fresh directory for one test's files.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ text: String, to url: URL) throws {
    try Data(text.utf8).write(to: url)
}

@Suite("vigild -t / -d on bad input", .serialized)
struct ConfigTestCommandTests {
    @Test func binaryJunkIsAnErrorNotACrash() throws {
        let dir = try temporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[1000] = 0
        let file = dir.appendingPathComponent("junk.conf")
        try Data(bytes).write(to: file)
        let result = try run("vigild", ["-t", "-f", file.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file.path):"))
        #expect(result.stderr.contains("error: not a text file (NUL byte)"))
    }

    @Test func textJunkWithoutNulGetsCappedErrors() throws {
        let dir = try temporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abc{}\"'#!$@~()\\ \t\n0123456789é")
        let text = String((0..<300_000).map { _ in alphabet.randomElement(using: &generator)! })
        let file = dir.appendingPathComponent("junk.conf")
        try write(text, to: file)
        let result = try run("vigild", ["-t", "-f", file.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains(": error: "))
        #expect(result.stderr.split(separator: "\n").count < 1_000)
    }

    @Test func tenMegabyteFileIsReadAndJudged() throws {
        let dir = try temporaryDirectory()
        let line = "unknown_keyword_here some value that is long enough to fill a line quickly\n"
        let text = String(repeating: line, count: 10_000_000 / line.utf8.count + 1)
        let file = dir.appendingPathComponent("big.conf")
        try write(text, to: file)
        let result = try run("vigild", ["-t", "-f", file.path], timeout: 120)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file.path):1: error: unknown keyword 'unknown_keyword_here'"))
        #expect(result.stderr.contains("too many errors"))
    }

    @Test func unbalancedBracesNameTheLine() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("k.conf")
        try write("global_defs {\n  router_id a\n\nvrrp_instance VI_1 {\n}\n", to: file)
        let result = try run("vigild", ["-t", "-f", file.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file.path):1: error: block 'global_defs' is never closed"))
    }

    @Test func includeLoopNamesTheIncludingLine() throws {
        let dir = try temporaryDirectory()
        try write("global_defs {\n}\ninclude b.conf\n", to: dir.appendingPathComponent("a.conf"))
        try write("\ninclude a.conf\n", to: dir.appendingPathComponent("b.conf"))
        let result = try run("vigild", ["-t", "-f", dir.appendingPathComponent("a.conf").path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(dir.path)/b.conf:2: error: include loop"))
    }

    @Test func missingFileIsAClearError() throws {
        let result = try run("vigild", ["-t", "-f", "/nonexistent/vigil/keepalived.conf"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("/nonexistent/vigil/keepalived.conf: No such file or directory"))
    }

    @Test func dumpShowsTheResolvedConfiguration() throws {
        let dir = try temporaryDirectory()
        try write(
            "$PRIO=100\n@main $PRIO=150\nglobal_defs {\n  router_id ${_INSTANCE}\n}\ninclude part.conf\n",
            to: dir.appendingPathComponent("k.conf"))
        try write("~SEQ(N, 1, 2) $X$N\n", to: dir.appendingPathComponent("part.conf"))
        let result = try run("vigild", ["-d", "-i", "main", "-f", dir.appendingPathComponent("k.conf").path])
        #expect(result.stdout.hasPrefix("global_defs {\n    router_id main\n}\n$X1\n$X2\n"))
    }

    @Test("random_seed: ${_RANDOM} draws glibc's random() from the seed, the same at every read")
    func randomSeedMakesRandomRepeatable() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("k.conf")
        try write("global_defs {\n  random_seed 42\n  router_id r${_RANDOM 10 19}-${_RANDOM 0 99}\n}\n", to: file)
        // srandom(42): random() gives 71876166, 708592740.
        for _ in 0..<2 {
            let result = try run("vigild", ["-d", "-f", file.path])
            #expect(result.stdout.contains("router_id r16-40"), "\(result.stdout)")
        }
    }

    @Test("--strict turns warnings into a failing exit status; without it they pass")
    func strictMakesWarningsFail() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("k.conf")
        // An auth_pass longer than 8 characters: keepalived truncates it, Vigil too, with a warning.
        try write(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n"
                + " authentication {\n  auth_type PASS\n  auth_pass longersecret\n }\n"
                + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n", to: file)
        let lenient = try run("vigild", ["-t", "-f", file.path])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        #expect(lenient.stderr.contains("k.conf:7: warning: 'auth_pass' is longer than 8 characters"))
        let strict = try run("vigild", ["-t", "--strict", "-f", file.path])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("(--strict: warnings are errors)"), "\(strict.stderr)")
    }

    @Test("--keywords prints the keyword table that docs/keywords.md holds")
    func keywordTable() throws {
        let result = try run("vigild", ["--keywords"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("| global_defs | `enable_snmp_vrrp` | warning: not built: "))
        #expect(result.stdout.contains("| vrrp_instance | `priority` | takes effect |"))
    }

    @Test func versionAndHelp() throws {
        let version = try run("vigild", ["-v"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("Vigil "))
        let help = try run("vigild", ["--help"])
        for flag in [
            "--use-file", "--vrrp", "--check", "--dont-fork", "--log-console", "--log-detail", "--log-facility",
            "--config-test", "--dump-conf", "--config-id", "--pid", "--vrrp_pid", "--checkers_pid", "--version",
            "--control-socket", "--dont-release-vrrp", "--dont-release-ipvs", "--strict", "--keywords",
        ] {
            #expect(help.stdout.contains(flag), "\(flag)")
        }
        let bad = try run("vigild", ["-S", "9", "-t"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("local0 to local7"))
    }
}

@Suite("vigild -t on keepalived's samples and the tutorial", .serialized)
struct ConfigTestAcceptanceTests {
    static let samplesDirectory = "/usr/share/doc/keepalived/samples"

    static var samples: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: samplesDirectory)) ?? []
        return names.filter { $0.hasPrefix("keepalived.conf") }.sorted().map { samplesDirectory + "/" + $0 }
    }

    @Test(
        "Every sample Debian's keepalived installs passes vigild -t",
        .enabled(if: FileManager.default.fileExists(atPath: samplesDirectory), "scripts/setup installs keepalived"),
        arguments: samples)
    func sample(_ path: String) throws {
        let result = try run("vigild", ["-t", "-f", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains(": error: "))
    }

    @Test("The tutorial's example configuration passes vigild -t")
    func example() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let result = try run("vigild", ["-t", "-f", url.appendingPathComponent("examples/keepalived.conf").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(": 0 errors, "))
        // The only warnings are for keywords Vigil does not act on yet (docs/keywords.md).
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains(": warning: ") }
        #expect(warnings.allSatisfy { $0.contains("does not take effect in Vigil") }, "\(warnings)")
    }
}
