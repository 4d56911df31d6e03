import Testing

@testable import Config

/// `TYPE { BODY }` inside a real server: the checker opens on line 3, its body starts on line 4.
func loadChecker(_ type: String, _ body: String) -> (checker: Checker?, diagnostics: [Diagnostic]) {
    let (server, diagnostics) = loadRealServer("\(type) {\n\(body)\n}", after: "track_file f {\nfile /run/f\n}\n")
    return (server?.checkers.first, diagnostics)
}

/// A body that makes each checker type valid on its own (HTTP needs a url, MISC a path, …).
func minimalBody(_ type: String) -> String {
    switch type {
    case "HTTP_GET", "SSL_GET": "url {\npath /\n}"
    case "MISC_CHECK": "misc_path /bin/true"
    case "FILE_CHECK": "track_file f"
    default: ""
    }
}

/// Every checker type but FILE_CHECK, which has none of the common options.
let networkCheckers = ["TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK"]
let timedCheckers = networkCheckers + ["MISC_CHECK"]

@Suite("Checker schema: common options")
struct CheckerCommonTests {
    static let connectionCases: [KeywordCase<ConnectionOptions>] = [
        .init("connect_ip 198.51.100.7") { $0.connectIP = ip("198.51.100.7") },
        .init("connect_ip 2001:db8::7") { $0.connectIP = ip("2001:db8::7") },
        .init("connect_port 8080") { $0.connectPort = 8080 },
        .init("bindto 192.0.2.9") { $0.bindTo = ip("192.0.2.9") },
        .init("bind_port 40000") { $0.bindPort = 40000 },
        .init("bind_if eth0") { $0.bindInterface = "eth0" },
        .init("fwmark 4294967295") { $0.fwmark = UInt32.max },
    ]

    @Test("Connection options", arguments: networkCheckers, connectionCases)
    func connection(_ type: String, _ testCase: KeywordCase<ConnectionOptions>) throws {
        try expectPart(type, testCase, from: ConnectionOptions(), \.connection)
    }

    /// Loads a `type` checker with the case's snippet; `part` of it must be `empty` changed by the case.
    func expectPart<Part: Equatable>(
        _ type: String, _ testCase: KeywordCase<Part>, from empty: Part, _ part: KeyPath<Checker, Part>,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let (checker, diagnostics) = loadChecker(type, minimalBody(type) + "\n" + testCase.snippet)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))", sourceLocation: sourceLocation)
        var expected = empty
        testCase.change(&expected)
        #expect(
            try #require(checker, sourceLocation: sourceLocation)[keyPath: part] == expected,
            sourceLocation: sourceLocation)
    }

    static let overrideCases: [KeywordCase<CheckDefaults>] = [
        .init("connect_timeout 3") { $0.connectTimeout = .seconds(3) },
        .init("retry 5") { $0.retry = 5 },
        .init("nb_get_retry 5") { $0.retry = 5 },
        .init("delay_before_retry 2") { $0.delayBeforeRetry = .seconds(2) },
        .init("warmup 0") { $0.warmup = .zero },
        .init("delay_loop 0.25") { $0.delayLoop = .milliseconds(250) },
        .init("alpha") { $0.alpha = true },
        .init("alpha off") { $0.alpha = false },
    ]

    @Test("Timing options, nb_get_retry included", arguments: timedCheckers, overrideCases)
    func overrides(_ type: String, _ testCase: KeywordCase<CheckDefaults>) throws {
        try expectPart(type, testCase, from: CheckDefaults(), \.ownSettings)
    }

    @Test("log_all_failures", arguments: timedCheckers)
    func logAllFailures(_ type: String) throws {
        let (checker, _) = loadChecker(type, minimalBody(type) + "\nlog_all_failures")
        #expect(try #require(checker).logAllFailures)
    }

    @Test(
        "Defaults per checker type",
        arguments: [
            ("TCP_CHECK", 1, Duration.seconds(1)),
            ("HTTP_GET", 1, .seconds(3)),
            ("SSL_GET", 1, .seconds(3)),
            ("SMTP_CHECK", 1, .seconds(1)),
            ("DNS_CHECK", 3, .seconds(60)),
            ("MISC_CHECK", 0, .seconds(1)),
            ("UDP_CHECK", 1, .seconds(1)),
            ("PING_CHECK", 1, .seconds(1)),
            ("FILE_CHECK", 1, .seconds(1)),
        ])
    func defaults(_ type: String, _ retry: Int, _ delayBeforeRetry: Duration) throws {
        let (lvs, _) = loadLVS(
            "track_file f {\nfile /run/f\n}\nvirtual_server 192.0.2.1 80 {\nreal_server 198.51.100.1 80 {\n\(type) {\n\(minimalBody(type))\n}\n}\n}\n"
        )
        let checker = try #require(lvs.virtualServers.first?.realServers.first?.checkers.first)
        #expect(checker.kind.keyword == type)
        #expect(checker.timing.retry == retry)
        #expect(checker.timing.delayBeforeRetry == delayBeforeRetry)
        #expect(checker.timing.connectTimeout == .seconds(5))
        #expect(checker.timing.delayLoop == .seconds(60))
        #expect(checker.timing.warmup == .seconds(60))
        #expect(!checker.timing.alpha)
    }

    @Test("Timing is inherited: checker, then real server, then virtual server")
    func inheritance() throws {
        let (parsed, diagnostics) = loadVirtualServer(
            """
            delay_loop 10
            retry 4
            connect_timeout 2
            alpha
            real_server 198.51.100.1 80 {
                retry 2
                delay_before_retry 7
                TCP_CHECK {
                    connect_timeout 1
                }
                DNS_CHECK {
                    warmup 3
                }
            }
            """)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        let checkers = try #require(parsed?.realServers.first?.checkers)
        var tcp = CheckTiming()
        tcp.delayLoop = .seconds(10)
        tcp.warmup = .seconds(10)
        tcp.retry = 2
        tcp.connectTimeout = .seconds(1)
        tcp.delayBeforeRetry = .seconds(7)
        tcp.alpha = true
        #expect(checkers[0].timing == tcp)
        var dns = tcp
        dns.connectTimeout = .seconds(2)
        dns.warmup = .seconds(3)
        #expect(checkers[1].timing == dns)
    }

    static let errorCases: [ErrorCase] = [
        .init("connect_port 0", "port in 'connect_port' must be a whole number from 1 to 65535"),
        .init("connect_port 70000", "port in 'connect_port'"),
        .init("bind_port -1", "port in 'bind_port'"),
        .init("connect_ip 198.51.100", "not an IPv4 or IPv6 address"),
        .init("bindto host.example", "not an IPv4 or IPv6 address"),
        .init("fwmark 4294967296", "'fwmark' must be a whole number"),
        .init("connect_timeout 0", "'connect_timeout' must be from 0.000001"),
        .init("retry x", "'retry' must be a whole number"),
        .init("nb_get_retry -2", "'nb_get_retry' must be a whole number"),
        .init("delay_loop -1", "takes a time in seconds"),
        .init("conect_port 80", "did you mean 'connect_port'?"),
    ]

    @Test("Bad common values", arguments: ["TCP_CHECK", "HTTP_GET", "UDP_CHECK"], errorCases)
    func badValue(_ type: String, _ testCase: ErrorCase) {
        let body = minimalBody(type)
        let (_, diagnostics) = loadChecker(type, testCase.snippet + "\n" + body)
        expectOneError(diagnostics, line: 4, containing: testCase.message)
    }

    @Test("MISC_CHECK and FILE_CHECK have no connection options", arguments: ["MISC_CHECK", "FILE_CHECK"])
    func noConnection(_ type: String) {
        let (_, diagnostics) = loadChecker(type, "connect_port 80\n" + minimalBody(type))
        expectOneError(diagnostics, line: 4, containing: "unknown keyword 'connect_port' in \(type)")
    }

    @Test("FILE_CHECK has no timing options")
    func fileNoTiming() {
        let (_, diagnostics) = loadChecker("FILE_CHECK", "retry 3\ntrack_file f")
        expectOneError(diagnostics, line: 4, containing: "unknown keyword 'retry' in FILE_CHECK")
    }

    @Test("FILE_CHECK on a track_file with init_file: no warning (the checker worker writes it)")
    func fileCheckInitFile() {
        let (_, diagnostics) = loadRealServer(
            "FILE_CHECK {\ntrack_file f\n}", after: "track_file f {\nfile /run/f\ninit_file 5\n}")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
    }

    @Test("A checker needs a block")
    func needsBlock() {
        expectOneError(loadRealServer("TCP_CHECK").diagnostics, line: 3, containing: "'TCP_CHECK' needs a { } block")
    }
}

@Suite("Checker schema: each checker's own options")
struct CheckerKindTests {
    static let url = HTTPURL(path: "/", location: LVSVirtualServerTests.location(5))

    static func http(_ change: @Sendable @escaping (inout HTTPCheck) -> Void) -> @Sendable (inout CheckerKind) -> Void {
        { kind in
            var check = HTTPCheck()
            check.urls = [url]
            change(&check)
            kind = .http(check)
        }
    }

    static let cases: [(type: String, check: KeywordCase<CheckerKind>)] = [
        ("TCP_CHECK", .init("") { $0 = .tcp }),
        ("PING_CHECK", .init("") { $0 = .ping }),
        ("HTTP_GET", .init("url {\npath /\n}") { $0 = .http(HTTPCheck()) }),
        ("HTTP_GET", .init("url {\npath /\n}\nhttp_protocol 1.1", http { $0.protocolVersion = .http11 })),
        ("HTTP_GET", .init("url {\npath /\n}\nhttp_protocol 1.0C", http { $0.protocolVersion = .http10Close })),
        ("HTTP_GET", .init("url {\npath /\n}\nhttp_protocol 1.0c", http { $0.protocolVersion = .http10Close })),
        ("HTTP_GET", .init("url {\npath /\n}\nvirtualhost www.example", http { $0.virtualhost = "www.example" })),
        ("HTTP_GET", .init("url {\npath /\n}\nfast_recovery", http { $0.fastRecovery = true })),
        ("HTTP_GET", .init("url {\npath /\n}\nenable_sni", http { $0.enableSNI = true })),
        ("SMTP_CHECK", .init("") { $0 = .smtp(SMTPCheck()) }),
        (
            "SMTP_CHECK",
            .init("helo_name \"mx.example\"") {
                var check = SMTPCheck()
                check.heloName = "mx.example"
                $0 = .smtp(check)
            }
        ),
        (
            "SMTP_CHECK",
            .init(
                "host {\nconnect_ip 198.51.100.2\nconnect_port 587\nbindto 192.0.2.2\nconnect_timeout 2.5\n}\nhost {\n}"
            ) {
                var check = SMTPCheck()
                var host = ConnectionOptions()
                host.connectIP = ip("198.51.100.2")
                host.connectPort = 587
                host.bindTo = ip("192.0.2.2")
                host.connectTimeout = .milliseconds(2500)
                check.hosts = [host, ConnectionOptions()]
                $0 = .smtp(check)
            }
        ),
        ("DNS_CHECK", .init("") { $0 = .dns(DNSCheck()) }),
        (
            "DNS_CHECK",
            .init("type aaaa\nname www.example.") {
                var check = DNSCheck()
                check.type = .aaaa
                check.name = "www.example."
                $0 = .dns(check)
            }
        ),
        (
            "DNS_CHECK",
            .init("type MX") {
                var check = DNSCheck()
                check.type = .mx
                $0 = .dns(check)
            }
        ),
        (
            "MISC_CHECK",
            .init("misc_path \"/bin/check.sh a b\"\nmisc_timeout 5\nmisc_dynamic\nuser nobody nogroup") {
                var check = MiscCheck(path: "/bin/check.sh a b")
                check.timeout = .seconds(5)
                check.dynamic = true
                check.user = ScriptUser(user: "nobody", group: "nogroup")
                $0 = .misc(check)
            }
        ),
        ("UDP_CHECK", .init("") { $0 = .udp(UDPCheck()) }),
        (
            "UDP_CHECK",
            .init("payload Ab12f 3 456 546443123\nrequire_reply 1x 2\nmin_reply_length 2\nmax_reply_length 512") {
                var check = UDPCheck()
                check.payload = [0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
                check.requiresReply = true
                check.requireReply = HexPattern(bytes: [0x10, 0x02], mask: [0xf0, 0x0f])
                check.minimumReplyLength = 2
                check.maximumReplyLength = 512
                $0 = .udp(check)
            }
        ),
        (
            "UDP_CHECK",
            .init("require_reply") {
                var check = UDPCheck()
                check.requiresReply = true
                $0 = .udp(check)
            }
        ),
        (
            "FILE_CHECK",
            .init("track_file f\ndynamic\nweight -10 reverse") {
                var check = FileCheck(trackFile: "f")
                check.dynamic = true
                check.weight = -10
                check.reverse = true
                $0 = .file(check)
            }
        ),
        ("FILE_CHECK", .init("track_file f") { $0 = .file(FileCheck(trackFile: "f")) }),
    ]

    @Test("Each keyword sets its field", arguments: cases)
    func keyword(_ type: String, _ testCase: KeywordCase<CheckerKind>) throws {
        let (checker, diagnostics) = loadChecker(type, testCase.snippet)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        var expected = CheckerKind.tcp
        testCase.change(&expected)
        var kind = try #require(checker).kind
        // The url's location is not what these cases are about.
        if case .http(var check) = kind {
            check.urls = check.urls.map {
                var url = $0
                url.location = Self.url.location
                return url
            }
            kind = .http(check)
        }
        if case .http(let check) = expected, check.urls.isEmpty {
            expected = .http(
                {
                    var check = check
                    check.urls = [Self.url]
                    return check
                }())
        }
        #expect(kind == expected)
    }

    @Test("SSL_GET is an HTTP check over TLS")
    func ssl() throws {
        let (checker, _) = loadChecker("SSL_GET", "url {\npath /\n}\nenable_sni")
        guard case .ssl(let check) = try #require(checker).kind else {
            Issue.record("not SSL_GET")
            return
        }
        #expect(check.enableSNI && check.urls.map(\.path) == ["/"])
    }

    @Test("url blocks")
    func urls() throws {
        let (checker, diagnostics) = loadChecker(
            "HTTP_GET",
            """
            url {
                path /health
                digest 640205B7B0FC66C1EA91C463FAC6334D
                status_code 200-299 400-499 503
                virtualhost a.example
                regex "^OK"
                regex_no_match
                regex_options caseless multiline
                regex_stack 32768 65536
                regex_min_offset 2
                regex_max_offset 100
            }
            url {
                path /two
            }
            """)
        #expect(diagnostics.errors.isEmpty, "\(errorMessages(diagnostics))")
        guard case .http(let check) = try #require(checker).kind else {
            Issue.record("not HTTP_GET")
            return
        }
        #expect(check.urls.count == 2)
        let url = check.urls[0]
        #expect(url.path == "/health")
        #expect(url.digest == "640205b7b0fc66c1ea91c463fac6334d")
        #expect(url.statusCodes == [200...299, 400...499, 503...503])
        #expect(url.virtualhost == "a.example")
        var regex = HTTPRegex(pattern: "^OK")
        regex.failOnMatch = true
        regex.options = ["caseless", "multiline"]
        regex.stack = 32768...65536
        regex.minimumOffset = 2
        regex.maximumOffset = 100
        #expect(url.regex == regex)
        #expect(url.location.line == 4)
        #expect(check.urls[1].statusCodes == HTTPURL.defaultStatusCodes)
        #expect(check.urls[1].digest == nil && check.urls[1].regex == nil)
    }

    static let errorCases: [(type: String, check: ErrorCase)] = [
        ("HTTP_GET", .init("url {\npath /\n}\nhttp_protocol 2", "takes one of 1.0, 1.0C, 1.1")),
        ("HTTP_GET", .init("url {\npath /\ndigest 1234\n}", "MD5 digest of 32 hex digits")),
        (
            "HTTP_GET",
            .init("url {\npath /\nstatus_code 200-99\n}", "HTTP status code must be a whole number from 100 to 599")
        ),
        ("HTTP_GET", .init("url {\npath /\nstatus_code 299-200\n}", "runs backwards")),
        ("HTTP_GET", .init("url {\npath /\nstatus_code\n}", "'status_code' takes at least 1 value")),
        ("HTTP_GET", .init("url {\npath /\nregex_options shouty\n}", "takes one of allow_empty_class")),
        ("HTTP_GET", .init("url {\npath /\nregex_stack 10 5\n}", "must be a whole number from 10")),
        ("HTTP_GET", .init("url {\npath /\npaht /x\n}", "did you mean 'path'?")),
        ("SSL_GET", .init("url {\npath /\n}\nenable_sni maybe", "on|off|true|false|yes|no")),
        ("SMTP_CHECK", .init("host {\nconnect_port 0\n}", "port in 'connect_port'")),
        ("DNS_CHECK", .init("type PTR", "takes one of A, NS, CNAME, SOA, MX, TXT, AAAA")),
        ("MISC_CHECK", .init("misc_path /bin/true\nmisc_timeout 0", "'misc_timeout' must be from")),
        ("MISC_CHECK", .init("misc_path /bin/true\nuser", "'user' takes 1 to 2 values")),
        ("UDP_CHECK", .init("payload 12zz", "'12zz' is not hex digits in 'payload'")),
        ("UDP_CHECK", .init("payload 1x", "'1x' is not hex digits in 'payload'")),
        ("UDP_CHECK", .init("require_reply 0g", "is not hex digits (or x for any)")),
        ("UDP_CHECK", .init("max_reply_length 65536", "from 0 to 65535")),
        ("FILE_CHECK", .init("track_file f\nweight 3 backwards", "takes one of reverse, noreverse")),
        ("FILE_CHECK", .init("track_file f\nweight 99999999999", "weight must be a whole number")),
    ]

    @Test("Bad values are errors on their line", arguments: errorCases)
    func badValue(_ type: String, _ testCase: ErrorCase) {
        let (_, diagnostics) = loadChecker(type, testCase.snippet)
        let lines = testCase.snippet.split(separator: "\n", omittingEmptySubsequences: false)
        let errorLine = lines.lastIndex { !$0.hasPrefix("}") && !$0.hasSuffix("{") }!
        expectOneError(diagnostics, line: 4 + errorLine, containing: testCase.message)
    }

    @Test(
        "Required and consistent settings (the error is on the checker's line, 3, or the url's, 4)",
        arguments: [
            ("HTTP_GET", "", 3, "HTTP_GET needs at least one 'url { path … }'"),
            ("SSL_GET", "", 3, "SSL_GET needs at least one 'url"),
            ("HTTP_GET", "url {\ndigest 640205b7b0fc66c1ea91c463fac6334d\n}", 4, "'url' needs a 'path'"),
            ("MISC_CHECK", "misc_timeout 3", 3, "MISC_CHECK needs 'misc_path'"),
            ("FILE_CHECK", "weight 2", 3, "FILE_CHECK needs 'track_file'"),
        ])
    func required(_ type: String, _ body: String, _ line: Int, _ message: String) {
        expectOneError(loadChecker(type, body).diagnostics, line: line, containing: message)
    }

    @Test("regex_* options keepalived 2.2.7 drops are warned at the url's line and dropped")
    func regexOptionsDropped() throws {
        let (orphan, orphanDiagnostics) = loadChecker("HTTP_GET", "url {\npath /\nregex_no_match\n}")
        #expect(orphanDiagnostics.errors.isEmpty)
        #expect(orphanDiagnostics.warnings.map(\.location?.line) == [4])
        #expect(orphanDiagnostics.warnings.first?.message.contains("regex_* options but no 'regex'; ignored") == true)
        guard case .http(let check) = try #require(orphan).kind else { throw CancellationError() }
        #expect(check.urls.first?.regex == nil)
        let (crossed, crossedDiagnostics) = loadChecker(
            "HTTP_GET", "url {\npath /\nregex x\nregex_min_offset 9\nregex_max_offset 3\n}")
        #expect(crossedDiagnostics.errors.isEmpty)
        #expect(crossedDiagnostics.warnings.map(\.location?.line) == [4])
        #expect(crossedDiagnostics.warnings.first?.message.contains("ignored both offsets") == true)
        guard case .http(let crossedCheck) = try #require(crossed).kind else { throw CancellationError() }
        let regex = try #require(crossedCheck.urls.first?.regex)
        #expect(regex.pattern == "x" && regex.minimumOffset == nil && regex.maximumOffset == nil)
    }

    @Test("Several checkers of each kind on one real server")
    func several() throws {
        let (server, diagnostics) = loadRealServer("TCP_CHECK {\n}\nTCP_CHECK {\nconnect_port 81\n}\nPING_CHECK {\n}")
        #expect(diagnostics.errors.isEmpty)
        let checkers = try #require(server).checkers
        #expect(checkers.map(\.kind.keyword) == ["TCP_CHECK", "TCP_CHECK", "PING_CHECK"])
        #expect(checkers.map(\.location.line) == [3, 5, 8])
    }
}

extension Checker {
    /// The timing settings the checker block wrote itself, as the block's `CheckDefaults`.
    fileprivate var ownSettings: CheckDefaults {
        var own = CheckDefaults()
        if ownTiming.contains(.connectTimeout) { own.connectTimeout = timing.connectTimeout }
        if ownTiming.contains(.retry) { own.retry = timing.retry }
        if ownTiming.contains(.delayBeforeRetry) { own.delayBeforeRetry = timing.delayBeforeRetry }
        if ownTiming.contains(.warmup) { own.warmup = timing.warmup }
        if ownTiming.contains(.delayLoop) { own.delayLoop = timing.delayLoop }
        if ownTiming.contains(.alpha) { own.alpha = timing.alpha }
        return own
    }
}
