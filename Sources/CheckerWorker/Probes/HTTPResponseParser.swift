/// A small HTTP/1.x response reader (RFC 9112) for HTTP_GET/SSL_GET: the status line, the framing headers,
/// and a body delimited by `Content-Length`, chunked transfer coding (RFC 9112 §7.1) or the close.
enum HTTPResponseParser {
    /// The largest body read (for `digest`/`regex`); keepalived likewise reads a bounded amount.
    static let bodyLimit = 4 << 20
    /// The largest status line plus headers.
    static let headLimit = 64 << 10

    enum Result: Equatable {
        /// More bytes are needed.
        case incomplete
        case complete(status: Int, body: [UInt8])
        /// The reply is not HTTP (or breaks a limit); the reason says how.
        case malformed(String)
    }

    /// Parses what arrived so far. `needBody` false decides as soon as the head is in; `eof` means the peer closed.
    static func parse(_ data: [UInt8], eof: Bool, needBody: Bool) -> Result {
        guard let headEnd = find([13, 10, 13, 10], in: data, from: 0) else {
            if data.count > headLimit { return .malformed("header larger than \(headLimit) bytes") }
            if eof { return data.isEmpty ? .malformed("empty reply") : .malformed("reply ends inside the header") }
            // Reject non-HTTP early rather than waiting for the timeout.
            if data.count >= 5, !data.starts(with: Array("HTTP/".utf8)) { return .malformed("not an HTTP reply") }
            return .incomplete
        }
        let head = String(decoding: data[..<headEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first else { return .malformed("no status line") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
            let status = Int(parts[1]), (100...999).contains(status)
        else { return .malformed("bad status line \"\(statusLine.prefix(80))\"") }
        guard needBody else { return .complete(status: status, body: []) }

        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("bad header line") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { return .malformed("bad Content-Length") }
                contentLength = length
            } else if name == "transfer-encoding" {
                chunked = value.lowercased().hasSuffix("chunked")
            }
        }
        let body = Array(data[(headEnd + 4)...])
        if chunked { return dechunk(body, status: status, eof: eof) }
        if let contentLength {
            if contentLength > bodyLimit { return .malformed("body larger than \(bodyLimit) bytes") }
            if body.count >= contentLength { return .complete(status: status, body: Array(body.prefix(contentLength))) }
            return eof ? .malformed("body shorter than Content-Length") : .incomplete
        }
        if body.count > bodyLimit { return .malformed("body larger than \(bodyLimit) bytes") }
        return eof ? .complete(status: status, body: body) : .incomplete
    }

    /// RFC 9112 §7.1: `size[;ext] CRLF data CRLF` … `0 CRLF [trailers] CRLF`.
    static func dechunk(_ data: [UInt8], status: Int, eof: Bool) -> Result {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = find([13, 10], in: data, from: index) else {
                return eof ? .malformed("reply ends inside a chunk") : .incomplete
            }
            let sizeText = String(decoding: data[index..<lineEnd], as: UTF8.self)
                .split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingSpaces
            guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(sizeText, radix: 16) else {
                return .malformed("bad chunk size")
            }
            if body.count + size > bodyLimit { return .malformed("body larger than \(bodyLimit) bytes") }
            let dataStart = lineEnd + 2
            if size == 0 { return .complete(status: status, body: body) }
            guard data.count >= dataStart + size + 2 else {
                return eof ? .malformed("reply ends inside a chunk") : .incomplete
            }
            guard data[dataStart + size] == 13, data[dataStart + size + 1] == 10 else {
                return .malformed("chunk not followed by CRLF")
            }
            body += data[dataStart..<(dataStart + size)]
            index = dataStart + size + 2
        }
    }

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
