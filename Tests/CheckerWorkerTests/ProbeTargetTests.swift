import Config
import Testing

@testable import CheckerWorker

/// Builds model objects the way the config reader would, for the probe tests.
enum ProbeFixtures {
    static let location = Config.SourceLocation(file: "test.conf", line: 1)

    static func virtualServer(_ address: VirtualServerAddress = .endpoint(IPAddress("192.0.2.1")!, port: 80))
        -> VirtualServer
    {
        VirtualServer(address: address, location: location)
    }

    static func realServer(_ address: String = "198.51.100.11", port: Int? = 8080) -> RealServer {
        RealServer(address: IPAddress(address)!, port: port, location: location)
    }

    static func checker(_ kind: CheckerKind, timeout: Duration = .seconds(1), connection: ConnectionOptions = .init())
        -> Checker
    {
        var checker = Checker(kind: kind, location: location)
        checker.connection = connection
        checker.timing.connectTimeout = timeout
        return checker
    }
}

@Suite struct ProbeTargetTests {
    @Test func defaultsToTheRealServer() {
        let target = ProbeTarget(
            checker: ProbeFixtures.checker(.tcp, timeout: .seconds(3)), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer())
        #expect(target.address == IPAddress("198.51.100.11"))
        #expect(target.port == 8080)
        #expect(target.bindAddress == nil && target.bindPort == nil && target.fwmark == nil)
        #expect(target.connectTimeout == .seconds(3))
        #expect(target.endpointText == "198.51.100.11:8080")
    }

    @Test func connectOptionsOverride() {
        var options = ConnectionOptions()
        options.connectIP = IPAddress("2001:db8::7")
        options.connectPort = 8443
        options.bindTo = IPAddress("2001:db8::1")
        options.bindPort = 4000
        options.bindInterface = "eth0"
        options.fwmark = 7
        let target = ProbeTarget(
            checker: ProbeFixtures.checker(.tcp, connection: options), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer())
        #expect(target.address == IPAddress("2001:db8::7"))
        #expect(target.port == 8443)
        #expect(target.bindAddress == IPAddress("2001:db8::1"))
        #expect(target.bindPort == 4000)
        #expect(target.bindInterface == "eth0")
        #expect(target.fwmark == 7)
        #expect(target.endpointText == "[2001:db8::7]:8443")
    }

    @Test func portFallsBackToTheVirtualServerThenNone() {
        let inherits = ProbeTarget(
            checker: ProbeFixtures.checker(.tcp), realServer: ProbeFixtures.realServer(port: nil),
            virtualServer: ProbeFixtures.virtualServer())
        #expect(inherits.port == 80)
        let fwmark = ProbeTarget(
            checker: ProbeFixtures.checker(.tcp), realServer: ProbeFixtures.realServer(port: nil),
            virtualServer: ProbeFixtures.virtualServer(.fwmark(1)))
        #expect(fwmark.port == nil)
        #expect(fwmark.endpointText == "198.51.100.11")
    }
}

@Suite("SMTP_CHECK host connect_timeout")
struct SMTPHostTimeoutTests {
    /// The SMTP probe's targets for `hosts` under a checker whose own timeout is 7 s.
    static func targets(_ hosts: [ConnectionOptions], realServer: Duration?, virtualServer: Duration?) throws
        -> [ProbeTarget]
    {
        var check = SMTPCheck()
        check.hosts = hosts
        var real = ProbeFixtures.realServer()
        real.checkDefaults.connectTimeout = realServer
        var server = ProbeFixtures.virtualServer()
        server.checkDefaults.connectTimeout = virtualServer
        let probe = HealthProbes.make(
            checker: ProbeFixtures.checker(.smtp(check), timeout: .seconds(7)), realServer: real,
            virtualServer: server, group: nil, scripts: nil, sslContext: nil)
        return try #require(probe as? SMTPProbe).targets
    }

    @Test("a host's own timeout, else the real server's, else the virtual server's, else 5 s: not the block's")
    func inheritance() throws {
        var own = ConnectionOptions()
        own.connectTimeout = .seconds(2)
        let bare = ConnectionOptions()
        #expect(
            try Self.targets([own, bare], realServer: .seconds(3), virtualServer: .seconds(4)).map(\.connectTimeout)
                == [.seconds(2), .seconds(3)])
        #expect(
            try Self.targets([bare], realServer: nil, virtualServer: .seconds(4)).map(\.connectTimeout) == [.seconds(4)]
        )
        #expect(try Self.targets([bare], realServer: nil, virtualServer: nil).map(\.connectTimeout) == [.seconds(5)])
        // Without host blocks the checker's own target keeps the checker's timeout.
        #expect(
            try Self.targets([], realServer: .seconds(3), virtualServer: nil).map(\.connectTimeout) == [.seconds(7)])
    }
}
