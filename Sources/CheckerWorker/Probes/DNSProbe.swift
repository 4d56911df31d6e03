import Config
import NIOCore

/// DNS_CHECK: one query over UDP (RFC 1035 §4.1) with a random id; success when a response with that id
/// and RCODE 0 (NOERROR) arrives within `connect_timeout`, as keepalived's check_dns.c, and, beyond keepalived,
/// only when the response is well formed: its question is the one asked and every record parses (see
/// `DNSMessage.judge`). As in keepalived, a NOERROR response without answers (NODATA) passes.
struct DNSProbe: HealthProbe {
    let target: ProbeTarget
    let check: DNSCheck

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let label = "DNS_CHECK \(target.endpointText) \(check.type.rawValue) \(check.name)"
        guard target.port != nil else { return loop.makeSucceededFuture(.failure("\(label): no port")) }
        guard let query = DNSMessage.query(id: UInt16.random(in: .min ... .max), name: check.name, type: check.type)
        else { return loop.makeSucceededFuture(.failure("\(label): name \"\(check.name)\" is not a valid DNS name")) }
        switch SocketPlan.make(target: target, port: target.port, label: .text(label)) {
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

    /// Compression pointers followed in one name before it is called a loop (a name has at most 127 labels).
    static let maxPointers = 64

    /// keepalived's checks (id, QR, RCODE), then the whole response parsed, bounded: one question equal to the
    /// query's (name compared without case, RFC 4343), then every answer, authority and additional record
    /// within the datagram. A truncated (TC) response is judged on its question alone.
    static func judge(reply: [UInt8], query: [UInt8]) -> Verdict {
        guard reply.count >= 12, query.count >= 12, reply[0] == query[0], reply[1] == query[1] else { return .ignore }
        guard reply[2] & 0x80 != 0 else { return .ignore }  // QR clear: a query, not a response
        let rcode = Int(reply[3] & 0x0f)
        guard rcode == 0 else { return .error("RCODE \(rcodeNames[rcode] ?? String(rcode))") }
        do {
            try checkBody(reply, asked: query)
            return .noError
        } catch {
            return .error(error.description)
        }
    }

    /// Why a response was refused.
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    private static func checkBody(_ reply: [UInt8], asked query: [UInt8]) throws(Malformed) {
        let questions = readUInt16(reply, at: 4)
        guard questions == 1 else {
            throw Malformed(description: "malformed reply: \(questions) questions, expected 1")
        }
        let (askedName, askedEnd) = try name(in: query, at: 12)
        let (name, nameEnd) = try name(in: reply, at: 12)
        guard nameEnd + 4 <= reply.count else {
            throw Malformed(description: "malformed reply: question runs past the end")
        }
        guard askedEnd + 4 <= query.count else { throw Malformed(description: "malformed query") }
        let type = readUInt16(reply, at: nameEnd)
        let askedType = readUInt16(query, at: askedEnd)
        guard name == askedName, type == askedType,
            reply[(nameEnd + 2)..<(nameEnd + 4)] == query[(askedEnd + 2)..<(askedEnd + 4)]
        else {
            throw Malformed(description: "reply is for another question (\(text(of: name)) type \(type))")
        }
        // TC: the records were cut short by design; what arrived is all a UDP check can judge.
        if reply[2] & 0x02 != 0 { return }
        var offset = nameEnd + 4
        let records = Int(readUInt16(reply, at: 6)) + Int(readUInt16(reply, at: 8)) + Int(readUInt16(reply, at: 10))
        for index in 0..<records {
            let (_, end) = try self.name(in: reply, at: offset)
            guard end + 10 <= reply.count else {
                throw Malformed(description: "malformed reply: record \(index + 1) of \(records) runs past the end")
            }
            let dataLength = Int(readUInt16(reply, at: end + 8))
            offset = end + 10 + dataLength
            guard offset <= reply.count else {
                throw Malformed(description: "malformed reply: record \(index + 1) of \(records) runs past the end")
            }
        }
    }

    /// The name at `offset` (RFC 1035 §4.1.4: labels, possibly ending in a compression pointer), lower-cased
    /// labels, and the offset just past it where it is written. Bounded: pointers must point backwards, at most
    /// `maxPointers` of them, and the name at most 255 bytes.
    /// - Throws: `Malformed` naming the fault.
    static func name(in message: [UInt8], at offset: Int) throws(Malformed) -> (labels: [[UInt8]], end: Int) {
        var labels: [[UInt8]] = []
        var position = offset
        var end: Int?
        var length = 0
        var pointers = 0
        while true {
            guard position < message.count else {
                throw Malformed(description: "malformed reply: name runs past the end")
            }
            let byte = message[position]
            switch byte & 0xc0 {
            case 0x00:
                if byte == 0 { return (labels, end ?? position + 1) }
                let labelEnd = position + 1 + Int(byte)
                guard labelEnd <= message.count else {
                    throw Malformed(description: "malformed reply: name runs past the end")
                }
                length += Int(byte) + 1
                guard length <= 255 else { throw Malformed(description: "malformed reply: name longer than 255 bytes") }
                labels.append(message[(position + 1)..<labelEnd].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 })
                position = labelEnd
            case 0xc0:
                guard position + 1 < message.count else {
                    throw Malformed(description: "malformed reply: name runs past the end")
                }
                let target = Int(byte & 0x3f) << 8 | Int(message[position + 1])
                guard target < position else {
                    throw Malformed(
                        description: "malformed reply: compression pointer at \(position) does not point back")
                }
                pointers += 1
                guard pointers <= maxPointers else {
                    throw Malformed(description: "malformed reply: compression pointer loop")
                }
                if end == nil { end = position + 2 }
                position = target
            default:
                throw Malformed(description: "malformed reply: unknown label type \(byte >> 6)")
            }
        }
    }

    static func readUInt16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    /// `www.example.com` for the log (non-printable bytes as `?`).
    static func text(of labels: [[UInt8]]) -> String {
        labels.isEmpty
            ? "."
            : labels.map {
                String(decoding: $0.map { (33...126).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            }
            .joined(separator: ".")
    }
}
