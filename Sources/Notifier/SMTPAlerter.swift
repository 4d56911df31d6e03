import Config
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// `smtp_alert`: sends one mail per call to `smtp_server` over SwiftNIO, never blocking the loop.
///
/// The envelope sender is `notification_email_from` (default `keepalived@HOSTNAME`), the recipients
/// `notification_email`, the HELO name `smtp_helo_name` (default the host name). Connecting and the whole
/// conversation are each limited to `smtp_connect_timeout`. Failures are logged, never thrown: the
/// returned future always succeeds, like keepalived's fire-and-forget alerts.
public final class SMTPAlerter: Sendable {
    private let server: SMTPServer?
    private let heloName: String
    private let from: String
    private let recipients: [String]
    private let timeout: Duration
    private let logger: Logger

    public init(settings: GlobalDefs, hostName: String, logger: Logger) {
        server = settings.smtpServer
        heloName = settings.smtpHeloName ?? hostName
        from = settings.notificationEmailFrom ?? "keepalived@\(hostName)"
        recipients = settings.notificationEmail
        timeout = settings.smtpConnectTimeout
        self.logger = logger
    }

    /// Sends `subject` and `body` to every `notification_email` address; completes when the server
    /// accepted the mail, refused it, or could not be reached (each logged).
    public func send(subject: String, body: String, on loop: any EventLoop) -> EventLoopFuture<Void> {
        guard let server, !recipients.isEmpty else {
            logger.debug("smtp alert '\(subject)' not sent: no smtp_server or notification_email")
            return loop.makeSucceededVoidFuture()
        }
        let message = SMTPMessage.render(
            from: from, to: recipients, subject: subject, date: Self.rfc5322Date(), body: body)
        let conversation = SMTPConversation(
            heloName: heloName, from: from, recipients: recipients, message: message)
        let done = loop.makePromise(of: Bool.self)
        let logger = self.logger
        let timeout = TimeAmount(self.timeout)
        let target = "\(server.host):\(server.port)"
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SMTPClientHandler(conversation: conversation, done: done, logger: logger, target: target))
                }
            }
            .connect(host: server.host, port: server.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    // The whole conversation gets the same limit as the connect.
                    let deadline = channel.eventLoop.scheduleTask(in: timeout) {
                        logger.error("smtp alert to \(target): timed out")
                        channel.close(promise: nil)
                    }
                    done.futureResult.whenComplete { _ in deadline.cancel() }
                case .failure(let error):
                    logger.error("smtp alert to \(target): cannot connect: \(error)")
                    done.succeed(false)
                }
            }
        return done.futureResult.map { delivered in
            if delivered { logger.info("smtp alert '\(subject)' sent to \(target)") }
        }
    }

    /// Now as an RFC 5322 date in UTC (`Tue, 24 Nov 2026 22:56:43 +0000`).
    static func rfc5322Date() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S +0000", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Feeds reply lines to an `SMTPConversation` and writes what it answers.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var conversation: SMTPConversation
    private let done: EventLoopPromise<Bool>
    private let logger: Logger
    private let target: String
    private var pending: [UInt8] = []
    private var failure: String?

    init(conversation: SMTPConversation, done: EventLoopPromise<Bool>, logger: Logger, target: String) {
        self.conversation = conversation
        self.done = done
        self.logger = logger
        self.target = target
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        if pending.count > 64 * 1024 {
            failure = "reply too long"
            context.close(promise: nil)
            return
        }
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(pending[..<newline])
            pending.removeFirst(newline + 1)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            switch conversation.receive(line: String(decoding: line, as: UTF8.self)) {
            case .send(let text):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
            case .wait:
                continue
            case .finished:
                context.close(promise: nil)
                return
            case .failed(let reason):
                failure = reason
                context.close(promise: nil)
                return
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let failure {
            logger.error("smtp alert to \(target): \(failure)")
        } else if !conversation.delivered {
            logger.error("smtp alert to \(target): connection closed before the mail was accepted")
        }
        done.succeed(conversation.delivered)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure = "\(error)"
        context.close(promise: nil)
    }
}
