import Config
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// What a stream dialogue does next.
enum DialogueStep: Equatable {
    /// Wait for more bytes.
    case more
    /// Write these bytes and wait for more.
    case send([UInt8])
    /// The check is decided; write `farewell` (if any), then close.
    case finish(ProbeOutcome, farewell: [UInt8] = [])
}

/// What one check may receive before it fails: a hostile real server cannot keep a check reading (and the
/// checker's loop busy) for its whole timeout, whatever it sends.
struct ReplyLimits: Hashable, Sendable {
    /// Bytes of reply, all reads together.
    var maxBytes: Int
    /// Reads, i.e. pieces the stack handed up: each costs a turn of the loop, so a server dripping one byte per
    /// segment is cut off here rather than by the byte count.
    var maxReads: Int

    /// Dialogues that expect a few short replies (SMTP): keepalived reads SMTP into a 512-byte buffer.
    static let short = ReplyLimits(maxBytes: 64 << 10, maxReads: 256)
}

/// The protocol side of a TCP (or TLS) check, pure: it sees bytes and says what to do.
protocol StreamDialogue: Sendable {
    /// The bounds on the reply; `ReplyLimits.short` unless the dialogue says otherwise.
    var replyLimits: ReplyLimits { get }
    /// The connection is up (for TLS: the handshake is under way; writes wait for it).
    mutating func connected() -> DialogueStep
    /// More bytes arrived; `eof` when the peer closed (then `bytes` is empty).
    mutating func received(_ bytes: [UInt8], eof: Bool) -> DialogueStep
}

extension StreamDialogue {
    var replyLimits: ReplyLimits { .short }
}

/// Connects to a target and runs one dialogue over it, the whole exchange bounded by `connect_timeout`.
enum StreamExchange {
    /// - Parameters:
    ///   - label: the reason's prefix, e.g. `TCP_CHECK 198.51.100.11:80`.
    ///   - tls: wraps the stream in TLS (no certificate check unless the context asks for one).
    static func run<D: StreamDialogue>(
        _ dialogue: D, target: ProbeTarget, label: String, tls: (context: NIOSSLContext, serverName: String?)? = nil,
        on loop: any EventLoop
    ) -> EventLoopFuture<ProbeOutcome> {
        guard let port = target.port, (1...65535).contains(port) else {
            return loop.makeSucceededFuture(.failure("\(label): no port to connect to"))
        }
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: "\(target.address)", port: port)
        } catch {
            return loop.makeSucceededFuture(.failure("\(label): bad address: \(error)"))
        }
        let completion = ProbeCompletion(loop: loop, label: label)
        let timeout = TimeAmount(target.connectTimeout)
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                DeviceBinding.apply(target.bindInterface, to: channel).flatMapThrowing {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        DialogueHandler(dialogue: dialogue, completion: completion))
                }
            }
        if let mark = target.fwmark {
            bootstrap = bootstrap.channelOption(.socketOption(.init(rawValue: SO_MARK)), value: Int(mark))
        }
        if target.bindAddress != nil || target.bindPort != nil {
            let bindText = target.bindAddress.map { "\($0)" } ?? (target.address.family == .ipv4 ? "0.0.0.0" : "::")
            guard let local = try? SocketAddress(ipAddress: bindText, port: target.bindPort ?? 0) else {
                return loop.makeSucceededFuture(.failure("\(label): bad bindto \(bindText)"))
            }
            bootstrap = bootstrap.bind(to: local)
        }
        let deadline = loop.scheduleTask(in: timeout) {
            completion.finish(.failure("\(label): timed out after \(target.connectTimeout.secondsText)"))
        }
        bootstrap.connect(to: address).whenComplete { result in
            switch result {
            case .success(let channel):
                completion.attach(channel)
            case .failure(let error):
                completion.finish(.failure("\(label): \(describe(error, timeout: target.connectTimeout))"))
            }
        }
        return completion.future.always { _ in deadline.cancel() }
    }

    /// An operator-facing text for a connection error.
    static func describe(_ error: any Error, timeout: Duration) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ETIMEDOUT: return "timed out after \(timeout.secondsText)"
            case EHOSTUNREACH: return "host unreachable"
            case ENETUNREACH: return "network unreachable"
            case ECONNRESET: return "connection reset"
            default: return "\(io)"
            }
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "timed out after \(timeout.secondsText)"
        }
        if let connectionError = error as? NIOConnectionError, let first = connectionError.connectionErrors.first {
            return describe(first.error, timeout: timeout)
        }
        if let tlsError = error as? NIOSSLError { return "TLS: \(tlsError)" }
        return "\(error)"
    }
}

/// Completes a probe exactly once, closing its channel; used only on its loop.
final class ProbeCompletion: @unchecked Sendable {
    let promise: EventLoopPromise<ProbeOutcome>
    let label: String
    private var channel: (any Channel)?
    private var done = false

    init(loop: any EventLoop, label: String) {
        promise = loop.makePromise()
        self.label = label
    }

    var future: EventLoopFuture<ProbeOutcome> { promise.futureResult }

    func attach(_ channel: any Channel) {
        promise.futureResult.eventLoop.preconditionInEventLoop()
        if done {
            channel.close(promise: nil)
        } else {
            self.channel = channel
        }
    }

    func finish(_ outcome: ProbeOutcome) {
        promise.futureResult.eventLoop.preconditionInEventLoop()
        guard !done else { return }
        done = true
        channel?.close(promise: nil)
        channel = nil
        promise.succeed(outcome)
    }
}

/// Feeds a stream's bytes to a dialogue and acts on its steps, within the dialogue's `replyLimits`.
final class DialogueHandler<D: StreamDialogue>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var dialogue: D
    private let completion: ProbeCompletion
    private let limits: ReplyLimits
    private var bytesRead = 0
    private var reads = 0
    /// Decided: reads still queued in this turn of the loop are dropped unparsed.
    private var finished = false

    init(dialogue: D, completion: ProbeCompletion) {
        self.dialogue = dialogue
        self.completion = completion
        limits = dialogue.replyLimits
    }

    func channelActive(context: ChannelHandlerContext) {
        act(dialogue.connected(), context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        let buffer = unwrapInboundIn(data)
        bytesRead += buffer.readableBytes
        reads += 1
        if bytesRead > limits.maxBytes {
            return act(
                .finish(.failure("\(completion.label): reply larger than \(limits.maxBytes) bytes")), context: context)
        }
        if reads > limits.maxReads {
            return act(
                .finish(.failure("\(completion.label): reply still incomplete after \(limits.maxReads) reads")),
                context: context)
        }
        act(dialogue.received(Array(buffer.readableBytesView), eof: false), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { act(dialogue.received([], eof: true), context: context) }
        completion.finish(.failure("\(completion.label): connection closed"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tls = error as? NIOSSLError, case .uncleanShutdown = tls {
            // Servers often close without close_notify; the EOF that follows decides.
            return
        }
        finished = true
        completion.finish(.failure("\(completion.label): \(StreamExchange.describe(error, timeout: .zero))"))
        context.close(promise: nil)
    }

    private func act(_ step: DialogueStep, context: ChannelHandlerContext) {
        switch step {
        case .more:
            break
        case .send(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .finish(let outcome, let farewell):
            finished = true
            if !farewell.isEmpty {
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: farewell)), promise: nil)
            }
            completion.finish(outcome)
        }
    }
}

extension Duration {
    /// `1s`, `0.5s`: how reasons print a timeout.
    var secondsText: String {
        let (seconds, attoseconds) = components
        if attoseconds == 0 { return "\(seconds)s" }
        return "\(Double(seconds) + Double(attoseconds) / 1e18)s"
    }
}

/// `bind_if`: SO_BINDTODEVICE on a probe's socket, before it binds or connects (socket(7)).
enum DeviceBinding {
    /// IFNAMSIZ bytes, NUL-padded, as the kernel reads the option.
    typealias InterfaceName = (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
    )

    static func apply(_ interface: String?, to channel: any Channel) -> EventLoopFuture<Void> {
        guard let interface else { return channel.eventLoop.makeSucceededVoidFuture() }
        guard let provider = channel as? any SocketOptionProvider, (1...15).contains(interface.utf8.count) else {
            return channel.eventLoop.makeFailedFuture(ProbeSetupError(message: "bind_if \(interface): not usable"))
        }
        var name: InterfaceName = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &name) { buffer in
            for (index, byte) in interface.utf8.enumerated() { buffer[index] = byte }
        }
        return provider.unsafeSetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_BINDTODEVICE), value: name)
    }
}

/// A probe's socket could not be set up as configured.
struct ProbeSetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
