import Config
import NIOCore

/// UDP_CHECK: sends `payload` (random bytes when none). With `require_reply` a reply must arrive, its length
/// within `min_reply_length`…`max_reply_length` and, with a pattern, matching it up to the shorter of the two;
/// without, the check passes unless an ICMP error (port/host unreachable) comes back within `connect_timeout`.
struct UDPProbe: HealthProbe {
    let target: ProbeTarget
    let check: UDPCheck

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let label = "UDP_CHECK \(target.endpointText)"
        guard target.port != nil else { return loop.makeSucceededFuture(.failure("\(label): no port")) }
        switch SocketPlan.make(target: target, port: target.port, label: .text(label)) {
        case .failure(let failure): return loop.makeSucceededFuture(.failure(failure.message))
        case .success(let plan):
            let payload = check.payload ?? (0..<16).map { _ in UInt8.random(in: .min ... .max) }
            return RawDatagramExchange.run(
                UDPDialogue(request: payload, check: check, label: label), plan: plan, on: loop)
        }
    }
}

struct UDPDialogue: DatagramDialogue {
    let request: [UInt8]
    let check: UDPCheck
    let label: String

    func received(_ bytes: [UInt8]) -> ProbeOutcome? {
        guard check.requiresReply else { return .success() }
        guard (check.minimumReplyLength...max(check.minimumReplyLength, check.maximumReplyLength)).contains(bytes.count)
        else {
            return .failure(
                "\(label): reply of \(bytes.count) bytes, expected \(check.minimumReplyLength)-\(check.maximumReplyLength)"
            )
        }
        if let pattern = check.requireReply, !UDPDialogue.matches(bytes, pattern) {
            return .failure("\(label): reply does not match require_reply")
        }
        return .success()
    }

    func timedOut(after timeout: Duration) -> ProbeOutcome {
        check.requiresReply ? .failure("\(label): no reply within \(timeout.secondsText)") : .success()
    }

    /// keepalived compares up to the shorter of the reply and the pattern; `x` nibbles are masked out.
    static func matches(_ reply: [UInt8], _ pattern: HexPattern) -> Bool {
        let count = min(reply.count, pattern.bytes.count, pattern.mask.count)
        return (0..<count).allSatisfy { reply[$0] & pattern.mask[$0] == pattern.bytes[$0] & pattern.mask[$0] }
    }
}
