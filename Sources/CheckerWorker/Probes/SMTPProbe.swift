import NIOCore

/// SMTP_CHECK (RFC 5321 §4.1.1): banner 220, `HELO helo_name` → 250, `QUIT`. Each legacy `host { }` is
/// checked in turn; all must pass.
struct SMTPProbe: HealthProbe {
    let targets: [ProbeTarget]
    let heloName: String
    /// Each host's socket plan, or why it has none.
    let plans: [Result<SocketPlan, ProbeFailure>]

    init(targets: [ProbeTarget], heloName: String) {
        self.targets = targets
        self.heloName = heloName
        plans = targets.map {
            SocketPlan.make(target: $0, port: $0.port, label: "SMTP_CHECK \($0.endpointText)")
        }
    }

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        runHost(at: 0, on: loop)
    }

    private func runHost(at index: Int, on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        guard index < plans.count else { return loop.makeSucceededFuture(.success()) }
        let plan: SocketPlan
        switch plans[index] {
        case .failure(let failure): return loop.makeSucceededFuture(.failure(failure.message))
        case .success(let value): plan = value
        }
        return RawStreamExchange.run(SMTPDialogue(heloName: heloName, label: plan.label), plan: plan, on: loop)
            .flatMap { outcome in
                outcome.isSuccess ? runHost(at: index + 1, on: loop) : loop.makeSucceededFuture(outcome)
            }
    }
}

/// The SMTP exchange, reply by reply (multi-line replies, `250-…`, end at the line with a space).
struct SMTPDialogue: StreamDialogue {
    let heloName: String
    let label: String
    private var buffer: [UInt8] = []
    private var saidHelo = false

    init(heloName: String, label: String) {
        self.heloName = heloName
        self.label = label
    }

    mutating func connected() -> DialogueStep { .more }

    mutating func received(_ bytes: [UInt8], eof: Bool) -> DialogueStep {
        buffer += bytes
        while let lineEnd = buffer.firstIndex(of: 10) {
            let line = String(decoding: buffer[..<lineEnd], as: UTF8.self).trimmingSpaces
                .trimmingCharacters(in: "\r")
            buffer.removeSubrange(...lineEnd)
            guard line.count >= 3, let code = Int(line.prefix(3)) else {
                return .finish(.failure("\(label): bad reply \"\(line.prefix(60))\""))
            }
            if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
            if !saidHelo {
                guard code == 220 else { return .finish(.failure("\(label): banner \(code), expected 220")) }
                saidHelo = true
                return .send(Array("HELO \(heloName)\r\n".utf8))
            }
            guard code == 250 else { return .finish(.failure("\(label): HELO answered \(code), expected 250")) }
            return .finish(.success(), farewell: Array("QUIT\r\n".utf8))
        }
        if buffer.count > 4096 { return .finish(.failure("\(label): reply line too long")) }
        if eof {
            return .finish(.failure("\(label): connection closed \(saidHelo ? "after HELO" : "before the banner")"))
        }
        return .more
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
