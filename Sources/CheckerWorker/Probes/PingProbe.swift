import Config
import NIOCore
import NIOPosix
import Notifier
import Synchronization

/// PING_CHECK: one ICMP (RFC 792) / ICMPv6 (RFC 4443 §4.1) echo on an unprivileged ICMP datagram socket; the
/// kernel sets the identifier and checksum and hands back only this socket's replies. Success on an echo
/// reply with our sequence number and payload within `connect_timeout`.
struct PingProbe: HealthProbe {
    let target: ProbeTarget

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let label = "PING_CHECK \(target.address)"
        let dialogue = PingDialogue(
            family: target.address.family, sequence: UInt16.random(in: .min ... .max),
            payload: (0..<16).map { _ in UInt8.random(in: .min ... .max) }, label: label)
        switch SocketPlan.make(target: target, port: 0, label: .text(label)) {
        case .failure(let failure): return loop.makeSucceededFuture(.failure(failure.message))
        case .success(let plan):
            // IPPROTO_ICMP or IPPROTO_ICMPV6: an unprivileged ICMP datagram socket.
            return RawDatagramExchange.run(
                dialogue, plan: plan, protocol: target.address.family == .ipv4 ? 1 : 58, on: loop)
        }
    }

    private static let pingRangeChecked = Mutex(false)

    /// ICMP datagram sockets are open only to groups in net.ipv4.ping_group_range (IPv6 too); like keepalived,
    /// widen it to take in our group when it does not. Done once per process, off the event loops.
    static func allowPingSockets() {
        let done = pingRangeChecked.withLock { done in
            defer { done = true }
            return done
        }
        guard !done else { return }
        let path = "/proc/sys/net/ipv4/ping_group_range"
        guard let text = FileContents.read(path, limit: 256) else { return }
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int64($0) }
        let gid = Int64(getegid())
        guard bounds.count == 2 else { return }
        if bounds[0] <= gid && gid <= bounds[1] { return }
        let range = bounds[0] > bounds[1] ? (gid, gid) : (min(bounds[0], gid), max(bounds[1], gid))
        FileContents.write("\(range.0) \(range.1)\n", to: path)
    }
}

struct PingDialogue: DatagramDialogue {
    let family: IPAddress.Family
    let sequence: UInt16
    let payload: [UInt8]
    let label: String

    /// Type 8 (IPv4) or 128 (IPv6), code 0; checksum and identifier left to the kernel.
    var request: [UInt8] {
        [family == .ipv4 ? 8 : 128, 0, 0, 0, 0, 0, UInt8(sequence >> 8), UInt8(sequence & 0xff)] + payload
    }

    func received(_ bytes: [UInt8]) -> ProbeOutcome? {
        guard bytes.count >= 8, bytes[0] == (family == .ipv4 ? 0 : 129), bytes[1] == 0,
            UInt16(bytes[6]) << 8 | UInt16(bytes[7]) == sequence, Array(bytes[8...]) == payload
        else { return nil }
        return .success()
    }

    func timedOut(after timeout: Duration) -> ProbeOutcome {
        .failure("\(label): no echo reply within \(timeout.secondsText)")
    }
}
