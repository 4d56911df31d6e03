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
        plans = targets.map { SocketPlan.make(target: $0, port: $0.port, label: .endpoint("SMTP_CHECK")) }
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
/// Incremental: only the current line is kept (at most `lineLimit` bytes); the whole reply is bounded by the
/// exchange's `replyLimits`, so an endless `220-…` banner fails after 64 KiB instead of holding the loop.
struct SMTPDialogue: StreamDialogue {
    /// RFC 5321 §4.5.3.1.5 allows 512 bytes a reply line; a server may be sloppy, not endless.
    static let lineLimit = 4096

    let heloName: String
    let label: String
    private var line: [UInt8] = []
    /// Bytes that arrived after the line that decided a step (a server talking ahead); read before new ones.
    private var pending: [UInt8] = []
    private var saidHelo = false

    init(heloName: String, label: String) {
        self.heloName = heloName
        self.label = label
    }

    mutating func connected() -> DialogueStep { .more }

    mutating func received(_ bytes: [UInt8], eof: Bool) -> DialogueStep {
        let input = pending.isEmpty ? bytes : pending + bytes
        pending = []
        var index = input.startIndex
        while let lineEnd = input[index...].firstIndex(of: 10) {
            line += input[index..<lineEnd]
            index = lineEnd + 1
            if line.count > Self.lineLimit { return .finish(.failure("\(label): reply line too long")) }
            let step = replyLine()
            line.removeAll(keepingCapacity: true)
            if step != .more {
                pending = Array(input[index...])
                return step
            }
        }
        line += input[index...]
        if line.count > Self.lineLimit { return .finish(.failure("\(label): reply line too long")) }
        if eof {
            return .finish(.failure("\(label): connection closed \(saidHelo ? "after HELO" : "before the banner")"))
        }
        return .more
    }

    /// One complete line (without its LF) is in `line`: a continuation (`.more`) or the step it decides.
    private mutating func replyLine() -> DialogueStep {
        let text = String(decoding: line, as: UTF8.self).trimmingSpaces.trimmingCharacters(in: "\r")
        guard text.count >= 3, let code = Int(text.prefix(3)) else {
            return .finish(.failure("\(label): bad reply \"\(text.prefix(60))\""))
        }
        if text.count > 3, text[text.index(text.startIndex, offsetBy: 3)] == "-" { return .more }
        if !saidHelo {
            guard code == 220 else { return .finish(.failure("\(label): banner \(code), expected 220")) }
            saidHelo = true
            return .send(Array("HELO \(heloName)\r\n".utf8))
        }
        guard code == 250 else { return .finish(.failure("\(label): HELO answered \(code), expected 250")) }
        return .finish(.success(), farewell: Array("QUIT\r\n".utf8))
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
