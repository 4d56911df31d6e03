/// The client side of an SMTP conversation (RFC 5321 §3.3, §4.1) as keepalived's `smtp_alert` holds it:
/// banner, `HELO`, `MAIL FROM`, one `RCPT TO` per address, `DATA`, the message, `QUIT`. Pure: fed
/// reply lines, it answers with what to send.
public struct SMTPConversation: Sendable {
    /// What the shell does next.
    public enum Action: Hashable, Sendable {
        /// Send these bytes (one command or the message, CRLF included).
        case send(String)
        /// Nothing yet: a multi-line reply continues.
        case wait
        /// The server answered the QUIT (or the message was accepted and QUIT sent): close.
        case finished
        /// The server refused a step: close; the text names the step and the reply.
        case failed(String)
    }

    enum Step: Hashable, Sendable {
        case banner, helo, mailFrom
        case recipient(Int)
        case data, message, quit, done
    }

    public let heloName: String
    public let from: String
    public let recipients: [String]
    public let message: String
    private(set) var step = Step.banner

    /// - Parameter message: headers and body, as `SMTPMessage.render` makes them.
    public init(heloName: String, from: String, recipients: [String], message: String) {
        self.heloName = heloName
        self.from = from
        self.recipients = recipients
        self.message = message
    }

    /// Whether the message was accepted (QUIT's reply is not needed for that).
    public var delivered: Bool { step == .quit || step == .done }

    /// Feeds one reply line (without CRLF).
    public mutating func receive(line: String) -> Action {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)) else {
            step = .done
            return .failed("malformed SMTP reply '\(line)'")
        }
        if bytes.count > 3 && bytes[3] == UInt8(ascii: "-") { return .wait }
        switch step {
        case .banner: return expect(220, code, line, "banner", next: .helo, send: "HELO \(heloName)\r\n")
        case .helo: return expect(250, code, line, "HELO", next: .mailFrom, send: "MAIL FROM:<\(from)>\r\n")
        case .mailFrom: return nextRecipient(0, code, line, "MAIL FROM")
        case .recipient(let index):
            return nextRecipient(index + 1, code, line, "RCPT TO:<\(recipients[index])>")
        case .data: return expect(354, code, line, "DATA", next: .message, send: Self.dotStuffed(message))
        case .message: return expect(250, code, line, "message", next: .quit, send: "QUIT\r\n")
        case .quit:
            step = .done
            return .finished
        case .done: return .wait
        }
    }

    private mutating func nextRecipient(_ index: Int, _ code: Int, _ line: String, _ what: String) -> Action {
        if index < recipients.count {
            return expect(250, code, line, what, next: .recipient(index), send: "RCPT TO:<\(recipients[index])>\r\n")
        }
        return expect(250, code, line, what, next: .data, send: "DATA\r\n")
    }

    private mutating func expect(
        _ wanted: Int, _ code: Int, _ line: String, _ what: String, next: Step, send: String
    ) -> Action {
        // 251 (user not local, will forward) is a success for RCPT as well.
        guard code == wanted || (wanted == 250 && code == 251) else {
            step = .done
            return .failed("SMTP server refused \(what): '\(line)'")
        }
        step = next
        return .send(send)
    }

    /// The message body with CRLF line ends and leading dots doubled (RFC 5321 §4.5.2), then `.`.
    static func dotStuffed(_ message: String) -> String {
        let lines = message.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false)
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}

/// The mail keepalived sends (smtp.c): `Date`, `From`, `Subject`, `X-Mailer: Keepalived`, `To`, a blank
/// line, the body.
public enum SMTPMessage {
    public static func render(from: String, to recipients: [String], subject: String, date: String, body: String)
        -> String
    {
        """
        Date: \(date)\r
        From: \(from)\r
        Subject: \(subject)\r
        X-Mailer: Keepalived\r
        To: \(recipients.joined(separator: ", "))\r
        \r
        \(body)
        """
    }
}

extension String {
    /// CRLF and lone CR turned into LF.
    func replacingCRLF() -> String {
        var result = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                result.append("\n")
                previousCR = true
                continue
            }
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            result.unicodeScalars.append(scalar)
        }
        return result
    }
}
