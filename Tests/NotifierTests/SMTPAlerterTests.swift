import Config
import NIOCore
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal SMTP server on 127.0.0.1 that records the conversation.
final class RecordingSMTPServer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let transcript: Transcript
    let refuseRecipients: Bool
    private var pending: [UInt8] = []
    private var inData = false

    init(transcript: Transcript, refuseRecipients: Bool) {
        self.transcript = transcript
        self.refuseRecipients = refuseRecipients
    }

    func channelActive(context: ChannelHandlerContext) {
        reply(context, "220-ntf test server\r\n220 ready")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline].filter { $0 != 13 }, as: UTF8.self)
            pending.removeFirst(newline + 1)
            transcript.lines.withLock { $0.append(line) }
            if inData {
                if line == "." {
                    inData = false
                    reply(context, "250 queued")
                }
                continue
            }
            switch line.prefix(4).uppercased() {
            case "HELO", "MAIL": reply(context, "250 ok")
            case "RCPT": reply(context, refuseRecipients ? "550 no such user" : "250 ok")
            case "DATA":
                inData = true
                reply(context, "354 go ahead")
            case "QUIT":
                reply(context, "221 bye")
                context.close(promise: nil)
            default: reply(context, "500 what")
            }
        }
    }

    private func reply(_ context: ChannelHandlerContext, _ text: String) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text + "\r\n")), promise: nil)
    }
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct SMTPAlerterTests {
    let group = MultiThreadedEventLoopGroup.singleton

    /// A TCP socket bound to a free loopback port and not listening, and the port.
    static func boundNotListening() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw IOError(errnoCode: errno, reason: "bind") }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func startServer(refuse: Bool = false) async throws -> (Channel, Transcript) {
        let transcript = Transcript()
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        RecordingSMTPServer(transcript: transcript, refuseRecipients: refuse))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel, transcript)
    }

    func settings(port: Int, timeout: Duration = .seconds(5)) -> GlobalDefs {
        var settings = GlobalDefs()
        settings.smtpServer = SMTPServer(host: "127.0.0.1", port: port)
        settings.notificationEmail = ["ops@example.org", "oncall@example.org"]
        settings.notificationEmailFrom = "vigil@lb1.example.org"
        settings.smtpConnectTimeout = timeout
        return settings
    }

    @Test func sendsAFullConversation() async throws {
        let (server, transcript) = try await startServer()
        defer { server.close(promise: nil) }
        let log = CapturedLog()
        let alerter = SMTPAlerter(
            settings: settings(port: server.localAddress!.port!), hostName: "lb1", logger: log.logger)
        try await alerter.send(
            subject: "[lb1] VRRP Instance VI_1 - Entering MASTER state", body: "=> now master <=\n.dot",
            on: group.next()
        ).get()
        try await Task.sleep(for: .milliseconds(50))
        let lines = transcript.lines.withLock { $0 }
        #expect(
            Array(lines.prefix(5)) == [
                "HELO lb1", "MAIL FROM:<vigil@lb1.example.org>", "RCPT TO:<ops@example.org>",
                "RCPT TO:<oncall@example.org>", "DATA",
            ])
        #expect(lines.contains { $0.hasPrefix("Date: ") && $0.hasSuffix("+0000") })
        #expect(lines.contains("From: vigil@lb1.example.org"))
        #expect(lines.contains("Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state"))
        #expect(lines.contains("To: ops@example.org, oncall@example.org"))
        #expect(lines.contains("X-Mailer: Keepalived"))
        #expect(lines.contains("=> now master <="))
        #expect(lines.contains("..dot"))
        #expect(Array(lines.suffix(2)) == [".", "QUIT"])
        #expect(log.all.contains { $0.contains("sent to 127.0.0.1") })
    }

    @Test func refusalIsLoggedNotThrown() async throws {
        let (server, _) = try await startServer(refuse: true)
        defer { server.close(promise: nil) }
        let log = CapturedLog()
        let alerter = SMTPAlerter(
            settings: settings(port: server.localAddress!.port!), hostName: "lb1", logger: log.logger)
        try await alerter.send(subject: "s", body: "b", on: group.next()).get()
        #expect(log.all.contains { $0.contains("refused RCPT TO:<ops@example.org>") && $0.contains("550") })
    }

    @Test func serverDownCompletesAndLogs() async throws {
        // A port nobody listens on and nobody else can take while the test runs (a listener closed for the test
        // frees its port for the tests running beside it): bound, never listening, so a connect is refused.
        let (holder, port) = try Self.boundNotListening()
        defer { close(holder) }
        let log = CapturedLog()
        let alerter = SMTPAlerter(
            settings: settings(port: port, timeout: .seconds(2)), hostName: "lb1", logger: log.logger)
        // It completes (no hang) and says why.
        try await alerter.send(subject: "s", body: "b", on: group.next()).get()
        #expect(log.all.contains { $0.contains("cannot connect") })
    }

    @Test func silentServerTimesOut() async throws {
        // Accepts but never says a word: the conversation limit closes it.
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let log = CapturedLog()
        let alerter = SMTPAlerter(
            settings: settings(port: channel.localAddress!.port!, timeout: .milliseconds(300)), hostName: "lb1",
            logger: log.logger)
        try await alerter.send(subject: "s", body: "b", on: group.next()).get()
        #expect(log.all.contains { $0.contains("timed out") })
    }

    @Test func nothingConfiguredSendsNothing() async throws {
        let alerter = SMTPAlerter(settings: GlobalDefs(), hostName: "lb1", logger: CapturedLog().logger)
        try await alerter.send(subject: "s", body: "b", on: group.next()).get()
    }
}

/// What the test server received, line by line.
final class Transcript: Sendable {
    let lines = Mutex<[String]>([])
}
