import Config
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The protocol side of a datagram check (DNS, UDP, PING), pure.
protocol DatagramDialogue: Sendable {
    /// The one datagram sent.
    var request: [UInt8] { get }
    /// A datagram arrived from the target: decide, or `nil` to ignore it (a stale or foreign reply).
    mutating func received(_ bytes: [UInt8]) -> ProbeOutcome?
    /// Nothing decided within the timeout.
    func timedOut(after timeout: Duration) -> ProbeOutcome
}

/// Sends one datagram on a connected socket and waits for the dialogue to decide, bounded by `connect_timeout`.
/// An ICMP error (port/host unreachable) surfaces on the connected socket and fails the check.
enum DatagramExchange {
    static func run<D: DatagramDialogue>(
        _ dialogue: D, target: ProbeTarget, port: Int, label: String,
        protocolSubtype: NIOBSDSocket.ProtocolSubtype? = nil, on loop: any EventLoop
    ) -> EventLoopFuture<ProbeOutcome> {
        let remote: SocketAddress
        let local: SocketAddress
        do {
            remote = try SocketAddress(ipAddress: "\(target.address)", port: port)
            let wildcard = target.address.family == .ipv4 ? "0.0.0.0" : "::"
            local = try SocketAddress(
                ipAddress: target.bindAddress.map { "\($0)" } ?? wildcard, port: target.bindPort ?? 0)
        } catch {
            return loop.makeSucceededFuture(.failure("\(label): bad address: \(error)"))
        }
        let completion = ProbeCompletion(loop: loop, label: label)
        var bootstrap = DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                DeviceBinding.apply(target.bindInterface, to: channel).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        DatagramDialogueHandler(dialogue: dialogue, completion: completion, remote: remote))
                }
            }
        if let protocolSubtype { bootstrap = bootstrap.protocolSubtype(protocolSubtype) }
        if let mark = target.fwmark {
            bootstrap = bootstrap.channelOption(.socketOption(.init(rawValue: SO_MARK)), value: Int(mark))
        }
        let deadline = loop.scheduleTask(in: TimeAmount(target.connectTimeout)) {
            completion.finish(dialogue.timedOut(after: target.connectTimeout))
        }
        bootstrap.bind(to: local)
            .flatMap { channel in
                completion.attach(channel)
                return channel.connect(to: remote).flatMap {
                    channel.writeAndFlush(
                        AddressedEnvelope(
                            remoteAddress: remote, data: channel.allocator.buffer(bytes: dialogue.request)))
                }
            }
            .whenFailure { error in
                completion.finish(.failure("\(label): \(describe(error))"))
            }
        return completion.future.always { _ in deadline.cancel() }
    }

    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "port unreachable (ICMP)"
            case EHOSTUNREACH: return "host unreachable (ICMP)"
            case ENETUNREACH: return "network unreachable"
            case EACCES, EPERM: return "not permitted: \(io)"
            default: return "\(io)"
            }
        }
        return "\(error)"
    }
}

/// Hands datagrams from the target to the dialogue; ICMP errors fail the check, and so do more than
/// `maxDatagrams` datagrams none of which decides (a server flooding replies with the wrong id).
final class DatagramDialogueHandler<D: DatagramDialogue>: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    /// Datagrams one check reads before it gives up on the target.
    static var maxDatagrams: Int { 100 }

    private var dialogue: D
    private var datagrams = 0
    private let completion: ProbeCompletion
    private let remote: SocketAddress

    init(dialogue: D, completion: ProbeCompletion, remote: SocketAddress) {
        self.dialogue = dialogue
        self.completion = completion
        self.remote = remote
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        datagrams += 1
        if let outcome = dialogue.received(Array(envelope.data.readableBytesView)) {
            completion.finish(outcome)
        } else if datagrams >= Self.maxDatagrams {
            completion.finish(
                .failure("\(completion.label): \(datagrams) datagrams from the target, none an answer"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        completion.finish(.failure("\(completion.label): \(DatagramExchange.describe(error))"))
    }
}
