/// Where the reader gets file contents and include expansions from. The reader itself does no I/O,
/// so tests hand it an `InMemoryFileSource` and the daemon a `DiskFileSource`.
public protocol ConfigFileSource: Sendable {
    /// The bytes of the file at `path`, at most `limit` of them (a longer file is an error).
    func read(_ path: String, limit: Int) throws(ConfigFileError) -> [UInt8]
    /// The paths that the absolute glob `pattern` names, sorted (csh-style braces allowed).
    func expand(_ pattern: String) -> [String]
    /// A name that is the same for every path of one file, to find include loops.
    func identity(of path: String) -> String
}

/// Why a configuration file could not be read.
public struct ConfigFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case notFound
        case permissionDenied
        case tooLarge
        case notARegularFile
        case other
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Files held in memory, for tests and for configurations that arrive over a socket.
public struct InMemoryFileSource: ConfigFileSource {
    public var files: [String: String]

    public init(_ files: [String: String]) {
        self.files = files
    }

    public func read(_ path: String, limit: Int) throws(ConfigFileError) -> [UInt8] {
        guard let text = files[ConfigPath.normalize(path)] else {
            throw ConfigFileError(.notFound, "\(path): no such file")
        }
        let bytes = Array(text.utf8)
        guard bytes.count <= limit else {
            throw ConfigFileError(.tooLarge, "\(path): file is larger than \(limit) bytes")
        }
        return bytes
    }

    public func expand(_ pattern: String) -> [String] {
        let pattern = ConfigPath.normalize(pattern)
        return files.keys.filter { GlobPattern.matches(pattern, $0) }.sorted()
    }

    public func identity(of path: String) -> String { ConfigPath.normalize(path) }
}

/// Path arithmetic on `/`-separated strings, without touching the file system.
public enum ConfigPath {
    /// The directory part of `path` (`.` when there is none).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` taken relative to `directory` unless it is absolute.
    public static func resolve(_ path: String, relativeTo directory: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(directory + "/" + path)
    }

    /// Removes `.` components, folds `..` and duplicate slashes.
    public static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == ".." && absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}

/// A small glob matcher (`*`, `?`, `[...]`, `{a,b}`) for in-memory files; the disk source uses glob(3).
enum GlobPattern {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        for alternative in expandBraces(pattern) where match(Array(alternative.utf8)[...], Array(path.utf8)[...]) {
            return true
        }
        return false
    }

    /// `a{b,c}d` → `abd`, `acd` (nested braces included).
    static func expandBraces(_ pattern: String) -> [String] {
        let bytes = Array(pattern.utf8)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "{")) else { return [pattern] }
        var depth = 0
        var commas: [Int] = []
        var close: Int?
        for index in open..<bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { close = index }
            case UInt8(ascii: ","): if depth == 1 { commas.append(index) }
            default: break
            }
            if close != nil { break }
        }
        guard let close else { return [pattern] }
        let prefix = String(decoding: bytes[..<open], as: UTF8.self)
        let suffix = String(decoding: bytes[(close + 1)...], as: UTF8.self)
        let bounds = [open] + commas + [close]
        var results: [String] = []
        for index in 0..<(bounds.count - 1) {
            let piece = String(decoding: bytes[(bounds[index] + 1)..<bounds[index + 1]], as: UTF8.self)
            results += expandBraces(prefix + piece + suffix)
        }
        return results
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var starP: Int?
        var starT = 0
        while t < text.endIndex {
            if p < pattern.endIndex {
                let c = pattern[p]
                if c == UInt8(ascii: "*") {
                    starP = p
                    starT = t
                    p += 1
                    continue
                }
                if c == UInt8(ascii: "?") && text[t] != UInt8(ascii: "/") {
                    p += 1
                    t += 1
                    continue
                }
                if c == UInt8(ascii: "["), let (matched, next) = matchClass(pattern, p, text[t]) {
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                } else if c == text[t] {
                    p += 1
                    t += 1
                    continue
                }
            }
            if let star = starP, text[starT] != UInt8(ascii: "/") {
                p = star + 1
                starT += 1
                t = starT
                continue
            }
            return false
        }
        while p < pattern.endIndex && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    private static func matchClass(_ pattern: ArraySlice<UInt8>, _ start: Int, _ c: UInt8) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.endIndex && (pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^")) {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.endIndex && (first || pattern[index] != UInt8(ascii: "]")) {
            first = false
            if index + 2 < pattern.endIndex && pattern[index + 1] == UInt8(ascii: "-")
                && pattern[index + 2] != UInt8(ascii: "]")
            {
                if pattern[index] <= c && c <= pattern[index + 2] { matched = true }
                index += 3
            } else {
                if pattern[index] == c { matched = true }
                index += 1
            }
        }
        guard index < pattern.endIndex else { return nil }
        return (matched != negate, index + 1)
    }
}
