import Config
import NIOCore

/// DNS_CHECK: one query over UDP (RFC 1035 §4.1) with a random id; success when a response with that id
/// and RCODE 0 (NOERROR) arrives within `connect_timeout`, as keepalived's check_dns.c.
struct DNSProbe: HealthProbe {
    let target: ProbeTarget
    let check: DNSCheck

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let label = "DNS_CHECK \(target.endpointText) \(check.type.rawValue) \(check.name)"
        guard target.port != nil else { return loop.makeSucceededFuture(.failure("\(label): no port")) }
        guard let query = DNSMessage.query(id: UInt16.random(in: .min ... .max), name: check.name, type: check.type)
        else { return loop.makeSucceededFuture(.failure("\(label): name \"\(check.name)\" is not a valid DNS name")) }
        switch SocketPlan.make(target: target, port: target.port, label: label) {
        case .failure(let failure): return loop.makeSucceededFuture(.failure(failure.message))
        case .success(let plan):
            return RawDatagramExchange.run(DNSDialogue(request: query, label: label), plan: plan, on: loop)
        }
    }
}

struct DNSDialogue: DatagramDialogue {
    let request: [UInt8]
    let label: String

    func received(_ bytes: [UInt8]) -> ProbeOutcome? {
        switch DNSMessage.judge(reply: bytes, query: request) {
        case .ignore: nil
        case .noError: .success()
        case .error(let why): .failure("\(label): \(why)")
        }
    }

    func timedOut(after timeout: Duration) -> ProbeOutcome {
        .failure("\(label): no reply within \(timeout.secondsText)")
    }
}

/// Encoding a query and reading the header of its response (RFC 1035 §4.1.1).
enum DNSMessage {
    /// RFC 1035 §3.2.2 / RFC 3596 type codes.
    static func code(of type: DNSCheck.QueryType) -> UInt16 {
        switch type {
        case .a: 1
        case .ns: 2
        case .cname: 5
        case .soa: 6
        case .mx: 15
        case .txt: 16
        case .aaaa: 28
        }
    }

    /// A standard query, RD set, one question of class IN; `nil` when the name has an empty or over-long label.
    static func query(id: UInt16, name: String, type: DNSCheck.QueryType) -> [UInt8]? {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        if !trimmed.isEmpty {
            for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                let utf8 = Array(label.utf8)
                guard (1...63).contains(utf8.count) else { return nil }
                bytes.append(UInt8(utf8.count))
                bytes += utf8
            }
        }
        bytes.append(0)
        guard bytes.count - 12 <= 255 else { return nil }
        let typeCode = code(of: type)
        bytes += [UInt8(typeCode >> 8), UInt8(typeCode & 0xff), 0, 1]
        return bytes
    }

    enum Verdict: Equatable {
        /// Not our answer (short, another id, a query): keep waiting.
        case ignore
        case noError
        case error(String)
    }

    static let rcodeNames = [1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]

    static func judge(reply: [UInt8], query: [UInt8]) -> Verdict {
        guard reply.count >= 12, query.count >= 12, reply[0] == query[0], reply[1] == query[1] else { return .ignore }
        guard reply[2] & 0x80 != 0 else { return .ignore }  // QR clear: a query, not a response
        let rcode = Int(reply[3] & 0x0f)
        guard rcode == 0 else { return .error("RCODE \(rcodeNames[rcode] ?? String(rcode))") }
        return .noError
    }
}
