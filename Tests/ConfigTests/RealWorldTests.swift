import Foundation
import Testing

@testable import Config

/// The 51 real-world files of `Fixtures/realworld` (SOURCES.md says where each comes from) with what
/// keepalived 2.2.7 makes of them (`EXPECTED`, found by `Tests/Namespaces/realworld/run.sh`, which runs
/// keepalived and checks it again): every file keepalived runs, Vigil accepts; Vigil refuses exactly the
/// lines listed, each named FILE:LINE.
@Suite("Real-world keepalived.conf files")
struct RealWorldTests {
    struct Expectation: CustomStringConvertible, Sendable {
        var file: String
        var keepalivedAccepts: Bool
        /// The lines Vigil refuses; empty when it accepts the file.
        var errorLines: [Int]
        var configID: String

        var description: String { file }
    }

    static let directory = fixtures + "/realworld"

    static let expectations: [Expectation] = {
        let text = (try? String(contentsOfFile: directory + "/EXPECTED", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            var fields: [String: String] = [:]
            let words = line.split(separator: " ")
            for word in words.dropFirst() {
                let parts = word.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
            }
            let vigil = fields["vigil"] ?? "?"
            return Expectation(
                file: String(words[0]), keepalivedAccepts: fields["accepts"] == "yes",
                errorLines: vigil == "ok" ? [] : vigil.split(separator: ",").compactMap { Int($0) },
                configID: fields["id"] ?? "main")
        }
    }()

    static func load(_ file: String, id: String = "main") -> LoadedConfig {
        ConfigLoader.load(path: directory + "/" + file, options: ConfigReaderOptions(configID: id))
    }

    @Test("Every file is listed, and keepalived runs 20 of them")
    func corpus() {
        let files = fixtureFiles("realworld").map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(files.count == 51)
        #expect(Self.expectations.map(\.file) == files)
        #expect(Self.expectations.filter(\.keepalivedAccepts).count == 20)
    }

    @Test("Vigil refuses exactly the expected lines; every file keepalived runs, it accepts", arguments: expectations)
    func file(_ expectation: Expectation) {
        let loaded = Self.load(expectation.file, id: expectation.configID)
        let errors = loaded.diagnostics.errors.filter { !$0.message.hasPrefix("too many errors") }
        let path = Self.directory + "/" + expectation.file
        #expect(errors.allSatisfy { $0.location?.file == path }, "\(errors)")
        #expect(Array(Set(errors.compactMap(\.location?.line))).sorted() == expectation.errorLines, "\(errors)")
        if expectation.keepalivedAccepts {
            #expect(errors.isEmpty)
        }
    }

    /// What keepalived ignores without a word, Vigil ignores too, and says so at the line.
    @Test(
        "Where keepalived silently ignores words, Vigil warns at the line",
        arguments: [
            (
                "16-ssl-get-http-get-sorry-notify-up.conf", 34,
                "'preempt' takes no value; ignored 'delay 300' — did you mean 'preempt_delay 300'?"
            ),
            (
                "26-hcloud-floating-ip.conf", 39,
                "'state' takes 1 value; used 'MASTER' and ignored 'priority 200' — keepalived reads one statement per line: put 'priority 200' on a line of its own"
            ),
            (
                "28-cyberark-crlf-unicast.conf", 16,
                "'192.0.2.91/24' in 'unicast_src_ip': the '/24' is ignored, as keepalived ignores it; using 192.0.2.91"
            ),
            (
                "28-cyberark-crlf-unicast.conf", 18,
                "'192.0.2.92/24' in '192.0.2.92/24': the '/24' is ignored, as keepalived ignores it; using 192.0.2.92"
            ),
        ])
    func silentIgnoresWarn(_ file: String, _ line: Int, _ message: String) {
        let loaded = Self.load(file)
        let warnings = loaded.diagnostics.warnings.filter { $0.location?.line == line }
        #expect(warnings.map(\.message).contains(message), "\(warnings)")
    }

    @Test("What the warned lines leave in the model is what keepalived uses")
    func silentIgnoresKeepKeepalivedsValues() throws {
        let preempt = Self.load("16-ssl-get-http-get-sorry-notify-up.conf").config.vrrp.instances
        #expect(preempt.allSatisfy { !$0.nopreempt && $0.preemptDelay == .zero })
        let state = try #require(Self.load("26-hcloud-floating-ip.conf").config.vrrp.instances.first)
        // keepalived reads `state MASTER priority 200` as state MASTER and no priority, which with state MASTER is
        // the address owner's 255 (keepalived 2.2.7 advertises priority 255 at once: measured in a namespace).
        #expect(state.initialState == .master && state.priority == 255)
        let unicast = try #require(Self.load("28-cyberark-crlf-unicast.conf").config.vrrp.instances.first)
        #expect(unicast.unicastSourceIP == IPAddress("192.0.2.91"))
        #expect(unicast.unicastPeers.map(\.address) == [IPAddress("192.0.2.92")!])
        // `$TEST=${_HASH}` comments out every line it starts, as in keepalived.
        let hashed = Self.load("51-pqdev-track-file-check-static.conf")
        #expect(hashed.config.vrrp.trackFiles.allSatisfy { $0.name != "TF_5" })
    }
}
