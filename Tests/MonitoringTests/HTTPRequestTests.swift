import Testing

@testable import Monitoring

@Suite("HTTP request heads")
struct HTTPRequestTests {
    func parse(_ text: String) -> HTTPRequestParser.Result { HTTPRequestParser.parse(Array(text.utf8)) }

    @Test("A GET with CRLF lines; the query is not part of the path")
    func get() {
        let text = "GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9165\r\nAccept: */*\r\n\r\n"
        #expect(
            parse(text)
                == .request(HTTPRequestHead(method: "GET", path: "/metrics"), consumed: text.utf8.count))
    }

    @Test("Keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive")
    func keepAlive() {
        let close = parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n")
        #expect(close == .request(HTTPRequestHead(method: "GET", path: "/", keepAlive: false), consumed: 46))
        guard case .request(let old, _) = parse("GET / HTTP/1.0\r\n\r\n"), !old.keepAlive,
            case .request(let kept, _) = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), kept.keepAlive
        else {
            Issue.record("HTTP/1.0 keep-alive")
            return
        }
    }

    @Test("Bare LF line ends and leading empty lines are accepted")
    func lenient() {
        guard case .request(let head, let consumed) = parse("\r\n\nHEAD /status.json HTTP/1.1\nHost: x\n\n") else {
            Issue.record("not parsed")
            return
        }
        #expect(head.method == "HEAD" && head.path == "/status.json" && consumed == 39)
    }

    @Test("Incomplete until the empty line; two pipelined requests are read one at a time")
    func incompleteAndPipelined() {
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("") == .incomplete)
        let first = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        let both = first + "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        guard case .request(let head, let consumed) = parse(both) else {
            Issue.record("not parsed")
            return
        }
        #expect(head.path == "/metrics" && consumed == first.utf8.count)
        guard case .request(let second, _) = HTTPRequestParser.parse(Array(both.utf8).dropFirst(consumed)) else {
            Issue.record("second not parsed")
            return
        }
        #expect(second.path == "/")
    }

    @Test(
        "Bad requests are refused with the status that says why",
        arguments: [
            ("GET /metrics HTTP/1.1\r\n\r\n", HTTPStatus.badRequest),
            ("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", .versionNotSupported),
            ("GET /metrics\r\n\r\n", .badRequest),
            ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
            ("GET / HTTP/1.1\r\nHost x\r\n\r\n", .badRequest),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", .contentTooLarge),
            ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", .contentTooLarge),
        ])
    func refused(_ text: String, _ status: HTTPStatus) {
        guard case .invalid(let error) = parse(text) else {
            Issue.record("accepted: \(text)")
            return
        }
        #expect(error.status == status)
    }

    @Test("A head is bounded: 8 KiB, 64 header lines; a longer one is refused before its end arrives")
    func bounded() {
        let long = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 9000)
        guard case .invalid(let error) = parse(long) else {
            Issue.record("accepted a head larger than 8 KiB")
            return
        }
        #expect(error.status == .headersTooLarge)
        let many = "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X: y\r\n", count: 65) + "\r\n"
        #expect(parse(many) == .invalid(HTTPRequestError(.headersTooLarge, "more than 64 header lines")))
    }

    @Test("Only GET and HEAD of three paths are served")
    func routes() {
        #expect(MonitoringEndpoint.route(HTTPRequestHead(method: "GET", path: "/metrics")) == .page(.metrics))
        #expect(MonitoringEndpoint.route(HTTPRequestHead(method: "HEAD", path: "/")) == .page(.statusPage))
        #expect(MonitoringEndpoint.route(HTTPRequestHead(method: "GET", path: "/status.json")) == .page(.statusJSON))
        guard case .response(let missing) = MonitoringEndpoint.route(HTTPRequestHead(method: "GET", path: "/x")),
            case .response(let post) = MonitoringEndpoint.route(HTTPRequestHead(method: "POST", path: "/metrics")),
            case .response(let delete) = MonitoringEndpoint.route(HTTPRequestHead(method: "DELETE", path: "/"))
        else {
            Issue.record("routed")
            return
        }
        #expect(missing.status == .notFound)
        #expect(post.status == .methodNotAllowed && delete.status == .methodNotAllowed)
        #expect(post.headers.contains { $0.0 == "Allow" && $0.1 == "GET, HEAD" })
    }

    @Test("A response: status line, length, no-store; HEAD leaves the body out")
    func response() {
        let response = HTTPResponse(.ok, contentType: "text/plain", body: Array("hi".utf8))
        #expect(
            String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nCache-Control: no-store\r\n"
                + "X-Content-Type-Options: nosniff\r\nConnection: keep-alive\r\n\r\nhi")
        let head = String(decoding: response.serialized(keepAlive: false, omitBody: true), as: UTF8.self)
        #expect(
            head.hasSuffix(
                "Content-Length: 2\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
            ))
    }
}
