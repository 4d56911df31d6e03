/// A small HTTP/1.x response reader (RFC 9112) for HTTP_GET/SSL_GET: the status line, the framing headers,
/// and a body delimited by `Content-Length`, chunked transfer coding (RFC 9112 §7.1) or the close.
///
/// Incremental: `feed` looks at each byte a bounded number of times whatever the pieces the reply arrives in
/// (a hostile server's endless 1-byte chunks cost the same per byte as one large body), and every part of the
/// reply is bounded: the head by `headLimit`, a chunk-size line by `lineLimit`, the body by `bodyLimit` and its
/// chunks by `chunkLimit`.
struct HTTPResponseParser {
    /// The largest body read (for `digest`/`regex`); keepalived likewise reads a bounded amount.
    static let bodyLimit = 4 << 20
    /// The largest status line plus headers.
    static let headLimit = 64 << 10
    /// The longest chunk-size line (with its extensions).
    static let lineLimit = 4096
    /// The most chunks in one body: real servers send chunks of kilobytes (a 4 MiB body in 1 KiB chunks is 4,096);
    /// endless 1-byte chunks cost a parsing step per body byte, so they are cut off here, after 384 KiB.
    static let chunkLimit = 65536

    enum Result: Equatable {
        /// More bytes are needed.
        case incomplete
        case complete(status: Int, body: [UInt8])
        /// The reply is not HTTP (or breaks a limit); the reason says how.
        case malformed(String)
    }

    private enum Phase {
        /// Reading the status line and headers; `matched` bytes of CRLF CRLF seen at the end of `head`.
        case head(matched: Int)
        /// `Content-Length`: this many body bytes still due.
        case length(remaining: Int)
        /// No framing: the body runs to the close.
        case close
        /// Chunked: reading a chunk-size line into `line`.
        case chunkSize
        /// Chunked: this many bytes of chunk data still due.
        case chunkData(remaining: Int)
        /// Chunked: the CRLF after a chunk's data; `seen` of its two bytes so far.
        case chunkEnd(seen: Int)
        /// Decided; later bytes are ignored.
        case done(Result)
    }

    /// False: decide as soon as the head is in (no `digest` or `regex` to check).
    let needBody: Bool
    private var phase = Phase.head(matched: 0)
    private var head: [UInt8] = []
    private var line: [UInt8] = []
    private var status = 0
    private var body: [UInt8] = []
    private var chunks = 0

    init(needBody: Bool) {
        self.needBody = needBody
    }

    /// Parses a whole reply at once (tests, fuzzing).
    static func parse(_ data: [UInt8], eof: Bool, needBody: Bool) -> Result {
        var parser = HTTPResponseParser(needBody: needBody)
        return parser.feed(data[...], eof: eof)
    }

    /// Takes the next bytes of the reply; `eof` when the peer closed after them.
    mutating func feed(_ bytes: ArraySlice<UInt8>, eof: Bool) -> Result {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch phase {
            case .done(let result):
                return result
            case .head(var matched):
                let start = index
                // One byte past the limit is enough to know it is broken.
                let end = min(bytes.endIndex, start + Self.headLimit + 1 - head.count)
                while index < end && matched < 4 {
                    matched = Self.advance(matched, bytes[index])
                    index += 1
                }
                head += bytes[start..<index]
                // Reject non-HTTP early rather than waiting for the timeout; checked whether or not the head ended
                // in these bytes, so the verdict does not depend on how the reply was cut into reads.
                if head.count >= 5, !head.starts(with: Self.httpPrefix) {
                    return finish(.malformed("not an HTTP reply"))
                }
                if matched == 4 {
                    head.removeLast(4)
                    phase = parseHead()
                    continue
                }
                phase = .head(matched: matched)
                if head.count > Self.headLimit {
                    return finish(.malformed("header larger than \(Self.headLimit) bytes"))
                }
            case .length(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                body += bytes[index..<(index + take)]
                index += take
                if take == remaining { return finish(.complete(status: status, body: body)) }
                phase = .length(remaining: remaining - take)
            case .close:
                body += bytes[index...]
                index = bytes.endIndex
                if body.count > Self.bodyLimit { return finish(.malformed("body larger than \(Self.bodyLimit) bytes")) }
            case .chunkSize:
                guard let lineEnd = bytes[index...].firstIndex(of: 10) else {
                    line += bytes[index...]
                    index = bytes.endIndex
                    if line.count > Self.lineLimit { return finish(.malformed("chunk-size line too long")) }
                    continue
                }
                line += bytes[index..<lineEnd]
                index = lineEnd + 1
                guard line.count <= Self.lineLimit, line.last == 13, let size = Self.chunkSize(line.dropLast()) else {
                    return finish(.malformed("bad chunk size"))
                }
                line.removeAll(keepingCapacity: true)
                if size == 0 { return finish(.complete(status: status, body: body)) }
                chunks += 1
                if chunks > Self.chunkLimit { return finish(.malformed("more than \(Self.chunkLimit) chunks")) }
                if body.count + size > Self.bodyLimit {
                    return finish(.malformed("body larger than \(Self.bodyLimit) bytes"))
                }
                phase = .chunkData(remaining: size)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                body += bytes[index..<(index + take)]
                index += take
                phase = take == remaining ? .chunkEnd(seen: 0) : .chunkData(remaining: remaining - take)
            case .chunkEnd(let seen):
                guard bytes[index] == (seen == 0 ? 13 : 10) else {
                    return finish(.malformed("chunk not followed by CRLF"))
                }
                index += 1
                phase = seen == 0 ? .chunkEnd(seen: 1) : .chunkSize
            }
        }
        if case .done(let result) = phase { return result }
        guard eof else { return .incomplete }
        switch phase {
        case .head:
            return finish(.malformed(head.isEmpty ? "empty reply" : "reply ends inside the header"))
        case .length: return finish(.malformed("body shorter than Content-Length"))
        case .close: return finish(.complete(status: status, body: body))
        case .chunkSize, .chunkData, .chunkEnd: return finish(.malformed("reply ends inside a chunk"))
        case .done(let result): return result
        }
    }

    private static let httpPrefix = Array("HTTP/".utf8)

    /// One step of matching CR LF CR LF: how many of its bytes end the input after `byte`.
    private static func advance(_ matched: Int, _ byte: UInt8) -> Int {
        let expected: UInt8 = matched % 2 == 0 ? 13 : 10
        if byte == expected { return matched + 1 }
        return byte == 13 ? 1 : 0
    }

    private mutating func finish(_ result: Result) -> Result {
        phase = .done(result)
        body = []
        head = []
        return result
    }

    /// The status line and headers are in `head`: the phase the body starts in, or `.done`.
    private mutating func parseHead() -> Phase {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        head = []
        guard let statusLine = lines.first else { return .done(.malformed("no status line")) }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
            let status = Int(parts[1]), (100...999).contains(status)
        else { return .done(.malformed("bad status line \"\(statusLine.prefix(80))\"")) }
        self.status = status
        guard needBody else { return .done(.complete(status: status, body: [])) }

        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .done(.malformed("bad header line")) }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { return .done(.malformed("bad Content-Length")) }
                contentLength = length
            } else if name == "transfer-encoding" {
                chunked = value.lowercased().hasSuffix("chunked")
            }
        }
        if chunked { return .chunkSize }
        if let contentLength {
            if contentLength > Self.bodyLimit { return .done(.malformed("body larger than \(Self.bodyLimit) bytes")) }
            if contentLength == 0 { return .done(.complete(status: status, body: [])) }
            return .length(remaining: contentLength)
        }
        return .close
    }

    /// `size[;ext]` (RFC 9112 §7.1.1): 1 to 8 hex digits, spaces or tabs around them; read byte by byte (a
    /// hostile server's 1-byte chunks make this the parser's most frequent step).
    private static func chunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, line[index] == 32 || line[index] == 9 { index += 1 }
        while index < line.endIndex, let value = hexValue(line[index]) {
            size = size << 4 | value
            digits += 1
            index += 1
        }
        while index < line.endIndex, line[index] == 32 || line[index] == 9 { index += 1 }
        guard (1...8).contains(digits), index == line.endIndex || line[index] == UInt8(ascii: ";") else { return nil }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte - 48)
        case 65...70: Int(byte - 55)
        case 97...102: Int(byte - 87)
        default: nil
        }
    }

    /// The first occurrence of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count)
        where haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
