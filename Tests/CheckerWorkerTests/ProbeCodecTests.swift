import Config
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import CheckerWorker

@Suite struct ProbeHTTPParserTests {
    func parse(_ text: String, eof: Bool = false, needBody: Bool = true) -> HTTPResponseParser.Result {
        HTTPResponseParser.parse(Array(text.utf8), eof: eof, needBody: needBody)
    }

    @Test func contentLengthBody() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel") == .incomplete)
        #expect(
            parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                == .complete(status: 200, body: Array("hello".utf8)))
        #expect(
            parse("HTTP/1.1 200 OK\r\ncontent-length:  5\r\n\r\nhelloEXTRA")
                == .complete(status: 200, body: Array("hello".utf8)))
        #expect(
            parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhel", eof: true)
                == .malformed("body shorter than Content-Length"))
    }

    @Test func chunkedBody() {
        let reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        #expect(parse(reply) == .complete(status: 200, body: Array("hello world".utf8)))
        #expect(parse(String(reply.prefix(60))) == .incomplete)
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == .malformed("bad chunk size"))
        #expect(
            parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n")
                == .malformed("chunk not followed by CRLF"))
    }

    @Test func closeDelimitedBodyAndHeadOnly() {
        #expect(parse("HTTP/1.0 200 OK\r\n\r\nall of it") == .incomplete)
        #expect(
            parse("HTTP/1.0 200 OK\r\n\r\nall of it", eof: true)
                == .complete(status: 200, body: Array("all of it".utf8)))
        #expect(parse("HTTP/1.0 404 Nope\r\n\r\n", needBody: false) == .complete(status: 404, body: []))
    }

    @Test func malformedReplies() {
        #expect(parse("", eof: true) == .malformed("empty reply"))
        #expect(parse("SSH-2.0-OpenSSH_9\r\n") == .malformed("not an HTTP reply"))
        #expect(parse("HTTP/1.1 2000 OK\r\n\r\n") == .malformed("bad status line \"HTTP/1.1 2000 OK\""))
        #expect(parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n") == .malformed("bad header line"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == .malformed("bad Content-Length"))
        #expect(
            parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n")
                == .malformed("body larger than 4194304 bytes"))
        #expect(parse("HTTP/1.1 200", eof: true) == .malformed("reply ends inside the header"))
    }

    /// Random bytes, with and without an HTTP-looking start, never crash the parser.
    @Test func garbageNeverCrashes() {
        var random = SplitMix64(seed: 6)
        for round in 0..<2000 {
            var bytes = (0..<Int.random(in: 0..<200, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            if round % 2 == 0 { bytes = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + bytes }
            _ = HTTPResponseParser.parse(bytes, eof: round % 3 == 0, needBody: true)
        }
    }

    @Test func statusCodeRanges() {
        #expect(StatusCodes.accepts(200, HTTPURL.defaultStatusCodes))
        #expect(StatusCodes.accepts(299, HTTPURL.defaultStatusCodes))
        #expect(!StatusCodes.accepts(300, HTTPURL.defaultStatusCodes))
        #expect(StatusCodes.accepts(503, [200...299, 503...503]))
        #expect(!StatusCodes.accepts(502, [200...299, 503...503]))
    }

    @Test func judgeDigestAndRegex() throws {
        var regex = HTTPRegex(pattern: "^status: ok$")
        regex.options = ["multiline", "caseless"]
        let body = Array("hello\nSTATUS: OK\n".utf8)
        var url = HTTPProbe.URLCheck(
            path: "/", request: [], statusCodes: HTTPURL.defaultStatusCodes, digest: HTTPDialogue.md5Hex(body),
            regex: try CompiledRegex(regex))
        #expect(HTTPDialogue.judge(status: 200, body: body, url: url, label: "L") == .success())
        #expect(HTTPDialogue.judge(status: 201, body: body, url: url, label: "L") == .success())
        #expect(HTTPDialogue.judge(status: 302, body: body, url: url, label: "L") == .failure("L: status 302"))
        let other = Array("hello\n".utf8)
        #expect(
            HTTPDialogue.judge(status: 200, body: other, url: url, label: "L")
                == .failure("L: digest \(HTTPDialogue.md5Hex(other)), expected \(HTTPDialogue.md5Hex(body))"))
        url.digest = nil
        #expect(
            HTTPDialogue.judge(status: 200, body: other, url: url, label: "L")
                == .failure("L: body does not match regex ^status: ok$"))
        regex.failOnMatch = true
        url.regex = try CompiledRegex(regex)
        #expect(HTTPDialogue.judge(status: 200, body: other, url: url, label: "L") == .success())
        #expect(
            HTTPDialogue.judge(status: 200, body: body, url: url, label: "L")
                == .failure("L: body matches regex ^status: ok$"))
        #expect(HTTPDialogue.md5Hex([]) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(throws: (any Error).self) { try CompiledRegex(HTTPRegex(pattern: "(unclosed")) }
    }

    @Test("regex_min_offset / regex_max_offset: a match counts only when it starts within them (bytes, inclusive)")
    func regexOffsets() throws {
        // "ok" starts at bytes 3 and 12; "é" takes two bytes, so byte 11 is inside a character.
        let body = Array("xx ok yyyé ok zz".utf8)
        func matches(_ minimum: Int?, _ maximum: Int?, _ pattern: String = "ok") throws -> Bool {
            var regex = HTTPRegex(pattern: pattern)
            regex.minimumOffset = minimum
            regex.maximumOffset = maximum
            return try CompiledRegex(regex).matches(body)
        }
        #expect(try matches(nil, nil))
        #expect(try matches(3, nil) && matches(4, nil) && matches(12, nil))
        #expect(try !matches(13, nil) && !matches(100, nil))
        #expect(try matches(nil, 3) && matches(0, 2) == false)
        #expect(try matches(4, 12) && !matches(4, 11))
        #expect(try matches(10, 12) && !matches(10, 11), "a minimum inside a character starts at the next one")
        // A match may run past the maximum; only its start counts.
        #expect(try matches(0, 3, "ok yyy"))
        func judged(_ regex: HTTPRegex) throws -> ProbeOutcome {
            let url = HTTPProbe.URLCheck(
                path: "/", request: [], statusCodes: HTTPURL.defaultStatusCodes, digest: nil,
                regex: try CompiledRegex(regex))
            return HTTPDialogue.judge(status: 200, body: body, url: url, label: "L")
        }
        var regex = HTTPRegex(pattern: "ok")
        (regex.minimumOffset, regex.maximumOffset) = (4, 11)
        #expect(try judged(regex) == .failure("L: body does not match regex ok starting at bytes 4-11"))
        regex.failOnMatch = true
        regex.maximumOffset = nil
        #expect(try judged(regex) == .failure("L: body matches regex ok starting at byte 4 or later"))
    }

    @Test func requestPerProtocolVersion() {
        #expect(
            String(decoding: HTTPProbe.request(path: "/a", host: "h", version: .http10), as: UTF8.self)
                == "GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: h\r\n\r\n")
        #expect(
            String(decoding: HTTPProbe.request(path: "/", host: "h:81", version: .http11), as: UTF8.self)
                == "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nHost: h:81\r\nConnection: close\r\n\r\n")
    }

    @Test func virtualhostPrecedence() throws {
        var check = HTTPCheck()
        var url = HTTPURL(path: "/", location: ProbeFixtures.location)
        check.urls = [url]
        var realServer = ProbeFixtures.realServer(port: 80)
        let target = ProbeTarget(
            checker: ProbeFixtures.checker(.http(check)), realServer: realServer,
            virtualServer: ProbeFixtures.virtualServer())
        func host(_ probe: HTTPProbe) -> String {
            let text = String(decoding: probe.urls[0].request, as: UTF8.self)
            return String(text.split(separator: "\r\n")[2])
        }
        let make = { (check: HTTPCheck, realServer: RealServer) in
            try HTTPProbe(
                check: check, secure: false, target: target, realServer: realServer,
                virtualServer: ProbeFixtures.virtualServer(), sslContext: nil)
        }
        #expect(host(try make(check, realServer)) == "Host: 198.51.100.11")
        realServer.virtualhost = "rs.example"
        #expect(host(try make(check, realServer)) == "Host: rs.example")
        check.virtualhost = "checker.example"
        #expect(host(try make(check, realServer)) == "Host: checker.example")
        url.virtualhost = "url.example"
        check.urls = [url]
        #expect(host(try make(check, realServer)) == "Host: url.example")
    }
}

@Suite struct ProbeDNSTests {
    @Test func queryEncoding() throws {
        let query = try #require(DNSMessage.query(id: 0xbeef, name: "www.example.test", type: .a))
        #expect(
            query == [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + [3] + Array("www".utf8) + [7]
                + Array("example".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1])
        let root = try #require(DNSMessage.query(id: 1, name: ".", type: .soa))
        #expect(root.suffix(5) == [0, 0, 6, 0, 1])
        #expect(DNSMessage.query(id: 1, name: "a..b", type: .a) == nil)
        #expect(DNSMessage.query(id: 1, name: String(repeating: "x", count: 64), type: .a) == nil)
    }

    @Test func answers() throws {
        let query = try #require(DNSMessage.query(id: 0x1234, name: "example.test", type: .aaaa))
        var reply = query
        reply[2] |= 0x80
        #expect(DNSMessage.judge(reply: reply, query: query) == .noError)
        reply[3] = 0x83
        #expect(DNSMessage.judge(reply: reply, query: query) == .error("RCODE NXDOMAIN"))
        reply[0] = 0x99
        #expect(DNSMessage.judge(reply: reply, query: query) == .ignore)
        #expect(DNSMessage.judge(reply: query, query: query) == .ignore)  // QR clear
        #expect(DNSMessage.judge(reply: [0x12], query: query) == .ignore)
    }

    @Test func garbageIsIgnoredOrJudgedNeverCrashes() throws {
        let query = try #require(DNSMessage.query(id: 7, name: ".", type: .soa))
        var random = SplitMix64(seed: 53)
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0..<40, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            if bytes.count >= 2 {
                bytes[0] = 0
                bytes[1] = 7
            }
            _ = DNSMessage.judge(reply: bytes, query: query)
        }
    }
}

@Suite struct ProbeDialogueTests {
    @Test func smtpDialogue() {
        var dialogue = SMTPDialogue(heloName: "me.test", label: "SMTP_CHECK x")
        #expect(dialogue.connected() == .more)
        #expect(dialogue.received(Array("220-first\r\n220 ready".utf8), eof: false) == .more)
        #expect(dialogue.received(Array("\r\n".utf8), eof: false) == .send(Array("HELO me.test\r\n".utf8)))
        #expect(
            dialogue.received(Array("250 ok\r\n".utf8), eof: false)
                == .finish(.success(), farewell: Array("QUIT\r\n".utf8)))
        var refused = SMTPDialogue(heloName: "me.test", label: "S")
        #expect(
            refused.received(Array("\u{1}\u{2}garbage\n".utf8), eof: false)
                == .finish(.failure("S: bad reply \"\u{1}\u{2}garbage\"")))
        var closed = SMTPDialogue(heloName: "me.test", label: "S")
        #expect(closed.received([], eof: true) == .finish(.failure("S: connection closed before the banner")))
    }

    @Test func udpReplyPattern() {
        let pattern = HexPattern(bytes: [0xab, 0x10], mask: [0xff, 0xf0])
        #expect(UDPDialogue.matches([0xab, 0x1f, 0x99], pattern))
        #expect(UDPDialogue.matches([0xab], pattern))  // up to the shorter
        #expect(!UDPDialogue.matches([0xab, 0x20], pattern))
        var check = UDPCheck()
        check.requiresReply = true
        check.minimumReplyLength = 2
        check.maximumReplyLength = 4
        let dialogue = UDPDialogue(request: [1], check: check, label: "U")
        #expect(dialogue.received([1]) == .failure("U: reply of 1 bytes, expected 2-4"))
        #expect(dialogue.received([1, 2]) == .success())
        #expect(dialogue.timedOut(after: .seconds(1)) == .failure("U: no reply within 1s"))
    }

    @Test func pingReplyMatching() {
        let dialogue = PingDialogue(family: .ipv4, sequence: 0x0102, payload: [9, 9], label: "P")
        #expect(dialogue.request == [8, 0, 0, 0, 0, 0, 1, 2, 9, 9])
        #expect(dialogue.received([0, 0, 0xaa, 0xbb, 0x33, 0x44, 1, 2, 9, 9]) == .success())
        #expect(dialogue.received([0, 0, 0xaa, 0xbb, 0x33, 0x44, 1, 3, 9, 9]) == nil)  // another sequence
        #expect(dialogue.received([8, 0, 0, 0, 0, 0, 1, 2, 9, 9]) == nil)  // not a reply
        #expect(dialogue.received([0, 0]) == nil)
        #expect(PingDialogue(family: .ipv6, sequence: 1, payload: [], label: "P").request.first == 128)
    }

    @Test func fileValues() {
        #expect(FileProbe.parseValue(" 42\n") == 42)
        #expect(FileProbe.parseValue("-7 trailing") == -7)
        #expect(FileProbe.parseValue("+3") == 3)
        #expect(FileProbe.parseValue("x1") == nil)
        #expect(FileProbe.parseValue("99999999999999") == nil)
    }
}

/// A script runner that answers from a table, to check MISC_CHECK's exit-status rules.
struct FakeScripts: ProbeScriptRunning {
    let result: ProbeScriptResult

    func runCheckScript(_ command: ScriptCommand, timeout: Duration?, on loop: any EventLoop)
        -> EventLoopFuture<ProbeScriptResult>
    {
        loop.makeSucceededFuture(result)
    }
}

@Suite struct ProbeMiscTests {
    func outcome(_ result: ProbeScriptResult, dynamic: Bool) throws -> ProbeOutcome {
        var misc = MiscCheck(path: "/bin/check --x")
        misc.dynamic = dynamic
        misc.timeout = .seconds(2)
        let probe = HealthProbes.make(
            checker: ProbeFixtures.checker(.misc(misc)), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton,
            scripts: FakeScripts(result: result), sslContext: nil)
        return try probe.run(on: Live.loop).wait()
    }

    @Test func exitStatusRules() throws {
        #expect(try outcome(.exited(0), dynamic: false) == .success())
        #expect(try outcome(.exited(3), dynamic: false) == .failure("MISC_CHECK /bin/check --x: exit status 3"))
        #expect(try outcome(.exited(0), dynamic: true) == .success())
        #expect(try outcome(.exited(1), dynamic: true) == .failure("MISC_CHECK /bin/check --x: exit status 1"))
        #expect(try outcome(.exited(12), dynamic: true) == .success(weight: 10))
        #expect(try outcome(.exited(255), dynamic: true) == .success(weight: 253))
        #expect(try outcome(.timedOut, dynamic: true) == .failure("MISC_CHECK /bin/check --x: timed out after 2s"))
        #expect(try outcome(.signalled(9), dynamic: false) == .failure("MISC_CHECK /bin/check --x: killed by signal 9"))
    }

    @Test func noRunnerFailsWithAReason() throws {
        let probe = HealthProbes.make(
            checker: ProbeFixtures.checker(.misc(MiscCheck(path: "/bin/true"))), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton, scripts: nil,
            sslContext: nil)
        #expect(
            try probe.run(on: Live.loop).wait()
                == .failure("MISC_CHECK /bin/true: no script runner"))
    }
}
