/// Collects diagnostics while the schema walks the tree, and turns the words of a statement into
/// checked values. Every value helper reports its own error (naming the keyword and the line) and
/// returns `nil`, so handlers read as `if let priority = context.integer(node, in: 1...255) { … }`.
public final class SchemaContext {
    public private(set) var diagnostics: [Diagnostic] = []
    /// After this many errors the rest are dropped (a file of junk would otherwise yield one per line).
    public let maxErrors: Int
    private var errorCount = 0
    private var warningCount = 0

    /// Called with each statement a `KeywordTable` dispatches, and the table's block name (tests use
    /// it to learn which block each line of a file belongs to).
    var observer: ((String, ConfigNode) -> Void)?

    public init(maxErrors: Int = 200) {
        self.maxErrors = maxErrors
    }

    /// Whether the error limit has been reached; callers may skip costly work (suggestions) then.
    public var isSaturated: Bool { errorCount >= maxErrors }

    private func record(_ diagnostic: Diagnostic) {
        switch diagnostic.severity {
        case .error:
            guard errorCount < maxErrors else { return }
            errorCount += 1
            diagnostics.append(diagnostic)
            if errorCount == maxErrors {
                diagnostics.append(.error("too many errors (\(maxErrors)); stopped checking", at: diagnostic.location))
            }
        case .warning:
            guard warningCount < maxErrors else { return }
            warningCount += 1
            diagnostics.append(diagnostic)
        }
    }

    public func error(_ message: String, at node: ConfigNode) {
        record(.error(message, at: node.location))
    }

    public func error(_ message: String, at location: SourceLocation?) {
        record(.error(message, at: location))
    }

    public func warning(_ message: String, at node: ConfigNode) {
        record(.warning(message, at: node.location))
    }

    public func warning(_ message: String, at location: SourceLocation?) {
        record(.warning(message, at: location))
    }

    // MARK: Shape of a statement

    /// The statement's arguments when their number is in `count`. Words beyond the most it takes are
    /// ignored with a warning, as keepalived ignores them without a word (`preempt delay 300`, or
    /// `TCP_CHECK { connect_timeout 1 retry 1 }`, where keepalived reads `connect_timeout 1` only).
    @discardableResult
    public func arguments(_ node: ConfigNode, count: ClosedRange<Int>) -> [String]? {
        if node.arguments.count > count.upperBound {
            ignoreSurplus(node, keeping: count.upperBound)
            return Array(node.arguments.prefix(count.upperBound))
        }
        guard count.contains(node.arguments.count) else {
            let expected: String
            if count.lowerBound == count.upperBound {
                expected =
                    count.lowerBound == 0 ? "no value" : "\(count.lowerBound) value\(count.lowerBound == 1 ? "" : "s")"
            } else if count.upperBound >= Int.max / 2 {
                expected = "at least \(count.lowerBound) value\(count.lowerBound == 1 ? "" : "s")"
            } else {
                expected = "\(count.lowerBound) to \(count.upperBound) values"
            }
            error("'\(node.keyword)' takes \(expected), got \(node.arguments.count)", at: node)
            return nil
        }
        return node.arguments
    }

    /// Warns that the words after the first `kept` are ignored, with what was used, and a guess at
    /// what was meant: an underscore keyword (`preempt delay` → `preempt_delay`), or a second
    /// statement on the same line.
    func ignoreSurplus(_ node: ConfigNode, keeping kept: Int) {
        let extra = node.arguments.dropFirst(kept).joined(separator: " ")
        var message =
            kept == 0
            ? "'\(node.keyword)' takes no value; ignored '\(extra)'"
            : "'\(node.keyword)' takes \(kept) value\(kept == 1 ? "" : "s"); used '\(node.arguments.prefix(kept).joined(separator: " "))' and ignored '\(extra)'"
        let known = KeywordCatalog.keywords(of: blocks.last ?? "")
        let next = node.arguments[kept]
        if known.contains(node.keyword + "_" + next) {
            message += " — did you mean '\(node.keyword)_\(extra)'?"
        } else if known.contains(next) {
            message += " — keepalived reads one statement per line: put '\(extra)' on a line of its own"
        } else {
            message += ", as keepalived does"
        }
        warning(message, at: node)
    }

    /// The blocks being read, innermost last (`KeywordTable.apply` keeps it).
    var blocks: [String] = []

    /// The single argument of `keyword VALUE`.
    public func single(_ node: ConfigNode) -> String? {
        arguments(node, count: 1...1)?.first
    }

    /// The statements inside the block the statement opens; an error when it opens none.
    public func block(_ node: ConfigNode) -> [ConfigNode]? {
        guard let children = node.children else {
            error("'\(node.keyword)' needs a { } block", at: node)
            return nil
        }
        return children
    }

    /// Reports a block where none belongs; returns whether the statement is a plain line.
    @discardableResult
    public func noBlock(_ node: ConfigNode) -> Bool {
        guard node.children == nil else {
            error("'\(node.keyword)' does not take a { } block", at: node)
            return false
        }
        return true
    }

    // MARK: Values

    /// A whole number in `range`, from `text` (which names the keyword in errors).
    /// - Parameter what: what the number is, for the error (default: the keyword); made only for an error.
    public func integer(
        _ text: String, in range: ClosedRange<Int>, for node: ConfigNode, what: @autoclosure () -> String? = nil
    ) -> Int? {
        guard let value = Int(text), range.contains(value) else {
            let name = what() ?? "'\(node.keyword)'"
            error(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'",
                at: node)
            return nil
        }
        return value
    }

    /// `keyword N` with N in `range`.
    public func integer(_ node: ConfigNode, in range: ClosedRange<Int>) -> Int? {
        guard let text = single(node) else { return nil }
        return integer(text, in: range, for: node)
    }

    /// keepalived's `<BOOL>`: `on|off|true|false|yes|no`; a flag keyword alone means true.
    public func flag(_ node: ConfigNode) -> Bool? {
        guard let words = arguments(node, count: 0...1) else { return nil }
        guard let word = words.first else { return true }
        switch word.lowercased() {
        case "on", "true", "yes": return true
        case "off", "false", "no": return false
        default:
            error("'\(node.keyword)' takes on|off|true|false|yes|no, not '\(word)'", at: node)
            return nil
        }
    }

    /// keepalived's `<TIMER>`: seconds with an optional fraction, resolution a microsecond.
    public func duration(_ text: String, in range: ClosedRange<Duration>, for node: ConfigNode) -> Duration? {
        guard let microseconds = Self.microseconds(text) else {
            error("'\(node.keyword)' takes a time in seconds (like 1 or 0.5), not '\(text)'", at: node)
            return nil
        }
        let value = Duration.microseconds(microseconds)
        guard range.contains(value) else {
            error(
                "'\(node.keyword)' must be from \(Self.seconds(range.lowerBound)) to \(Self.seconds(range.upperBound)) seconds, not \(text)",
                at: node)
            return nil
        }
        return value
    }

    /// `keyword SECONDS`.
    public func duration(_ node: ConfigNode, in range: ClosedRange<Duration>) -> Duration? {
        guard let text = single(node) else { return nil }
        return duration(text, in: range, for: node)
    }

    /// One of `choices` (case-sensitive unless `ignoringCase`).
    public func choice(_ node: ConfigNode, _ choices: [String], ignoringCase: Bool = false) -> String? {
        guard let text = single(node) else { return nil }
        return choice(text, choices, for: node, ignoringCase: ignoringCase)
    }

    public func choice(_ text: String, _ choices: [String], for node: ConfigNode, ignoringCase: Bool = false) -> String?
    {
        if let match = choices.first(where: { ignoringCase ? $0.lowercased() == text.lowercased() : $0 == text }) {
            return match
        }
        error("'\(node.keyword)' takes one of \(choices.joined(separator: ", ")), not '\(text)'", at: node)
        return nil
    }

    /// An IPv4 or IPv6 address. Unless `exact`, a `/LEN` or `-RANGE` after it is ignored with a warning,
    /// as keepalived ignores it (`unicast_src_ip 192.0.2.1/24`): its inet_stosockaddr cuts it off.
    public func address(
        _ text: String, for node: ConfigNode, family: IPAddress.Family? = nil, exact: Bool = false
    ) -> IPAddress? {
        let parsed = IPAddress(text)
        if !exact, parsed == nil, let cut = text.firstIndex(where: { $0 == "/" || $0 == "-" }),
            IPAddress(text[..<cut]) != nil
        {
            warning(
                "'\(text)' in '\(node.keyword)': the '\(text[cut...])' is ignored, as keepalived ignores it; "
                    + "using \(text[..<cut])", at: node)
            return address(String(text[..<cut]), for: node, family: family, exact: true)
        }
        guard let address = parsed else {
            error("'\(text)' is not an IPv4 or IPv6 address (in '\(node.keyword)')", at: node)
            return nil
        }
        if let family, address.family != family {
            error(
                "'\(text)' is an \(address.family == .ipv4 ? "IPv4" : "IPv6") address where an \(family == .ipv4 ? "IPv4" : "IPv6") one is needed",
                at: node)
            return nil
        }
        return address
    }

    public func prefix(_ text: String, for node: ConfigNode) -> IPPrefix? {
        guard let prefix = IPPrefix(text) else {
            error("'\(text)' is not an address or address/prefix-length (in '\(node.keyword)')", at: node)
            return nil
        }
        return prefix
    }

    public func port(_ text: String, for node: ConfigNode, allowZero: Bool = false) -> Int? {
        integer(text, in: (allowZero ? 0 : 1)...65535, for: node, what: "port in '\(node.keyword)'")
    }

    /// Reports a keyword this block does not have, with the nearest known one as a suggestion.
    public func unknown(_ node: ConfigNode, in blockName: String, known: some Sequence<String>) {
        guard !isSaturated else { return }
        var message = "unknown keyword '\(node.keyword)' in \(blockName)"
        if let suggestion = Suggestion.nearest(to: node.keyword, in: known) {
            message += "; did you mean '\(suggestion)'?"
        }
        error(message, at: node)
    }

    /// Reports a keyword Vigil recognises that does not take effect, with the reason.
    public func notInEffect(_ node: ConfigNode, in blockName: String, _ why: NotInEffect) {
        warning("'\(node.keyword)' in \(blockName) does not take effect in Vigil (\(why.reason)); ignored", at: node)
    }

    /// Reports a keyword Vigil recognises but does not implement yet; it is otherwise ignored.
    public func unsupported(_ node: ConfigNode, in blockName: String) {
        notInEffect(node, in: blockName, .notYetImplemented)
    }

    // MARK: Time helpers

    /// `SECONDS[.FRACTION]` in microseconds: at most 9 digits of seconds, the fraction cut to 6 digits.
    static func microseconds(_ text: String) -> Int64? {
        var whole: Int64 = 0
        var wholeDigits = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint else { return nil }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            if seenPoint {
                if fractionDigits < 6 { fraction = fraction * 10 + digit }
                fractionDigits += 1
            } else {
                guard wholeDigits < 9 else { return nil }
                whole = whole * 10 + digit
                wholeDigits += 1
            }
        }
        guard wholeDigits > 0 || fractionDigits > 0 else { return nil }
        for _ in min(fractionDigits, 6)..<6 { fraction *= 10 }
        return whole * 1_000_000 + fraction
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let micro = attoseconds / 1_000_000_000_000
        if micro == 0 { return "\(seconds)" }
        var fraction = String(micro)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(seconds).\(fraction)"
    }
}

/// "Did you mean" for misspelt keywords: the nearest by edit distance, if near enough.
public enum Suggestion {
    public static func nearest(to word: String, in candidates: some Sequence<String>) -> String? {
        let limit = max(2, word.count / 3)
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased(), limit: limit)
            if distance <= limit, best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    /// Levenshtein distance, with adjacent transpositions counted as one edit.
    static func editDistance(_ a: String, _ b: String, limit: Int) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
