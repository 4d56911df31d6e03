import NIOCore

/// TCP_CHECK: success when the connection is established within `connect_timeout`.
struct TCPProbe: HealthProbe {
    let target: ProbeTarget

    func run(on loop: any EventLoop) -> EventLoopFuture<ProbeOutcome> {
        StreamExchange.run(ConnectOnly(), target: target, label: "TCP_CHECK \(target.endpointText)", on: loop)
    }

    /// Decides on connect, before any byte.
    struct ConnectOnly: StreamDialogue {
        mutating func connected() -> DialogueStep { .finish(.success()) }
        mutating func received(_ bytes: [UInt8], eof: Bool) -> DialogueStep { .more }
    }
}
