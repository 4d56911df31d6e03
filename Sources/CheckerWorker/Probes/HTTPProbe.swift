import Config
import Digest
import NIOCore
import NIOPosix
import NIOSSL

/// HTTP_GET / SSL_GET: every `url` in turn (one connection each, each bounded by `connect_timeout`); all must
/// pass: status within `status_code`, body MD5 equal to `digest`, body matching `regex` (or not, with
/// `regex_no_match`).
struct HTTPProbe: HealthProbe {
    /// One `url { }`, resolved.
    struct URLCheck: Sendable {
        var path: String
        var request: [UInt8]
        var statusCodes: [ClosedRange<Int>]
        var digest: String?
        var regex: CompiledRegex?
    }

    let target: ProbeTarget
    let keyword: String
    let urls: [URLCheck]
    let tls: (context: NIOSSLContext, serverName: String?)?
    /// SSL_GET runs on SwiftNIO (for NIOSSL) on this group, and hops back to the check loop.
    let tlsGroup: (any EventLoopGroup)?
    /// HTTP_GET's socket plan (one connection per url).
    let plan: Result<SocketPlan, ProbeFailure>

    init(
        check: HTTPCheck, secure: Bool, target: ProbeTarget, realServer: RealServer, virtualServer: VirtualServer,
        sslContext: NIOSSLContext?, tlsGroup: (any EventLoopGroup)? = nil
    ) throws {
        self.target = target
        self.tlsGroup = tlsGroup
        plan = SocketPlan.make(target: target, port: target.port, label: .endpoint(secure ? "SSL_GET" : "HTTP_GET"))
        keyword = secure ? "SSL_GET" : "HTTP_GET"
        let defaultPort = secure ? 443 : 80
        let portSuffix = target.port.map { $0 == defaultPort ? "" : ":\($0)" } ?? ""
        let addressHost = target.address.family == .ipv6 ? "[\(target.address)]" : "\(target.address)"
        let checkerHost = check.virtualhost ?? realServer.virtualhost ?? virtualServer.virtualhost
        urls = try check.urls.map { url in
            let host = url.virtualhost ?? checkerHost
            return URLCheck(
                path: url.path,
                request: HTTPProbe.request(
                    path: url.path, host: (host ?? addressHost) + portSuffix, version: check.protocolVersion),
                statusCodes: url.statusCodes, digest: url.digest?.lowercased(),
                regex: try url.regex.map(CompiledRegex.init))
        }
        if secure {
            let context = try sslContext ?? HTTPProbe.unverifiedContext()
            tls = (context, check.enableSNI ? checkerHost : nil)
        } else {
            tls = nil
        }
    }

    /// keepalived's request (check_http.c): `GET path HTTP/1.x`, its User-Agent, `Host`, and for 1.0C/1.1
    /// `Connection: close`.
    static func request(path: String, host: String, version: HTTPCheck.ProtocolVersion) -> [UInt8] {
        let versionText = version == .http11 ? "1.1" : "1.0"
        var text = "GET \(path) HTTP/\(versionText)\r\nUser-Agent: KeepAliveClient\r\nHost: \(host)\r\n"
        if version != .http10 { text += "Connection: close\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// SSL_GET's default: TLS without certificate verification, as keepalived.
    static func unverifiedContext() throws -> NIOSSLContext {
        try sslContext(nil)
    }

    /// SSL_GET's client context from the top-level `SSL { }` block (keepalived's `build_ssl_ctx`): `ca` as the
    /// trust roots, `certificate` (a PEM chain) and `key` (PEM, decrypted with `password`) presented to servers
    /// that ask for a client certificate. As in keepalived, the server's certificate is not verified: the check
    /// is about the service answering, and the `ca` is only offered to the TLS stack.
    /// - Throws: `NIOSSLError`/`BoringSSLError` naming the file that cannot be read or parsed.
    static func sslContext(_ settings: SSLSettings?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        if let settings {
            if let ca = settings.caFile { configuration.trustRoots = .file(ca) }
            if let certificate = settings.certificateFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map {
                    .certificate($0)
                }
            }
            if let key = settings.keyFile {
                if let password = settings.password {
                    let bytes = Array(password.utf8)
                    configuration.privateKey = .privateKey(
                        try NIOSSLPrivateKey(file: key, format: .pem) { setter in setter(bytes) })
                } else {
                    configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                }
            }
        }
        return try NIOSSLContext(configuration: configuration)
    }

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        runURL(at: 0, on: loop)
    }

    private func runURL(at index: Int, on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        guard index < urls.count else { return loop.makeSucceededFuture(.success()) }
        let url = urls[index]
        let label = "\(keyword) \(target.endpointText)\(url.path)"
        let dialogue = HTTPDialogue(url: url, label: label)
        let attempt: EventLoopFuture<ProbeOutcome>
        if let tls {
            let nio = tlsGroup?.next() ?? MultiThreadedEventLoopGroup.singleton.next()
            attempt = StreamExchange.run(dialogue, target: target, label: label, tls: tls, on: nio).hop(to: loop)
        } else {
            switch plan {
            case .failure(let failure): return loop.makeSucceededFuture(.failure(failure.message))
            case .success(let plan): attempt = RawStreamExchange.run(dialogue, plan: plan.relabelled(label), on: loop)
            }
        }
        return attempt.flatMap { outcome in
            outcome.isSuccess ? runURL(at: index + 1, on: loop) : loop.makeSucceededFuture(outcome)
        }
    }
}

/// Sends the request, reads the reply, judges it.
struct HTTPDialogue: StreamDialogue {
    /// A body of `HTTPResponseParser.bodyLimit` (4 MiB) with 1 MiB for its head and chunk framing; segments of a
    /// few hundred bytes at least (a server dripping single bytes is cut off after `maxReads`).
    static let replyLimits = ReplyLimits(maxBytes: 5 << 20, maxReads: 4096)

    let url: HTTPProbe.URLCheck
    let label: String
    private var parser: HTTPResponseParser

    init(url: HTTPProbe.URLCheck, label: String) {
        self.url = url
        self.label = label
        parser = HTTPResponseParser(needBody: url.digest != nil || url.regex != nil)
    }

    var replyLimits: ReplyLimits { Self.replyLimits }

    mutating func connected() -> DialogueStep { .send(url.request) }

    mutating func received(_ bytes: [UInt8], eof: Bool) -> DialogueStep {
        switch parser.feed(bytes[...], eof: eof) {
        case .incomplete: return .more
        case .malformed(let why): return .finish(.failure("\(label): \(why)"))
        case .complete(let status, let body):
            return .finish(HTTPDialogue.judge(status: status, body: body, url: url, label: label))
        }
    }

    /// `digest`'s form: the body's MD5 in lower-case hex.
    static func md5Hex(_ body: [UInt8]) -> String {
        MD5.hex(body)
    }

    static func judge(status: Int, body: [UInt8], url: HTTPProbe.URLCheck, label: String) -> ProbeOutcome {
        guard StatusCodes.accepts(status, url.statusCodes) else { return .failure("\(label): status \(status)") }
        if let digest = url.digest {
            let actual = md5Hex(body)
            guard actual == digest else { return .failure("\(label): digest \(actual), expected \(digest)") }
        }
        if let regex = url.regex, !regex.passes(body) {
            return .failure(
                "\(label): body \(regex.failOnMatch ? "matches" : "does not match") regex \(regex.pattern)\(regex.offsetsText)"
            )
        }
        return .success()
    }
}

/// `status_code` logic: a code passes when any range holds it.
enum StatusCodes {
    static func accepts(_ status: Int, _ ranges: [ClosedRange<Int>]) -> Bool {
        ranges.contains { $0.contains(status) }
    }
}

/// `regex`, compiled once (Swift's regular expressions, close to the PCRE2 keepalived uses). PCRE2's `caseless`,
/// `multiline`, `dotall` and `extended` options are honoured; the others are warned at their line by `vigild -t`.
///
/// `regex_min_offset` and `regex_max_offset` bound where a match may start, in bytes of the body, both included
/// (keepalived: the search starts at the minimum; a match starting after the maximum does not count, one starting
/// at or before it may run past it). The search sees the body from the minimum on: there `^` matches and a
/// look-behind sees nothing before it (PCRE2 would look back across it).
struct CompiledRegex: @unchecked Sendable {
    // `Regex` holds no mutable state once built; it is shared read-only by the checks that use it.
    let pattern: String
    let failOnMatch: Bool
    let minimumOffset: Int
    let maximumOffset: Int?
    private let expression: Regex<AnyRegexOutput>

    init(_ regex: HTTPRegex) throws {
        pattern = regex.pattern
        failOnMatch = regex.failOnMatch
        minimumOffset = regex.minimumOffset ?? 0
        maximumOffset = regex.maximumOffset
        var expression = try Regex(regex.options.contains("extended") ? "(?x)" + regex.pattern : regex.pattern)
        if regex.options.contains("caseless") { expression = expression.ignoresCase() }
        if regex.options.contains("multiline") { expression = expression.anchorsMatchLineEndings() }
        if regex.options.contains("dotall") { expression = expression.dotMatchesNewlines() }
        self.expression = expression
    }

    func passes(_ body: [UInt8]) -> Bool {
        matches(body) != failOnMatch
    }

    /// ` starting at bytes 10-200` when offsets bound the match (for failure reasons), else empty.
    var offsetsText: String {
        switch (minimumOffset, maximumOffset) {
        case (0, nil): ""
        case (let minimum, nil): " starting at byte \(minimum) or later"
        case (let minimum, let maximum?): " starting at bytes \(minimum)-\(maximum)"
        }
    }

    /// Whether a match starts within the offsets.
    func matches(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self)
        guard minimumOffset > 0 || maximumOffset != nil else { return (try? expression.firstMatch(in: text)) != nil }
        // Byte offsets into the body (exact for UTF-8; an invalid sequence decodes to U+FFFD and shifts them).
        let bytes = text.utf8
        guard var start = bytes.index(bytes.startIndex, offsetBy: minimumOffset, limitedBy: bytes.endIndex) else {
            return false
        }
        // Inside a character's bytes: start at the next whole one.
        while start < bytes.endIndex, start.samePosition(in: text.unicodeScalars) == nil {
            start = bytes.index(after: start)
        }
        guard let match = try? expression.firstMatch(in: Substring(text.unicodeScalars[start...])) else { return false }
        // The leftmost match from the minimum: when it starts past the maximum, none starts within.
        guard let maximumOffset else { return true }
        return bytes.distance(from: bytes.startIndex, to: match.range.lowerBound) <= maximumOffset
    }
}
