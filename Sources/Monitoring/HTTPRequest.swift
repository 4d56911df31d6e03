/// The head of an HTTP/1.x request (RFC 9112), as far as a read-only monitoring endpoint needs it.
public struct HTTPRequestHead: Sendable, Hashable {
    public var method: String
    /// The path, without the query (`/metrics`).
    public var path: String
    /// HTTP/1.0 or HTTP/1.1: the minor version.
    public var minorVersion: Int
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only
    /// with `Connection: keep-alive`).
    public var keepAlive: Bool

    public init(method: String, path: String, minorVersion: Int = 1, keepAlive: Bool = true) {
        self.method = method
        self.path = path
        self.minorVersion = minorVersion
        self.keepAlive = keepAlive
    }
}

/// Why a request is refused before it is routed: the status to answer with (the connection is then closed).
public struct HTTPRequestError: Error, Sendable, Hashable {
    public var status: HTTPStatus
    public var reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

/// Parses request heads from the bytes a connection has sent, bounded: a head is at most `maxHeadSize` bytes with
/// at most `maxHeaderLines` header lines, and a request may not have a body (the endpoints are read-only).
public enum HTTPRequestParser {
    public static let maxHeadSize = 8192
    public static let maxHeaderLines = 64

    public enum Result: Sendable, Hashable {
        /// More bytes are needed.
        case incomplete
        /// A complete head, which took `consumed` bytes of the input.
        case request(HTTPRequestHead, consumed: Int)
        case invalid(HTTPRequestError)
    }

    /// The first request head in `bytes`.
    public static func parse(_ bytes: some Collection<UInt8>) -> Result {
        let bytes = Array(bytes.prefix(maxHeadSize + 4))
        guard let end = headEnd(bytes) else {
            return bytes.count > maxHeadSize
                ? .invalid(HTTPRequestError(.headersTooLarge, "request head larger than \(maxHeadSize) bytes"))
                : .incomplete
        }
        guard end.lines.upperBound <= maxHeadSize else {
            return .invalid(HTTPRequestError(.headersTooLarge, "request head larger than \(maxHeadSize) bytes"))
        }
        let lines = bytes[end.lines].split(separator: 0x0a, omittingEmptySubsequences: false).map { line in
            line.last == 0x0d ? line.dropLast() : line
        }
        switch head(lines[0], headers: lines.dropFirst()) {
        case .success(let head): return .request(head, consumed: end.consumed)
        case .failure(let error): return .invalid(error)
        }
    }

    /// Where the head is: its lines (the request line to the last header line, without the final line end) and
    /// the bytes through the empty line that ends it. Empty lines before the request line are skipped (RFC 9112
    /// §2.2), and a bare LF ends a line too (a recipient may accept it).
    static func headEnd(_ bytes: [UInt8]) -> (lines: Range<Int>, consumed: Int)? {
        var start = 0
        while start < bytes.count, bytes[start] == 0x0d || bytes[start] == 0x0a { start += 1 }
        var index = start
        while index < bytes.count {
            if bytes[index] == 0x0a {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0a { return (start..<index, index + 2) }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0d, bytes[index + 2] == 0x0a {
                    return (start..<index, index + 3)
                }
            }
            index += 1
        }
        return nil
    }

    private static func head(_ requestLine: ArraySlice<UInt8>, headers: ArraySlice<ArraySlice<UInt8>>)
        -> Swift.Result<HTTPRequestHead, HTTPRequestError>
    {
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, let method = token(parts[0]), let target = String(validating: parts[1], as: UTF8.self),
            let version = String(validating: parts[2], as: UTF8.self)
        else { return .failure(HTTPRequestError(.badRequest, "malformed request line")) }
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            guard version.hasPrefix("HTTP/") else {
                return .failure(HTTPRequestError(.badRequest, "malformed request line"))
            }
            return .failure(HTTPRequestError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served"))
        }
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            return .failure(HTTPRequestError(.badRequest, "the request target must be a path"))
        }
        guard headers.count <= maxHeaderLines else {
            return .failure(HTTPRequestError(.headersTooLarge, "more than \(maxHeaderLines) header lines"))
        }
        var connection: [String] = []
        var hasHost = false
        for line in headers {
            guard let colon = line.firstIndex(of: 0x3a), let name = token(line[..<colon]),
                let value = String(validating: line[line.index(after: colon)...], as: UTF8.self)
            else { return .failure(HTTPRequestError(.badRequest, "malformed header line")) }
            let trimmed = value.trimmingSpaces
            switch name.lowercased() {
            case "host": hasHost = true
            case "connection":
                connection += trimmed.lowercased().split(separator: ",").map { String($0).trimmingSpaces }
            case "content-length":
                guard trimmed == "0" else {
                    return .failure(HTTPRequestError(.contentTooLarge, "requests with a body are not accepted"))
                }
            case "transfer-encoding":
                return .failure(HTTPRequestError(.contentTooLarge, "requests with a body are not accepted"))
            default: break
            }
        }
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
        guard hasHost || minor == 0 else { return .failure(HTTPRequestError(.badRequest, "no Host header")) }
        let path = String(target.prefix { $0 != "?" && $0 != "#" })
        let keepAlive = minor == 1 ? !connection.contains("close") : connection.contains("keep-alive")
        return .success(HTTPRequestHead(method: method, path: path, minorVersion: minor, keepAlive: keepAlive))
    }

    /// An RFC 9110 token (method, header name), else nil.
    private static func token(_ bytes: ArraySlice<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy(isTokenCharacter) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}

/// The statuses the monitoring endpoints answer with.
public enum HTTPStatus: Int, Sendable, Hashable {
    case ok = 200
    case badRequest = 400
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case contentTooLarge = 413
    case headersTooLarge = 431
    case serviceUnavailable = 503
    case versionNotSupported = 505

    public var reasonPhrase: String {
        switch self {
        case .ok: "OK"
        case .badRequest: "Bad Request"
        case .notFound: "Not Found"
        case .methodNotAllowed: "Method Not Allowed"
        case .requestTimeout: "Request Timeout"
        case .contentTooLarge: "Content Too Large"
        case .headersTooLarge: "Request Header Fields Too Large"
        case .serviceUnavailable: "Service Unavailable"
        case .versionNotSupported: "HTTP Version Not Supported"
        }
    }
}

/// A complete response, as bytes to write.
public struct HTTPResponse: Sendable, Hashable {
    public var status: HTTPStatus
    public var contentType: String
    public var body: [UInt8]
    /// Extra header lines (`Allow: GET, HEAD`).
    public var headers: [(String, String)]

    public init(
        _ status: HTTPStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8],
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// A plain-text response (an error's reason).
    public static func text(_ status: HTTPStatus, _ text: String, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status, body: Array((text + "\n").utf8), headers: headers)
    }

    /// The bytes on the wire: status line, headers, and the body unless `omitBody` (HEAD).
    public func serialized(keepAlive: Bool, omitBody: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\n"
        head += "X-Content-Type-Options: nosniff\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + (omitBody ? [] : body)
    }

    public static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.contentType == rhs.contentType && lhs.body == rhs.body
            && lhs.headers.map { [$0.0, $0.1] } == rhs.headers.map { [$0.0, $0.1] }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        hasher.combine(contentType)
        hasher.combine(body)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (Foundation-free `trimmingCharacters`).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
