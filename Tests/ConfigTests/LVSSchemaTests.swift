import Foundation
import Testing

@testable import Config

// MARK: Helpers shared with CheckerSchemaTests

/// Loads configuration text; returns the LVS model and every diagnostic.
func loadLVS(_ text: String) -> (lvs: LVSConfig, diagnostics: [Diagnostic]) {
    let loaded = ConfigLoader.load(text: text)
    return (loaded.config.lvs, loaded.diagnostics)
}

/// `virtual_server 192.0.2.1 80 { BODY }`: the body starts on line 2. `protocol TCP` comes first, on the
/// header's line (without it, Vigil warns that keepalived would use UDP); the body may set another.
func loadVirtualServer(
    _ body: String, header: String = "192.0.2.1 80", after: String = ""
) -> (server: VirtualServer?, diagnostics: [Diagnostic]) {
    let (lvs, diagnostics) = loadLVS("virtual_server \(header) { protocol TCP\n\(body)\n}\n\(after)")
    return (lvs.virtualServers.first, diagnostics)
}

/// `real_server 198.51.100.1 80 { BODY }` inside a virtual server: the body starts on line 3.
func loadRealServer(_ body: String, after: String = "") -> (server: RealServer?, diagnostics: [Diagnostic]) {
    let (server, diagnostics) = loadVirtualServer("real_server 198.51.100.1 80 {\n\(body)\n}", after: after)
    return (server?.realServers.first, diagnostics)
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }

/// The messages of the errors, for readable failures.
func errorMessages(_ diagnostics: [Diagnostic]) -> [String] { diagnostics.errors.map(\.description) }

/// Expects exactly one error, on `line`, whose message contains `text`.
func expectOneError(
    _ diagnostics: [Diagnostic], line: Int, containing text: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let errors = diagnostics.errors
    #expect(errors.count == 1, "\(errorMessages(diagnostics))", sourceLocation: sourceLocation)
    guard let error = errors.first else { return }
    #expect(error.location?.line == line, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(text), "\(error)", sourceLocation: sourceLocation)
}

/// A snippet and what it does to a model, for table-driven keyword tests.
struct KeywordCase<Model: Sendable>: Sendable, CustomTestStringConvertible {
    var snippet: String
    var change: @Sendable (inout Model) -> Void
    init(_ snippet: String, _ change: @escaping @Sendable (inout Model) -> Void) {
        self.snippet = snippet
        self.change = change
    }
    var testDescription: String { snippet }
}

/// A snippet and the error it must cause.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var snippet: String
    var message: String
    init(_ snippet: String, _ message: String) {
        self.snippet = snippet
        self.message = message
    }
    var testDescription: String { snippet }
}

// MARK: virtual_server

@Suite("LVS schema: virtual_server keywords")
struct LVSVirtualServerTests {
    static let keywordCases: [KeywordCase<VirtualServer>] = [
        .init("lb_algo rr") { $0.scheduler = .roundRobin },
        .init("lvs_sched wrr") { $0.scheduler = .weightedRoundRobin },
        .init("lvs_sched lc") { $0.scheduler = .leastConnection },
        .init("lvs_sched wlc") { $0.scheduler = .weightedLeastConnection },
        .init("lvs_sched lblc") { $0.scheduler = .localityBasedLeastConnection },
        .init("lvs_sched lblcr") { $0.scheduler = .localityBasedLeastConnectionWithReplication },
        .init("lvs_sched dh") { $0.scheduler = .destinationHashing },
        .init("lvs_sched sed") { $0.scheduler = .shortestExpectedDelay },
        .init("lvs_sched nq") { $0.scheduler = .neverQueue },
        .init("lvs_sched fo") { $0.scheduler = .weightedFailover },
        .init("lvs_sched ovf") { $0.scheduler = .weightedOverflow },
        .init("lvs_sched twos") { $0.scheduler = .randomTwos },
        .init("lvs_sched sh\nsh-port\nsh-fallback") {
            $0.scheduler = .sourceHashing
            $0.flags = [.scheduler1, .scheduler2]
        },
        .init("lvs_sched mh\nmh-port\nmh-fallback") {
            $0.scheduler = .maglevHashing
            $0.flags = [.scheduler1, .scheduler2]
        },
        .init("hashed") { $0.flags = .hashed },
        .init("flag-1\nflag-2\nflag-3") { $0.flags = [.scheduler1, .scheduler2, .scheduler3] },
        .init("protocol UDP\nops") {
            $0.protocol = .udp
            $0.flags = .onePacket
        },
        .init("lb_kind NAT") { $0.forwarding = .nat },
        .init("lb_kind DR") { $0.forwarding = .directRouting },
        .init("lvs_method DR") { $0.forwarding = .directRouting },
        .init("lvs_method TUN") { $0.forwarding = .tunnel(TunnelOptions()) },
        .init("lvs_method TUN type ipip") { $0.forwarding = .tunnel(TunnelOptions(encapsulation: .ipip)) },
        .init("lvs_method TUN type gue port 6080") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gue(port: 6080)))
        },
        .init("lvs_method TUN type gue port 6080 remcsum") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gue(port: 6080), checksum: .remoteChecksum))
        },
        .init("lvs_method TUN port 6080 csum type gue") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gue(port: 6080), checksum: .checksum))
        },
        .init("lvs_method TUN type ipip nocsum") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .ipip, checksum: .noChecksum))
        },
        .init("lvs_method TUN type gre csum") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gre, checksum: .checksum))
        },
        .init("lvs_method TUN type gre nocsum") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gre, checksum: .noChecksum))
        },
        .init("persistence_timeout 50") { $0.persistenceTimeout = 50 },
        .init("persistence_timeout") { $0.persistenceTimeout = 360 },
        .init("persistence_timeout 0") { $0.persistenceTimeout = 0 },
        .init("persistence_timeout 60\npersistence_granularity 255.255.255.0") {
            $0.persistenceTimeout = 60
            $0.persistenceGranularity = 24
        },
        .init("persistence_granularity 16") {
            $0.persistenceTimeout = 360
            $0.persistenceGranularity = 16
        },
        .init("persistence_timeout 60\npersistence_engine sip") {
            $0.persistenceTimeout = 60
            $0.persistenceEngine = "sip"
        },
        .init("protocol TCP") { $0.protocol = .tcp },
        .init("protocol udp") { $0.protocol = .udp },
        .init("protocol SCTP") { $0.protocol = .sctp },
        .init("ip_family inet") { $0.ipFamily = .ipv4 },
        .init("ha_suspend") { $0.haSuspend = true },
        .init("smtp_alert") { $0.smtpAlert = true },
        .init("smtp_alert off") { $0.smtpAlert = false },
        .init("virtualhost www.example.com") { $0.virtualhost = "www.example.com" },
        .init("alpha") { $0.checkDefaults.alpha = true },
        .init("omega") { $0.omega = true },
        .init("quorum 3\nreal_server 198.51.100.1 80 {\nweight 3\n}") {
            $0.quorum = 3
            $0.realServers = [Self.realServer("198.51.100.1", port: 80, line: 3) { $0.weight = 3 }]
        },
        .init("hysteresis 2") { $0.hysteresis = 2 },
        .init("quorum_up \"/bin/up.sh arg\"") { $0.quorumUp = ScriptCommand(text: "/bin/up.sh arg") },
        .init("quorum_down /bin/down.sh nobody nogroup") {
            $0.quorumDown = ScriptCommand(text: "/bin/down.sh", user: "nobody", group: "nogroup")
        },
        .init("inhibit_on_failure") { $0.inhibitOnFailure = true },
        .init("connect_timeout 3") { $0.checkDefaults.connectTimeout = .seconds(3) },
        .init("retry 4") { $0.checkDefaults.retry = 4 },
        .init("delay_before_retry 0.5") { $0.checkDefaults.delayBeforeRetry = .milliseconds(500) },
        .init("warmup 0") { $0.checkDefaults.warmup = .zero },
        .init("delay_loop 6") { $0.checkDefaults.delayLoop = .seconds(6) },
        .init("sorry_server 198.51.100.9 8080") {
            $0.sorryServer = SorryServer(address: ip("198.51.100.9"), port: 8080, location: Self.location(2))
        },
        .init("sorry_server 198.51.100.9\nsorry_server_inhibit\nsorry_server_lvs_method DR") {
            $0.sorryServer = SorryServer(address: ip("198.51.100.9"), port: nil, location: Self.location(2))
            $0.sorryServer?.inhibit = true
            $0.sorryServer?.forwarding = .directRouting
        },
    ]

    static func location(_ line: Int) -> Config.SourceLocation {
        Config.SourceLocation(file: ConfigPath.normalize("<config>"), line: line)
    }

    static func realServer(_ address: String, port: Int?, line: Int, _ change: (inout RealServer) -> Void = { _ in })
        -> RealServer
    {
        var server = RealServer(address: ip(address), port: port, location: location(line))
        change(&server)
        return server
    }

    @Test("Each keyword sets its field", arguments: keywordCases)
    func keyword(_ testCase: KeywordCase<VirtualServer>) throws {
        let (parsed, diagnostics) = loadVirtualServer(testCase.snippet)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        let server = try #require(parsed)
        var expected = VirtualServer(address: .endpoint(ip("192.0.2.1"), port: 80), location: Self.location(1))
        testCase.change(&expected)
        #expect(server == expected)
    }

    @Test("The defaults are keepalived's")
    func defaults() throws {
        let server = try #require(loadVirtualServer("").server)
        #expect(server.scheduler == .weightedLeastConnection)
        #expect(server.forwarding == .nat)
        #expect(server.protocol == .tcp)
        #expect(server.persistenceTimeout == nil && !server.isPersistent)
        #expect(server.quorum == 1 && server.hysteresis == 0)
        #expect(server.flags.isEmpty)
        #expect(server.checkDefaults == CheckDefaults())
        #expect(!server.inhibitOnFailure && !server.omega && !server.haSuspend)
    }

    @Test("The three forms of virtual_server name the service")
    func addresses() {
        #expect(loadVirtualServer("", header: "192.0.2.1 80").server?.address == .endpoint(ip("192.0.2.1"), port: 80))
        #expect(
            loadVirtualServer("", header: "2001:db8::1 443").server?.address == .endpoint(ip("2001:db8::1"), port: 443))
        #expect(
            loadVirtualServer("persistence_timeout 60", header: "192.0.2.1").server?.address
                == .endpoint(ip("192.0.2.1"), port: 0))
        #expect(loadVirtualServer("", header: "fwmark 7").server?.address == .fwmark(7))
        let (lvs, diagnostics) = loadLVS("virtual_server_group G {\n192.0.2.1 80\n}\nvirtual_server group G {\n}\n")
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        #expect(lvs.virtualServers.first?.address == .group("G"))
    }

    @Test("persistence_timeout 0 means no persistence and is accepted")
    func persistenceZero() throws {
        let (server, diagnostics) = loadVirtualServer("persistence_timeout 0")
        #expect(diagnostics.isEmpty)
        #expect(try #require(server).isPersistent == false)
    }

    static let errorCases: [ErrorCase] = [
        .init("lb_algo fastest", "takes one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos"),
        .init("lvs_sched RR", "not 'RR'"),
        .init("lb_kind FOO", "takes one of NAT, DR, TUN"),
        .init("lb_kind DR type gre", "only TUN has them"),
        .init("lvs_method TUN type gue", "needs 'port NUM'"),
        .init("lvs_method TUN type gue port 0", "port in 'lvs_method'"),
        .init("lvs_method TUN type vxlan", "takes one of ipip, gue, gre"),
        .init("lvs_method TUN type ipip csum", "needs tunnel type gue or gre"),
        .init("lvs_method TUN type gre remcsum", "for tunnel type gue only"),
        .init("lvs_method TUN type gre csum extra", "not 'extra'"),
        .init("lvs_method TUN type gre port 80", "only a gue tunnel has a port"),
        .init("lvs_method TUN port", "needs a port number"),
        .init("persistence_timeout -1", "'persistence_timeout' must be a whole number"),
        .init("persistence_timeout 2678401", "must be a whole number from 0 to 2678400"),
        .init("persistence_timeout 60\npersistence_granularity 255.0.255.0", "contiguous bits"),
        .init("persistence_timeout 60\npersistence_granularity 129", "from 1 to 128"),
        .init("protocol ICMP", "takes one of TCP, UDP, SCTP"),
        .init("quorum 0", "'quorum' must be a whole number from 1"),
        .init("hysteresis -1", "'hysteresis' must be a whole number"),
        .init("delay_loop 0", "'delay_loop' must be from 0.000001"),
        .init("connect_timeout soon", "takes a time in seconds"),
        .init("retry -1", "'retry' must be a whole number"),
        .init("ip_family ipx", "takes one of inet, inet6"),
        .init("smtp_alert maybe", "on|off|true|false|yes|no"),
        .init("sorry_server 198.51.100.300 80", "not an IPv4 or IPv6 address"),
        .init("sorry_server 198.51.100.3 65536", "port in 'sorry_server'"),
        .init("quorum_up", "'quorum_up' takes 1 to 3 values"),
        .init("lb_algoo rr", "did you mean 'lb_algo'?"),
        .init("delay_lop 6", "did you mean 'delay_loop'?"),
        .init("real_servr 198.51.100.1 80", "did you mean 'real_server'?"),
    ]

    @Test("Bad values are errors on their line", arguments: errorCases)
    func badValue(_ testCase: ErrorCase) {
        let (_, diagnostics) = loadVirtualServer(testCase.snippet)
        let line = 1 + testCase.snippet.split(separator: "\n").count
        expectOneError(diagnostics, line: line, containing: testCase.message)
    }

    @Test(
        "Bad virtual_server lines",
        arguments: [
            ("192.0.2.1 99999", "port in 'virtual_server'"),
            ("192.0.2.256 80", "not an IPv4 or IPv6 address"),
            ("fwmark 0", "from 1 to 4294967295"),
            ("fwmark", "needs a mark number"),
            ("fwmark x", "'fwmark' must be a whole number"),
            ("group", "needs a virtual_server_group name"),
        ])
    func badHeader(_ header: String, _ message: String) {
        let (_, diagnostics) = loadLVS("virtual_server \(header) {\npersistence_timeout 60\n}\n")
        expectOneError(diagnostics, line: 1, containing: message)
    }

    @Test(
        "Warnings for settings that have no effect",
        arguments: [
            "sh-port", "mh-fallback", "ops", "persistence_timeout 0\npersistence_granularity 24", "snmp_name web",
            "weight 3",
            "sorry_server_inhibit", "persistence_timeout 50\npersistence_engine h323",
        ])
    func warnings(_ snippet: String) {
        let (_, diagnostics) = loadVirtualServer(snippet)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        #expect(diagnostics.warnings.count == 1, "\(diagnostics)")
    }
}

// MARK: real_server

@Suite("LVS schema: real_server keywords")
struct LVSRealServerTests {
    static let keywordCases: [KeywordCase<RealServer>] = [
        .init("weight 0") { $0.weight = 0 },
        .init("weight 65535") { $0.weight = 65535 },
        .init("lvs_method DR") { $0.forwarding = .directRouting },
        .init("lvs_method TUN type gue port 5555 csum") {
            $0.forwarding = .tunnel(TunnelOptions(encapsulation: .gue(port: 5555), checksum: .checksum))
        },
        .init("inhibit_on_failure") { $0.inhibitOnFailure = true },
        .init("inhibit_on_failure false") { $0.inhibitOnFailure = false },
        .init("notify_up /bin/up.sh") { $0.notifyUp = ScriptCommand(text: "/bin/up.sh") },
        .init("notify_down \"/bin/down.sh 'a b'\" root") {
            $0.notifyDown = ScriptCommand(text: "/bin/down.sh 'a b'", user: "root")
        },
        .init("uthreshold 1000") { $0.upperThreshold = 1000 },
        .init("lthreshold 10") { $0.lowerThreshold = 10 },
        .init("smtp_alert yes") { $0.smtpAlert = true },
        .init("virtualhost a.example") { $0.virtualhost = "a.example" },
        .init("alpha") { $0.checkDefaults.alpha = true },
        .init("alpha no") { $0.checkDefaults.alpha = false },
        .init("connect_timeout 2.5") { $0.checkDefaults.connectTimeout = .milliseconds(2500) },
        .init("retry 0") { $0.checkDefaults.retry = 0 },
        .init("nb_get_retry 2") { $0.checkDefaults.retry = 2 },
        .init("delay_before_retry 2") { $0.checkDefaults.delayBeforeRetry = .seconds(2) },
        .init("warmup 5") { $0.checkDefaults.warmup = .seconds(5) },
        .init("delay_loop 10") { $0.checkDefaults.delayLoop = .seconds(10) },
        .init("rise 3") { $0.rise = 3 },
        .init("fall 2") { $0.fall = 2 },
    ]

    @Test("Each keyword sets its field", arguments: keywordCases)
    func keyword(_ testCase: KeywordCase<RealServer>) throws {
        let (parsed, diagnostics) = loadRealServer(testCase.snippet)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        var expected = LVSVirtualServerTests.realServer("198.51.100.1", port: 80, line: 2)
        testCase.change(&expected)
        #expect(try #require(parsed) == expected)
    }

    @Test("Defaults: weight 1, inherit the rest")
    func defaults() throws {
        let server = try #require(loadRealServer("").server)
        #expect(server.weight == 1)
        #expect(server.forwarding == nil && server.inhibitOnFailure == nil)
        #expect(server.rise == nil && server.fall == nil)
        #expect(server.upperThreshold == 0 && server.lowerThreshold == 0)
    }

    @Test("The virtual server's lvs_method and inhibit_on_failure are the real server's defaults")
    func inheritance() throws {
        let (parsed, _) = loadVirtualServer(
            "lb_kind DR\ninhibit_on_failure\nreal_server 198.51.100.1 80 {\n}\nreal_server 198.51.100.2 80 {\nlvs_method NAT\ninhibit_on_failure off\n}"
        )
        let server = try #require(parsed)
        #expect(server.forwarding(of: server.realServers[0]) == .directRouting)
        #expect(server.inhibitsOnFailure(server.realServers[0]))
        #expect(server.forwarding(of: server.realServers[1]) == .nat)
        #expect(!server.inhibitsOnFailure(server.realServers[1]))
    }

    @Test("Port may be left out (fwmark services)")
    func noPort() throws {
        let (lvs, diagnostics) = loadLVS("virtual_server fwmark 1 {\nreal_server 198.51.100.1 {\n}\n}\n")
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        #expect(lvs.virtualServers.first?.realServers.first?.port == nil)
    }

    static let errorCases: [ErrorCase] = [
        .init("weight 65536", "'weight' must be a whole number from 0 to 65535"),
        .init("weight -1", "'weight' must be a whole number from 0 to 65535"),
        .init("uthreshold lots", "'uthreshold' must be a whole number"),
        .init("lvs_method NATT", "takes one of NAT, DR, TUN"),
        .init("rise 0", "'rise' must be a whole number from 1"),
        .init("fall 70000", "'fall' must be a whole number from 1 to 65535"),
        .init("notify_up", "'notify_up' takes 1 to 3 values"),
        .init("TCP_CHEK {\n}", "did you mean 'TCP_CHECK'?"),
    ]

    @Test("Bad values are errors on their line", arguments: errorCases)
    func badValue(_ testCase: ErrorCase) {
        let (_, diagnostics) = loadRealServer(testCase.snippet)
        expectOneError(diagnostics, line: 3, containing: testCase.message)
    }

    @Test("snmp_name is recognised, with a warning")
    func unsupported() {
        let (_, diagnostics) = loadRealServer("snmp_name web1")
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        #expect(diagnostics.warnings.count == 1)
    }
}

// MARK: virtual_server_group and SSL

@Suite("LVS schema: virtual_server_group and SSL")
struct LVSGroupTests {
    @Test("Addresses, ranges, prefixes and fwmarks")
    func entries() throws {
        let (lvs, diagnostics) = loadLVS(
            """
            virtual_server_group G {
                192.0.2.1 80
                192.0.2.3-10 80
                192.0.2.250-192.0.3.10 443
                198.51.100.8/29 8080
                2001:db8::2-9 80
                203.0.113.1
                fwmark 1 inet
                fwmark 2 inet6
            }
            """)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        let group = try #require(lvs.group(named: "G"))
        #expect(
            group.entries.map(\.target) == [
                .addresses(first: ip("192.0.2.1"), last: ip("192.0.2.1"), port: 80),
                .addresses(first: ip("192.0.2.3"), last: ip("192.0.2.10"), port: 80),
                .addresses(first: ip("192.0.2.250"), last: ip("192.0.3.10"), port: 443),
                .addresses(first: ip("198.51.100.8"), last: ip("198.51.100.15"), port: 8080),
                .addresses(first: ip("2001:db8::2"), last: ip("2001:db8::9"), port: 80),
                .addresses(first: ip("203.0.113.1"), last: ip("203.0.113.1"), port: 0),
                .fwmark(1, family: .ipv4),
                .fwmark(2, family: .ipv6),
            ])
        #expect(group.entries.map(\.location.line) == Array(2...9))
        #expect(group.addressFamilies == [.ipv4, .ipv6])
    }

    @Test(
        "Bad group lines",
        arguments: [
            ("192.0.2.10-3 80", "from a lower to a higher address"),
            ("192.0.2.1-2001:db8::1 80", "from a lower to a higher address"),
            ("192.0.2.1-300 80", "from a lower to a higher address"),
            ("192.0.2.0/33 80", "address/prefix-length"),
            ("192.0.2.1 80 90", "a virtual_server_group line is"),
            ("192.0.2.1 http", "port in '192.0.2.1'"),
            ("fwmark 1 inet4", "takes one of inet, inet6"),
            ("fwmark -1", "'fwmark' must be a whole number"),
            ("web.example 80", "not an address or address range"),
        ])
    func badEntry(_ line: String, _ message: String) {
        let (_, diagnostics) = loadLVS("virtual_server_group G {\n\(line)\n}\n")
        expectOneError(diagnostics, line: 2, containing: message)
    }

    @Test("A group with both families needs the fwmarks' family")
    func mixedFamilyFwmark() {
        let (_, diagnostics) = loadLVS("virtual_server_group G {\n192.0.2.1 80\n2001:db8::1 80\nfwmark 3\n}\n")
        expectOneError(diagnostics, line: 1, containing: "its fwmarks need 'inet' or 'inet6'")
        let (_, withFamily) = loadLVS("virtual_server_group G {\n192.0.2.1 80\n2001:db8::1 80\nfwmark 3 inet\n}\n")
        #expect(withFamily.errors.isEmpty)
    }

    @Test("An empty group is a warning")
    func empty() {
        let (_, diagnostics) = loadLVS("virtual_server_group G {\n}\n")
        #expect(diagnostics.errors.isEmpty && diagnostics.warnings.count == 1)
    }

    @Test("SSL block")
    func ssl() throws {
        let (lvs, diagnostics) = loadLVS(
            "SSL {\npassword secret\nca /etc/ca.pem\ncertificate /etc/c.pem\nkey /etc/k.pem\n}\n")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let ssl = try #require(lvs.ssl)
        #expect(ssl.password == "secret" && ssl.caFile == "/etc/ca.pem")
        #expect(ssl.certificateFile == "/etc/c.pem" && ssl.keyFile == "/etc/k.pem")
    }
}

// MARK: Cross-checks

@Suite("LVS schema: cross-checks")
struct LVSCrossCheckTests {
    @Test("virtual_server group must name a group, with a suggestion")
    func missingGroup() {
        let (_, diagnostics) = loadLVS("virtual_server_group web {\n192.0.2.1 80\n}\nvirtual_server group webb {\n}\n")
        expectOneError(diagnostics, line: 4, containing: "did you mean 'web'?")
    }

    @Test("Duplicate group names")
    func duplicateGroup() {
        let (_, diagnostics) = loadLVS(
            "virtual_server_group G {\n192.0.2.1 80\n}\nvirtual_server_group G {\n192.0.2.2 80\n}\n")
        expectOneError(diagnostics, line: 4, containing: "defined twice")
    }

    @Test(
        "Duplicate virtual servers",
        arguments: [
            ("192.0.2.1 80", "192.0.2.1 80", "", true),
            ("192.0.2.1 80", "192.0.2.1 80", "protocol UDP", false),
            ("192.0.2.1 80", "192.0.2.1 81", "", false),
            ("fwmark 5", "fwmark 5", "protocol UDP", true),
            ("fwmark 5", "fwmark 6", "", false),
        ])
    func duplicateServer(_ first: String, _ second: String, _ secondBody: String, _ duplicate: Bool) {
        let (_, diagnostics) = loadLVS("virtual_server \(first) {\n}\nvirtual_server \(second) {\n\(secondBody)\n}\n")
        if duplicate {
            expectOneError(diagnostics, line: 3, containing: "is defined twice")
        } else {
            #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        }
    }

    @Test("Duplicate real servers in one virtual server")
    func duplicateRealServer() {
        let (_, diagnostics) = loadVirtualServer("real_server 198.51.100.1 80 {\n}\nreal_server 198.51.100.1 80 {\n}")
        expectOneError(diagnostics, line: 4, containing: "already in this virtual server (line 2)")
    }

    @Test("Duplicate real servers among many (more than are compared one by one) and among few, at any place")
    func duplicateRealServerAmongMany() {
        for count in [3, 16, 17, 40] {
            // Each real server takes two lines after the virtual server's first; the duplicate repeats the second.
            var body = (1...count).map { "real_server 198.51.100.\($0) 80 {\n}" }
            body.append("real_server 198.51.100.2 80 {\n}")
            let (_, diagnostics) = loadVirtualServer(body.joined(separator: "\n"))
            expectOneError(diagnostics, line: 2 + 2 * count, containing: "already in this virtual server (line 4)")
            // The same address on another port is another real server.
            body[body.count - 1] = "real_server 198.51.100.2 81 {\n}"
            #expect(loadVirtualServer(body.joined(separator: "\n")).diagnostics.errors.isEmpty, "\(count)")
        }
    }

    @Test("Real and sorry servers must match the family unless tunnelled")
    func families() {
        expectOneError(
            loadVirtualServer("real_server 2001:db8::1 80 {\n}").diagnostics, line: 2,
            containing: "real server 2001:db8::1 is IPv6 but virtual server 192.0.2.1:80 TCP is IPv4")
        expectOneError(
            loadVirtualServer("sorry_server 2001:db8::1 80").diagnostics, line: 2,
            containing: "sorry server 2001:db8::1 is IPv6")
        #expect(loadVirtualServer("real_server 2001:db8::1 80 {\nlvs_method TUN\n}").diagnostics.errors.isEmpty)
        #expect(loadVirtualServer("lb_kind TUN\nreal_server 2001:db8::1 80 {\n}").diagnostics.errors.isEmpty)
        // A fwmark service takes the family of its first untunnelled server.
        expectOneError(
            loadVirtualServer("real_server 198.51.100.1 {\n}\nreal_server 2001:db8::1 {\n}", header: "fwmark 1")
                .diagnostics,
            line: 4, containing: "is IPv6")
        expectOneError(
            loadVirtualServer("ip_family inet6\nreal_server 198.51.100.1 {\n}", header: "fwmark 1").diagnostics,
            line: 3, containing: "is IPv4")
        expectOneError(loadVirtualServer("ip_family inet6").diagnostics, line: 1, containing: "conflicts with")
    }

    @Test("A group mixing families only serves tunnelled servers")
    func mixedGroup() {
        let group = "virtual_server_group G {\n192.0.2.1 80\n2001:db8::1 80\n}\n"
        let (_, diagnostics) = loadLVS(group + "virtual_server group G {\nreal_server 198.51.100.1 80 {\n}\n}\n")
        expectOneError(diagnostics, line: 6, containing: "mixes IPv4 and IPv6")
        let (_, tunnelled) = loadLVS(
            group + "virtual_server group G {\nlb_kind TUN\nreal_server 198.51.100.1 80 {\n}\n}\n")
        #expect(tunnelled.errors.isEmpty, "\(errorMessages(tunnelled))")
    }

    @Test("Port 0 needs persistence")
    func portZero() {
        expectOneError(
            loadVirtualServer("", header: "192.0.2.1 0").diagnostics, line: 1,
            containing: "needs persistence_timeout above 0")
        expectOneError(
            loadVirtualServer("", header: "192.0.2.1").diagnostics, line: 1, containing: "port 0 (all ports)")
        expectOneError(
            loadVirtualServer("persistence_timeout 0", header: "192.0.2.1").diagnostics, line: 1, containing: "port 0")
        #expect(loadVirtualServer("persistence_timeout 30", header: "192.0.2.1 0").diagnostics.errors.isEmpty)
        #expect(loadVirtualServer("", header: "fwmark 3").diagnostics.errors.isEmpty)
        let (_, diagnostics) = loadLVS("virtual_server_group G {\n192.0.2.1\n}\nvirtual_server group G {\n}\n")
        expectOneError(diagnostics, line: 4, containing: "entry without a port (line 2)")
    }

    @Test("A virtual server without 'protocol' is TCP, with a warning that keepalived uses UDP")
    func missingProtocol() throws {
        let (lvs, diagnostics) = loadLVS("virtual_server 192.0.2.1 80 {\nlb_algo rr\n}\nvirtual_server fwmark 1 {\n}")
        #expect(lvs.virtualServers.first?.protocol == .tcp)
        #expect(
            diagnostics.map(\.description) == [
                "<config>:1: warning: virtual server 192.0.2.1:80 TCP has no 'protocol'; Vigil uses TCP, where "
                    + "keepalived 2.2.7 uses UDP (and reports it): say 'protocol TCP' or 'protocol UDP'"
            ])
    }

    @Test("Quorum above the total weight is a warning")
    func quorum() {
        let (_, diagnostics) = loadVirtualServer("quorum 5\nreal_server 198.51.100.1 80 {\nweight 2\n}")
        #expect(diagnostics.errors.isEmpty)
        #expect(
            diagnostics.warnings.map(\.message) == [
                "quorum 5 is more than the real servers' total weight 2; the quorum can never be reached"
            ])
    }

    @Test("lthreshold above uthreshold")
    func thresholds() {
        expectOneError(
            loadVirtualServer("real_server 198.51.100.1 80 {\nuthreshold 10\nlthreshold 20\n}").diagnostics, line: 2,
            containing: "lthreshold 20 above uthreshold 10")
    }

    @Test("FILE_CHECK must name a track_file block")
    func trackFile() {
        let server =
            "virtual_server 192.0.2.1 80 {\nreal_server 198.51.100.1 80 {\nFILE_CHECK {\ntrack_file weights\n}\n}\n}\n"
        expectOneError(loadLVS(server).diagnostics, line: 3, containing: "track_file 'weights', which is not defined")
        let (_, diagnostics) = loadLVS("track_file weights {\nfile /run/weights\n}\n" + server)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
    }

    @Test("The model round-trips through JSON")
    func codable() throws {
        let (lvs, _) = loadVirtualServer(
            "lb_kind TUN\nreal_server 198.51.100.1 80 {\nHTTP_GET {\nurl {\npath /\nstatus_code 200-299 503\n}\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\n}"
        )
        let server = try #require(lvs)
        let data = try JSONEncoder().encode(server)
        #expect(try JSONDecoder().decode(VirtualServer.self, from: data) == server)
    }
}

@Suite("BGP anycast keywords")
struct AnnounceSchemaTests {
    static let table = "global_defs {\nannounce_table 100\n}\n"

    @Test("announce_up alone sets announce_down to the same; percent and counts are read")
    func watermarks() {
        let (server, diagnostics) = loadVirtualServer(
            "announce_up 60%\nreal_server 198.51.100.1 80\nreal_server 198.51.100.2 80", after: Self.table)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        #expect(server?.announceUp == .percent(60))
        #expect(server?.announceDown == .percent(60))
        let (both, _) = loadVirtualServer(
            "announce_up 2\nannounce_down 1\nreal_server 198.51.100.1 80\nreal_server 198.51.100.2 80",
            after: Self.table)
        #expect(both?.announceUp == .count(2))
        #expect(both?.announceDown == .count(1))
    }

    @Test("announce_down above announce_up is an error at its line")
    func lowAboveHigh() {
        let (_, diagnostics) = loadVirtualServer(
            "real_server 198.51.100.1 80\nreal_server 198.51.100.2 80\nannounce_up 1\nannounce_down 2",
            after: Self.table)
        expectOneError(diagnostics, line: 5, containing: "'announce_down' 2 is above 'announce_up' 1")
    }

    @Test("announcing needs announce_table")
    func needsTable() {
        let (_, diagnostics) = loadVirtualServer("announce_up 1\nreal_server 198.51.100.1 80")
        expectOneError(diagnostics, line: 1, containing: "has no 'announce_table'")
    }

    @Test("a bad percent, the main table and a fwmark service are errors")
    func badValues() {
        expectOneError(
            loadVirtualServer("announce_up 120%", after: Self.table).diagnostics, line: 2,
            containing: "'announce_up' percent must be a whole number from 1 to 100")
        expectOneError(
            ConfigLoader.load(text: "global_defs {\nannounce_table 254\n}\n").diagnostics, line: 2,
            containing: "one of the kernel's own tables")
        let (_, diagnostics) = loadLVS(
            "global_defs {\nannounce_table 100\n}\nvirtual_server fwmark 7 {\nannounce_up 1\n"
                + "real_server 198.51.100.1 80\n}\n")
        expectOneError(diagnostics, line: 5, containing: "has no address to announce")
    }
}
