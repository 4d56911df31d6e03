import Config
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import CheckerWorker

/// A network namespace `prb-ns` joined to this one by a veth pair: here 203.0.113.209/28 and
/// 2001:db8:7072::1/64, there 203.0.113.210 and 2001:db8:7072::2. 203.0.113.211 answers no ARP (a blackhole).
final class ProbeNamespace {
    static let here = "203.0.113.209"
    static let there = "203.0.113.210"
    static let nobody = "203.0.113.211"
    static let there6 = "2001:db8:7072::2"
    private var servers: [Process] = []

    init() throws {
        Self.teardown()
        for command in [
            "ip netns add prb-ns",
            "ip link add prb-h type veth peer name prb-n netns prb-ns",
            "ip addr add \(Self.here)/28 dev prb-h",
            "ip addr add 2001:db8:7072::1/64 dev prb-h nodad",
            "ip link set prb-h up",
            "ip -n prb-ns addr add \(Self.there)/28 dev prb-n",
            "ip -n prb-ns addr add \(Self.there6)/64 dev prb-n nodad",
            "ip -n prb-ns link set prb-n up",
            "ip -n prb-ns link set lo up",
        ] {
            try Self.shell(command)
        }
    }

    deinit {
        for server in servers where server.isRunning { Self.stop(server) }
        Self.teardown()
    }

    static func teardown() {
        try? shell("ip link del prb-h 2>/dev/null; ip netns del prb-ns 2>/dev/null; true")
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ProbeTestError(message: "'\(command)' exited \(process.terminationStatus)")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Starts `command` inside the namespace and waits until `port` (TCP) listens there.
    func serve(_ command: [String], tcpPort: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", "prb-ns"] + command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        servers.append(process)
        for _ in 0..<100 {
            if let listing = try? Self.shell("ip netns exec prb-ns ss -Htln 'sport = :\(tcpPort)'"), !listing.isEmpty {
                return process
            }
            usleep(50_000)
        }
        throw ProbeTestError(message: "\(command[0]) did not listen on \(tcpPort)")
    }

    /// SIGKILL: `openssl s_server` does not always end on SIGTERM.
    static func stop(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

struct ProbeTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@Suite(.serialized, .enabled(if: geteuid() == 0, "creates network namespaces"))
struct ProbeNamespaceTests {
    @Test func tcpBlackholeTimesOutInAboutTheConnectTimeout() throws {
        let namespace = try ProbeNamespace()
        let start = ContinuousClock.now
        Live.expectFailure(
            try Live.run(Live.probe(.tcp, port: 80, address: ProbeNamespace.nobody)),
            containing: "TCP_CHECK \(ProbeNamespace.nobody):80: timed out after 1s")
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(900), "\(elapsed)")
        _ = namespace
    }

    @Test func bindInterfaceSteersTheProbe() throws {
        let namespace = try ProbeNamespace()
        let server = try namespace.serve(
            ["python3", "-m", "http.server", "--bind", ProbeNamespace.there, "8081"], tcpPort: 8081)
        func probe(_ kind: CheckerKind, interface: String) -> any HealthProbe {
            var options = ConnectionOptions()
            options.bindInterface = interface
            return HealthProbes.make(
                checker: ProbeFixtures.checker(kind, connection: options),
                realServer: ProbeFixtures.realServer(ProbeNamespace.there, port: 8081),
                virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton,
                scripts: nil, sslContext: nil)
        }
        #expect(try Live.run(probe(.tcp, interface: "prb-h")) == .success())
        Live.expectFailure(
            try Live.run(probe(.tcp, interface: "lo")), containing: "TCP_CHECK \(ProbeNamespace.there):8081")
        Live.expectFailure(try Live.run(probe(.tcp, interface: "prb-nonexistent")), containing: "TCP_CHECK")
        ProbeNamespace.stop(server)
        _ = namespace
    }

    @Test func pingCheckIPv4AndIPv6() throws {
        let namespace = try ProbeNamespace()
        let saved = try ProbeNamespace.shell("cat /proc/sys/net/ipv4/ping_group_range")
        defer {
            try? ProbeNamespace.shell(
                "echo '\(saved.trimmingCharacters(in: .whitespacesAndNewlines))' > /proc/sys/net/ipv4/ping_group_range")
        }
        let ping4 = Live.probe(.ping, port: nil, address: ProbeNamespace.there)
        let ping6 = Live.probe(.ping, port: nil, address: ProbeNamespace.there6)
        #expect(try Live.run(ping4) == .success())
        #expect(try Live.run(ping6) == .success())
        try ProbeNamespace.shell("ip -n prb-ns link set prb-n down")
        Live.expectFailure(try Live.run(ping4), containing: "PING_CHECK \(ProbeNamespace.there)")
        Live.expectFailure(try Live.run(ping6), containing: "PING_CHECK \(ProbeNamespace.there6)")
        try ProbeNamespace.shell("ip -n prb-ns link set prb-n up")
        // The link needs a moment after coming up (carrier, neighbour entry); a loaded machine needs more.
        var recovered = try Live.run(ping4)
        for _ in 0..<10 where recovered != .success() {
            usleep(200_000)
            recovered = try Live.run(ping4)
        }
        #expect(recovered == .success())
        Live.expectFailure(
            try Live.run(Live.probe(.ping, port: nil, address: ProbeNamespace.nobody)),
            containing: "no echo reply within 1s")
        _ = namespace
    }

    @Test func sslGetAgainstOpenSSLServer() throws {
        let namespace = try ProbeNamespace()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prb-tls-\(getpid())").path
        try ProbeNamespace.shell(
            "mkdir -p \(directory) && openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=prb.test -days 1 "
                + "-keyout \(directory)/key.pem -out \(directory)/cert.pem 2>/dev/null")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serverCommand = [
            "openssl", "s_server", "-accept", "\(ProbeNamespace.there):8443", "-cert", "\(directory)/cert.pem",
            "-key", "\(directory)/key.pem", "-www", "-quiet",
        ]
        var server = try namespace.serve(serverCommand, tcpPort: 8443)
        var check = HTTPCheck()
        check.urls = [HTTPURL(path: "/", location: ProbeFixtures.location)]
        check.enableSNI = true
        check.virtualhost = "prb.test"
        let probe = Live.probe(.ssl(check), port: 8443, address: ProbeNamespace.there, timeout: .seconds(3))
        #expect(try Live.run(probe) == .success())
        ProbeNamespace.stop(server)
        Live.expectFailure(try Live.run(probe), containing: "SSL_GET \(ProbeNamespace.there):8443/: connection refused")
        server = try namespace.serve(serverCommand, tcpPort: 8443)
        #expect(try Live.run(probe) == .success())
        ProbeNamespace.stop(server)
    }

    @Test func httpGetAgainstPythonHTTPServer() throws {
        let namespace = try ProbeNamespace()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prb-www-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = "vigil health page\n"
        try body.write(toFile: directory + "/health.html", atomically: true, encoding: .utf8)
        let serverCommand = [
            "python3", "-m", "http.server", "--bind", ProbeNamespace.there, "--directory", directory, "8080",
        ]
        var server = try namespace.serve(serverCommand, tcpPort: 8080)
        var check = HTTPCheck()
        var url = HTTPURL(path: "/health.html", location: ProbeFixtures.location)
        url.digest = HTTPDialogue.md5Hex(Array(body.utf8))
        check.urls = [url, HTTPURL(path: "/", location: ProbeFixtures.location)]
        check.protocolVersion = .http11
        let probe = Live.probe(.http(check), port: 8080, address: ProbeNamespace.there, timeout: .seconds(3))
        #expect(try Live.run(probe) == .success())
        check.urls.append(HTTPURL(path: "/missing", location: ProbeFixtures.location))
        Live.expectFailure(
            try Live.run(Live.probe(.http(check), port: 8080, address: ProbeNamespace.there)),
            containing: "HTTP_GET \(ProbeNamespace.there):8080/missing: status 404")
        ProbeNamespace.stop(server)
        Live.expectFailure(try Live.run(probe), containing: "connection refused")
        server = try namespace.serve(serverCommand, tcpPort: 8080)
        #expect(try Live.run(probe) == .success())
        ProbeNamespace.stop(server)
    }
}
