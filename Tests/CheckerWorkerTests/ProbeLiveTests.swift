import Config
import Foundation
import NIOCore
import NIOPosix
import Notifier
import Synchronization
import Testing

@testable import CheckerWorker

/// A real TCP server on loopback: writes `greeting` on connect, then answers what `respond` says to the bytes
/// received so far (`close` ends the connection after the answer).
final class CannedTCPServer: Sendable {
    typealias Responder = @Sendable ([UInt8]) -> (reply: [UInt8], close: Bool)?
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(port: Int? = nil, greeting: [UInt8] = [], respond: @escaping Responder) throws {
        channel = try Self.listen(port: port) { Handler(greeting: greeting, respond: respond) }
    }

    /// A listening socket on loopback whose connections each get a handler from `makeHandler`.
    static func listen(port: Int? = nil, makeHandler: @escaping @Sendable () -> any ChannelHandler) throws
        -> any Channel
    {
        try TestPorts.bind(port) { port in
            try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(makeHandler()) }
                }
                .bind(host: "127.0.0.1", port: port).wait()
        }
    }

    func stop() throws { try channel.close().wait() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let greeting: [UInt8]
        let respond: Responder
        var received: [UInt8] = []

        init(greeting: [UInt8], respond: @escaping Responder) {
            self.greeting = greeting
            self.respond = respond
        }

        func channelActive(context: ChannelHandlerContext) {
            if !greeting.isEmpty {
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting)), promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(unwrapInboundIn(data).readableBytesView)
            guard let answer = respond(received) else { return }
            received = []
            let write = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: answer.reply)))
            if answer.close { write.whenComplete { _ in context.close(promise: nil) } }
        }
    }
}

/// A real UDP server on loopback answering each datagram with `respond(datagram)` (nothing when `nil`), `replies`
/// times over (a flood).
final class CannedUDPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(port: Int? = nil, replies: Int = 1, respond: @escaping @Sendable ([UInt8]) -> [UInt8]?) throws {
        channel = try TestPorts.bind(port) { port in
            try DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Handler(replies: replies, respond: respond))
                    }
                }
                .bind(host: "127.0.0.1", port: port).wait()
        }
    }

    func stop() throws { try channel.close().wait() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let replies: Int
        let respond: @Sendable ([UInt8]) -> [UInt8]?

        init(replies: Int, respond: @escaping @Sendable ([UInt8]) -> [UInt8]?) {
            self.replies = replies
            self.respond = respond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let reply = respond(Array(envelope.data.readableBytesView)) else { return }
            for _ in 0..<replies {
                let out = AddressedEnvelope(
                    remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))
                context.write(wrapOutboundOut(out), promise: nil)
            }
            context.flush()
        }
    }
}

/// Test servers listen below the ephemeral range (32768+): a probe to a stopped server on an ephemeral port
/// could otherwise pick that very port as its source and connect to itself (TCP simultaneous open).
///
/// Each port is handed out once per process, in turn from a random start: a test that stops its server to see
/// "connection refused" and then listens on the same port again must find it free, which a random draw by a test
/// running in parallel could take in between.
enum TestPorts {
    static let range = 20000..<30000
    private static let next = Mutex(Int.random(in: range))

    /// The next port no other test of this process was given.
    static func fresh() -> Int {
        next.withLock { port in
            defer { port = port + 1 == range.upperBound ? range.lowerBound : port + 1 }
            return port
        }
    }

    static func bind(_ port: Int?, _ body: (Int) throws -> any Channel) throws -> any Channel {
        if let port { return try body(port) }
        var lastError: (any Error)?
        for _ in 0..<50 {
            do { return try body(fresh()) } catch { lastError = error }
        }
        throw lastError!
    }
}

enum Live {
    static let loop = CheckLoop(name: "probe-tests")

    static func probe(_ kind: CheckerKind, port: Int?, address: String = "127.0.0.1", timeout: Duration = .seconds(1))
        -> any HealthProbe
    {
        HealthProbes.make(
            checker: ProbeFixtures.checker(kind, timeout: timeout),
            realServer: ProbeFixtures.realServer(address, port: port), virtualServer: ProbeFixtures.virtualServer(),
            group: MultiThreadedEventLoopGroup.singleton, scripts: nil, sslContext: nil)
    }

    static func run(_ probe: any HealthProbe) throws -> ProbeOutcome { try probe.run(on: loop).wait() }

    static func httpResponder(_ response: String) -> CannedTCPServer.Responder {
        { received in
            HTTPResponseParser.find([13, 10, 13, 10], in: received, from: 0) == nil
                ? nil : (Array(response.utf8), true)
        }
    }

    /// After a server's `stop()`: waits (2 s at most) until a connect to `port` on loopback is refused, so what a probe
    /// sees next is a closed port, not the last moments of the server's socket (a loaded machine, ThreadSanitizer).
    static func waitUntilRefused(_ port: Int) {
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let code = errno
            close(fd)
            if result != 0 && code == ECONNREFUSED { return }
            usleep(10_000)
        }
    }

    /// Runs `probe` until its failure names an ICMP port unreachable, at most 5 times: the kernel sends ICMP errors
    /// under a host-wide budget (`net.ipv4.icmp_msgs_per_sec`), which the tests running beside this one can spend,
    /// and a probe that got none says "no reply" or, a plain UDP_CHECK, succeeds (each seen once in a full parallel
    /// run).
    static func runUntilUnreachable(_ probe: any HealthProbe) throws -> ProbeOutcome {
        var outcome = try run(probe)
        for _ in 1..<5 {
            // A lost ICMP error is silence: a failure of another kind for the DNS check and require_reply, a success
            // for a plain UDP_CHECK.
            if case .failure(let reason) = outcome, reason.contains("port unreachable") { break }
            outcome = try run(probe)
        }
        return outcome
    }

    static func expectFailure(
        _ outcome: ProbeOutcome, containing text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        guard case .failure(let reason) = outcome else {
            Issue.record("expected a failure, got \(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
    }
}

@Suite(.serialized) struct ProbeLiveTests {
    @Test func tcpCheckUpDownUp() throws {
        var server = try CannedTCPServer { _ in nil }
        let port = server.port
        let probe = Live.probe(.tcp, port: port)
        #expect(try Live.run(probe) == .success())
        try server.stop()
        Live.waitUntilRefused(port)
        Live.expectFailure(try Live.run(probe), containing: "TCP_CHECK 127.0.0.1:\(port): connection refused")
        server = try CannedTCPServer(port: port) { _ in nil }
        #expect(try Live.run(probe) == .success())
        try server.stop()
    }

    @Test func httpGetStatusDigestAndDown() throws {
        let body = "hello vigil\n"
        var server = try CannedTCPServer(
            respond: Live.httpResponder("HTTP/1.0 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
        let port = server.port
        var check = HTTPCheck()
        var url = HTTPURL(path: "/health", location: ProbeFixtures.location)
        url.digest = "5a1a6e1d0cb4aa0d2b8d7b6b1c1f3b53"  // wrong on purpose first
        check.urls = [url]
        Live.expectFailure(try Live.run(Live.probe(.http(check), port: port)), containing: "/health: digest ")
        url.digest = Insecure_MD5Hex.of(body)
        check.urls = [url]
        let probe = Live.probe(.http(check), port: port)
        #expect(try Live.run(probe) == .success())
        try server.stop()
        Live.waitUntilRefused(port)
        Live.expectFailure(try Live.run(probe), containing: "HTTP_GET 127.0.0.1:\(port)/health: connection refused")
        server = try CannedTCPServer(port: port, respond: Live.httpResponder("HTTP/1.1 503 Busy\r\n\r\n"))
        Live.expectFailure(try Live.run(probe), containing: "HTTP_GET 127.0.0.1:\(port)/health: status 503")
        try server.stop()
        server = try CannedTCPServer(port: port, respond: Live.httpResponder("SSH-2.0-OpenSSH\r\n\r\n"))
        Live.expectFailure(try Live.run(probe), containing: "/health: not an HTTP reply")
        try server.stop()
    }

    @Test func httpGetTimesOutOnASilentServer() throws {
        let server = try CannedTCPServer { _ in nil }  // accepts, never answers
        var check = HTTPCheck()
        check.urls = [HTTPURL(path: "/", location: ProbeFixtures.location)]
        let start = ContinuousClock.now
        Live.expectFailure(try Live.run(Live.probe(.http(check), port: server.port)), containing: "timed out after 1s")
        let elapsed = ContinuousClock.now - start
        // Not before the timeout; "timed out after 1s" says it was the timeout that ended it.
        #expect(elapsed >= .milliseconds(900))
        try server.stop()
    }

    @Test func smtpCheckDialogue() throws {
        let responder: CannedTCPServer.Responder = { received in
            let text = String(decoding: received, as: UTF8.self)
            guard text.hasSuffix("\r\n") else { return nil }
            if text.hasPrefix("HELO ") { return (Array("250-hi\r\n250 ok\r\n".utf8), false) }
            if text.hasPrefix("QUIT") { return (Array("221 bye\r\n".utf8), true) }
            return (Array("500 what\r\n".utf8), false)
        }
        var server = try CannedTCPServer(greeting: Array("220 mx ESMTP\r\n".utf8), respond: responder)
        let port = server.port
        let probe = Live.probe(.smtp(SMTPCheck()), port: port)
        #expect(try Live.run(probe) == .success())
        try server.stop()
        Live.expectFailure(try Live.run(probe), containing: "SMTP_CHECK 127.0.0.1:\(port): connection refused")
        server = try CannedTCPServer(port: port, greeting: Array("554 go away\r\n".utf8), respond: responder)
        Live.expectFailure(try Live.run(probe), containing: "banner 554")
        try server.stop()
        server = try CannedTCPServer(port: port, greeting: Array("220 mx\r\n".utf8), respond: responder)
        #expect(try Live.run(probe) == .success())
        try server.stop()
    }

    @Test func dnsCheckAgainstAResponder() throws {
        let rcode = Shared(UInt8(0))
        let answer: @Sendable ([UInt8]) -> [UInt8]? = { query in
            guard query.count >= 12 else { return nil }
            var reply = query
            reply[2] = 0x81
            reply[3] = 0x80 | rcode.value.withLock { $0 }
            return reply
        }
        var server = try CannedUDPServer(respond: answer)
        let port = server.port
        let probe = Live.probe(.dns(DNSCheck()), port: port)
        #expect(try Live.run(probe) == .success())
        rcode.value.withLock { $0 = 2 }
        Live.expectFailure(try Live.run(probe), containing: "RCODE SERVFAIL")
        try server.stop()
        Live.expectFailure(try Live.runUntilUnreachable(probe), containing: "port unreachable")
        rcode.value.withLock { $0 = 0 }
        server = try CannedUDPServer(port: port, respond: answer)
        #expect(try Live.run(probe) == .success())
        try server.stop()
        let silent = try CannedUDPServer { _ in nil }
        Live.expectFailure(
            try Live.run(Live.probe(.dns(DNSCheck()), port: silent.port)), containing: "no reply within 1s")
        try silent.stop()
    }

    @Test func udpCheckWithAndWithoutReply() throws {
        var server = try CannedUDPServer { $0 }  // echo
        let port = server.port
        var check = UDPCheck()
        check.payload = [0xab, 0x12, 0x0f]
        let plain = Live.probe(.udp(check), port: port)
        check.requiresReply = true
        check.requireReply = HexPattern(bytes: [0xab, 0x10], mask: [0xff, 0xf0])
        let strict = Live.probe(.udp(check), port: port)
        #expect(try Live.run(plain) == .success())
        #expect(try Live.run(strict) == .success())
        try server.stop()
        Live.expectFailure(
            try Live.runUntilUnreachable(plain), containing: "UDP_CHECK 127.0.0.1:\(port): port unreachable")
        server = try CannedUDPServer(port: port) { _ in [0xcd] }
        Live.expectFailure(try Live.run(strict), containing: "does not match")
        try server.stop()
        server = try CannedUDPServer(port: port) { _ in nil }
        #expect(try Live.run(plain) == .success())  // silence is fine without require_reply
        Live.expectFailure(try Live.run(strict), containing: "no reply")
        try server.stop()
    }

    @Test func miscCheckRunsRealPrograms() throws {
        let runner = ScriptRunner(
            identity: ScriptIdentity(uid: geteuid(), gid: getegid(), userName: "self"), logger: .init(label: "test"))
        func run(_ path: String, dynamic: Bool = false, timeout: Duration = .seconds(5)) throws -> ProbeOutcome {
            var misc = MiscCheck(path: path)
            misc.dynamic = dynamic
            misc.timeout = timeout
            return try Live.run(
                HealthProbes.make(
                    checker: ProbeFixtures.checker(.misc(misc)), realServer: ProbeFixtures.realServer(),
                    virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton,
                    scripts: runner, sslContext: nil))
        }
        #expect(try run("/bin/true") == .success())
        Live.expectFailure(try run("/bin/false"), containing: "MISC_CHECK /bin/false: exit status 1")
        #expect(try run("/bin/sh -c 'exit 12'", dynamic: true) == .success(weight: 10))
        Live.expectFailure(try run("/bin/sh -c 'exit 12'"), containing: "exit status 12")
        Live.expectFailure(try run("/bin/sleep 10", timeout: .seconds(1)), containing: "timed out after 1s")
        Live.expectFailure(try run("/nonexistent/prb-check"), containing: "not found")
    }

    @Test(.enabled(if: geteuid() == 0, "switches user")) func miscCheckRunsAsItsUser() throws {
        let runner = ScriptRunner(identity: .root, logger: .init(label: "test"))
        var misc = MiscCheck(path: "/bin/sh -c 'test $(id -u) = 65534'")
        misc.user = ScriptUser(user: "nobody")
        misc.timeout = .seconds(5)
        var checker = ProbeFixtures.checker(.misc(misc))
        #expect(
            try Live.run(
                HealthProbes.make(
                    checker: checker, realServer: ProbeFixtures.realServer(),
                    virtualServer: ProbeFixtures.virtualServer(),
                    group: MultiThreadedEventLoopGroup.singleton, scripts: runner, sslContext: nil)) == .success())
        misc.user = nil
        checker = ProbeFixtures.checker(.misc(misc))
        Live.expectFailure(
            try Live.run(
                HealthProbes.make(
                    checker: checker, realServer: ProbeFixtures.realServer(),
                    virtualServer: ProbeFixtures.virtualServer(),
                    group: MultiThreadedEventLoopGroup.singleton, scripts: runner, sslContext: nil)),
            containing: "exit status 1")
    }

    @Test func fileCheckReadsTheTrackedFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prb-file-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var check = FileCheck(trackFile: "tf")
        check.dynamic = true
        check.weight = 2
        var trackFile = TrackFile(name: "tf", location: ProbeFixtures.location)
        trackFile.file = path
        let probe = HealthProbes.make(
            checker: ProbeFixtures.checker(.file(check)), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton, scripts: nil,
            sslContext: nil, trackFiles: [trackFile])
        #expect(try Live.run(probe) == .success(weight: 1))  // missing: 0, the weight stays 1
        try "5\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Live.run(probe) == .success(weight: 11))
        try "-1\n".write(toFile: path, atomically: true, encoding: .utf8)
        Live.expectFailure(try Live.run(probe), containing: "makes the weight -1")
        try "junk".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Live.run(probe) == .success(weight: 1))  // no number: 0
        check.weight = 0
        let upDown = HealthProbes.make(
            checker: ProbeFixtures.checker(.file(check)), realServer: ProbeFixtures.realServer(),
            virtualServer: ProbeFixtures.virtualServer(), group: MultiThreadedEventLoopGroup.singleton, scripts: nil,
            sslContext: nil, trackFiles: [trackFile])
        #expect(try Live.run(upDown) == .success())
        try "3".write(toFile: path, atomically: true, encoding: .utf8)
        Live.expectFailure(try Live.run(upDown), containing: "FILE_CHECK tf: value 3")
    }
}

enum Insecure_MD5Hex {
    static func of(_ text: String) -> String {
        HTTPDialogue.md5Hex(Array(text.utf8))
    }
}

/// A value shared with a server's handler.
final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}
