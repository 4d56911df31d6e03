/// Limits and inputs of the preprocessor. The limits turn hostile or broken input (an include loop,
/// a generator that never ends, junk with thousands of errors) into diagnostics instead of a hang.
public struct ConfigReaderOptions: Sendable {
    /// The `-i` config id that `@id` / `@^id` lines are compared with; `nil` matches no `@id`.
    public var configID: String?
    /// The value of `${_INSTANCE}` (keepalived: the `-i` value, else the host name).
    public var instanceName: String
    public var maxFileSize: Int
    /// Bytes of all files read together (an include fan-out reads files many times).
    public var maxTotalFileBytes: Int
    /// Files read, counting a file included twice twice.
    public var maxFiles: Int
    /// Logical lines after includes, parameters and generators.
    public var maxExpandedLines: Int
    /// A line as written, or as parameter substitution makes it.
    public var maxLineLength: Int
    /// Text produced by parameter substitution and generators, all lines together: nested parameters
    /// grow exponentially, so this bounds the work as well as the memory.
    public var maxExpansionBytes: Int
    public var maxIncludeDepth: Int
    public var maxBlockDepth: Int
    /// Reading stops after this many errors.
    public var maxErrors: Int
    /// Supplies `${_RANDOM MIN MAX}`.
    public var random: @Sendable (ClosedRange<Int>) -> Int

    public init(
        configID: String? = nil,
        instanceName: String? = nil,
        maxFileSize: Int = 64 << 20,
        maxTotalFileBytes: Int = 128 << 20,
        maxFiles: Int = 1_000,
        maxExpandedLines: Int = 1_000_000,
        maxLineLength: Int = 64 << 10,
        maxExpansionBytes: Int = 32 << 20,
        maxIncludeDepth: Int = 32,
        maxBlockDepth: Int = 16,
        maxErrors: Int = 200,
        random: @escaping @Sendable (ClosedRange<Int>) -> Int = { Int.random(in: $0) }
    ) {
        self.configID = configID
        self.instanceName = instanceName ?? configID ?? ""
        self.maxFileSize = maxFileSize
        self.maxTotalFileBytes = maxTotalFileBytes
        self.maxFiles = maxFiles
        self.maxExpandedLines = maxExpandedLines
        self.maxLineLength = maxLineLength
        self.maxExpansionBytes = maxExpansionBytes
        self.maxIncludeDepth = maxIncludeDepth
        self.maxBlockDepth = maxBlockDepth
        self.maxErrors = maxErrors
        self.random = random
    }
}

/// What the reader made of a configuration: the statement tree and the problems met on the way.
public struct ConfigTree: Sendable {
    public var nodes: [ConfigNode]
    public var diagnostics: [Diagnostic]
    /// Every file that was read, the main file first.
    public var files: [String]
}

/// Reads keepalived.conf(5) text into a `ConfigNode` tree: comments, quoting, `include` globs,
/// `$NAME=value` parameters, `@id` conditional lines, `~SEQ`/`~LST` generators, and `{ }` blocks.
/// It assigns no meaning to keywords; that is `ConfigSchema`'s job.
public enum ConfigReader {
    /// Reads the file at `path` and everything it includes.
    public static func read(
        path: String,
        from source: some ConfigFileSource,
        options: ConfigReaderOptions = ConfigReaderOptions()
    ) -> ConfigTree {
        let preprocessor = Preprocessor(source: source, options: options)
        preprocessor.readFile(path, includedFrom: nil, strict: true)
        return preprocessor.finish()
    }

    /// Reads configuration text that is not in a file (`name` is used in diagnostics and as the base
    /// directory for relative includes).
    public static func read(
        text: String,
        name: String = "<config>",
        options: ConfigReaderOptions = ConfigReaderOptions()
    ) -> ConfigTree {
        read(path: name, from: InMemoryFileSource([ConfigPath.normalize(name): text]), options: options)
    }
}

/// One word of a statement. `quoted` keeps `"{"` apart from the block brace `{`.
struct ConfigToken: Equatable {
    var text: String
    var quoted: Bool
}

private final class Preprocessor {
    private let source: any ConfigFileSource
    private let options: ConfigReaderOptions
    private var parameters: [String: String] = [:]
    private var diagnostics: [Diagnostic] = []
    private var errorCount = 0
    private var files: [String] = []
    private var includeStack: [String] = []
    private var expandedLines = 0
    /// Bytes produced by substitution and generators so far.
    private var expansionBytes = 0
    private var fileBytes = 0
    private var aborted = false
    private var tree: TreeBuilder

    init(source: any ConfigFileSource, options: ConfigReaderOptions) {
        self.source = source
        self.options = options
        self.tree = TreeBuilder(maxDepth: options.maxBlockDepth)
    }

    func finish() -> ConfigTree {
        let nodes = tree.finish()
        for diagnostic in tree.diagnostics { report(diagnostic) }
        return ConfigTree(nodes: nodes, diagnostics: diagnostics, files: files)
    }

    private func report(_ diagnostic: Diagnostic) {
        guard !aborted || diagnostic.severity == .warning else { return }
        diagnostics.append(diagnostic)
        if diagnostic.severity == .error {
            errorCount += 1
            if errorCount >= options.maxErrors {
                diagnostics.append(.error("too many errors (\(errorCount)); stopped reading", at: diagnostic.location))
                aborted = true
            }
        }
    }

    private func error(_ message: String, at location: SourceLocation?) {
        report(.error(message, at: location))
    }

    /// Reports a limit reached and stops reading: what follows would only repeat the work.
    private func stop(_ message: String, at location: SourceLocation?) {
        error(message + "; stopped reading", at: location)
        aborted = true
    }

    // MARK: Files

    /// Reads one file. `strict` makes an unreadable file an error rather than a warning.
    func readFile(_ path: String, includedFrom: SourceLocation?, strict: Bool) {
        guard !aborted else { return }
        let identity = source.identity(of: path)
        if includeStack.contains(identity) {
            error("include loop: \(path) is already being read", at: includedFrom)
            return
        }
        if includeStack.count >= options.maxIncludeDepth {
            error("includes nested more than \(options.maxIncludeDepth) deep at \(path)", at: includedFrom)
            return
        }
        if files.count >= options.maxFiles {
            stop("more than \(options.maxFiles) files read (includes of includes?) at \(path)", at: includedFrom)
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try source.read(path, limit: options.maxFileSize)
        } catch {
            report(Diagnostic(strict ? .error : .warning, "cannot read \(error.message)", at: includedFrom))
            return
        }
        fileBytes += bytes.count
        if fileBytes > options.maxTotalFileBytes {
            stop("the files read come to more than \(options.maxTotalFileBytes) bytes at \(path)", at: includedFrom)
            return
        }
        files.append(path)
        includeStack.append(identity)
        defer { includeStack.removeLast() }
        if let nul = bytes.firstIndex(of: 0) {
            let line = bytes[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            error("not a text file (NUL byte); nothing of it was read", at: SourceLocation(file: path, line: line))
            return
        }
        readLines(of: bytes, file: path)
    }

    private func readLines(of bytes: [UInt8], file: String) {
        let directory = ConfigPath.directory(of: file)
        var multiline: (name: String, lines: [String], start: SourceLocation)?
        var lineNumber = 0
        var start = bytes.startIndex
        while start <= bytes.endIndex && !aborted {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            lineNumber += 1
            var raw = bytes[start..<end]
            start = end + 1
            if raw.last == UInt8(ascii: "\r") { raw = raw.dropLast() }
            let location = SourceLocation(file: file, line: lineNumber)
            if raw.count > options.maxLineLength {
                error(
                    "line is \(raw.count) bytes long, more than \(options.maxLineLength); it is not read", at: location)
                continue
            }
            let text = trim(stripComment(raw))

            if var definition = multiline {
                if text.isEmpty { continue }
                if text.last == UInt8(ascii: "\\") {
                    definition.lines.append(string(trim(text.dropLast())))
                    multiline = definition
                } else {
                    definition.lines.append(string(text))
                    parameters[definition.name] = definition.lines.joined(separator: "\n")
                    multiline = nil
                }
                continue
            }
            if text.isEmpty { continue }
            if text.first == UInt8(ascii: "$"), text.last == UInt8(ascii: "\\"),
                let (name, value) = parseDefinition(string(text))
            {
                let first = trim(Array(value.utf8).dropLast()[...])
                multiline = (name, first.isEmpty ? [] : [string(first)], location)
                continue
            }
            process(string(text), at: location, directory: directory, depth: 0)
        }
        if let definition = multiline {
            parameters[definition.name] = definition.lines.joined(separator: "\n")
            error("multiline definition of $\(definition.name) runs to the end of the file", at: definition.start)
        }
    }

    // MARK: Logical lines

    /// Handles one comment-free, trimmed line: conditionals, definitions, generators, includes,
    /// parameter substitution (whose result is handled again), and finally the words of a statement.
    private func process(_ line: String, at location: SourceLocation, directory: String, depth: Int) {
        guard !aborted else { return }
        if depth > 64 {
            error(
                "parameter expansion nested more than 64 levels deep (does a parameter refer to itself?)", at: location)
            return
        }
        expandedLines += 1
        if expandedLines > options.maxExpandedLines {
            stop("configuration expands to more than \(options.maxExpandedLines) lines", at: location)
            return
        }
        if depth > 0 {
            expansionBytes += line.utf8.count
            if expansionBytes > options.maxExpansionBytes {
                stop(
                    "parameters and generators expand to more than \(options.maxExpansionBytes) bytes "
                        + "(nested parameters?)", at: location)
                return
            }
        }
        var line = Substring(line)

        // Conditional configuration: `@id rest` / `@^id rest`.
        if line.first == "@" {
            var word = line.dropFirst().prefix { !$0.isWhitespace }
            let negated = word.first == "^"
            if negated { word = word.dropFirst() }
            let matches = options.configID.map { $0 == word } ?? false
            guard matches != negated else { return }
            line = line.dropFirst(1 + (negated ? 1 : 0) + word.count).drop { $0.isWhitespace }
            if line.isEmpty { return }
        }

        if line.first == "$", let (name, value) = parseDefinition(String(line)) {
            parameters[name] = value
            return
        }

        if line.hasPrefix("~SEQ") || line.hasPrefix("~LST") {
            expandGenerator(line, at: location, directory: directory, depth: depth)
            return
        }

        let firstWord = line.prefix { !$0.isWhitespace }
        if firstWord.hasPrefix("include"), IncludeKind(rawValue: String(firstWord)) != nil {
            include(line, at: location, directory: directory, depth: depth)
            return
        }

        if line.contains("$") {
            let substituted: String
            switch substitute(String(line), directory: directory) {
            case .text(let text): substituted = text
            case .lineTooLong:
                error(
                    "parameter substitution makes this line longer than \(options.maxLineLength) bytes "
                        + "(nested parameters?); it is not read", at: location)
                return
            case .overBudget:
                stop(
                    "parameters and generators expand to more than \(options.maxExpansionBytes) bytes "
                        + "(nested parameters?)", at: location)
                return
            }
            if substituted != line {
                for part in substituted.split(separator: "\n", omittingEmptySubsequences: true) {
                    // A `#` or `!` a value brings (`${_HASH}`) starts a comment, as keepalived strips
                    // comments again after substitution: a line can be commented out that way.
                    let bytes = Array(part.utf8)[...]
                    let kept = stripComment(bytes)
                    let text = trim(kept)
                    if !text.isEmpty && kept.count < bytes.count {
                        report(
                            .warning(
                                "parameter substitution put a comment character in this line; as keepalived does, "
                                    + "the rest of it ('\(string(bytes[kept.endIndex...]))') is ignored", at: location))
                    }
                    if !text.isEmpty { process(string(text), at: location, directory: directory, depth: depth + 1) }
                }
                return
            }
        }

        switch tokenize(line) {
        case .success(let tokens): tree.add(tokens, at: location)
        case .failure(let failure): error(failure.message, at: location)
        }
    }

    /// `$NAME=value` → (NAME, value); `nil` when the text is not a definition.
    private func parseDefinition(_ text: String) -> (String, String)? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "$"), isNameStart(bytes[1]) else { return nil }
        var index = 2
        while index < bytes.count && isNameByte(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return nil }
        let name = String(decoding: bytes[1..<index], as: UTF8.self)
        let value = String(decoding: trim(bytes[(index + 1)...]), as: UTF8.self)
        return (name, value)
    }

    // MARK: Parameters

    /// What substituting parameters in a line gave.
    private enum Substitution {
        case text(String)
        /// A line of the result is longer than `maxLineLength`.
        case lineTooLong
        /// The result would exceed what is left of `maxExpansionBytes`.
        case overBudget
    }

    /// Replaces `${NAME}` anywhere and `$NAME` before white space or the end, for defined names and
    /// keepalived's built-ins; undefined ones stay as they are. The result is bounded: no line of it
    /// longer than `maxLineLength`, all of it within the expansion budget.
    private func substitute(_ line: String, directory: String) -> Substitution {
        let bytes = Array(line.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        let budget = options.maxExpansionBytes - expansionBytes
        var lineStart = 0
        func append(_ value: String) -> Substitution? {
            for byte in value.utf8 {
                output.append(byte)
                if byte == UInt8(ascii: "\n") { lineStart = output.count }
            }
            if output.count - lineStart > options.maxLineLength { return .lineTooLong }
            if output.count > budget { return .overBudget }
            return nil
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "$"), index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            if bytes[index + 1] == UInt8(ascii: "{"),
                let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}"))
            {
                let inner = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
                if let value = value(of: inner, directory: directory) {
                    if let failure = append(value) { return failure }
                    index = close + 1
                    continue
                }
            } else if isNameStart(bytes[index + 1]) {
                var end = index + 2
                while end < bytes.count && isNameByte(bytes[end]) { end += 1 }
                if end == bytes.count || isSpace(bytes[end]),
                    let value = value(
                        of: String(decoding: bytes[(index + 1)..<end], as: UTF8.self), directory: directory)
                {
                    if let failure = append(value) { return failure }
                    index = end
                    continue
                }
            }
            output.append(byte)
            index += 1
        }
        return .text(String(decoding: output, as: UTF8.self))
    }

    private func value(of reference: String, directory: String) -> String? {
        if let value = parameters[reference] { return value }
        let words = reference.split(whereSeparator: { $0.isWhitespace })
        switch words.first {
        case "_PWD": return words.count == 1 ? directory : nil
        case "_INSTANCE": return words.count == 1 ? options.instanceName : nil
        case "_HASH": return words.count == 1 ? "#" : nil
        case "_BANG": return words.count == 1 ? "!" : nil
        case "_RANDOM":
            guard words.count <= 3 else { return nil }
            let numbers = words.dropFirst().map { Int($0) }
            guard numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
            let low = numbers.first.flatMap { $0 } ?? 0
            let high = numbers.count > 1 ? numbers[1]! : 32767
            guard low <= high else { return nil }
            return String(options.random(low...high))
        default: return nil
        }
    }

    // MARK: Generators

    /// `~SEQ(var, start, step, end) rest`, `~SEQx(...)`, `~LST(var, v1, v2, …) rest`,
    /// `~LST({a, b}, {1, 2}, {3, 4}) rest`: the rest of the line once for each value.
    private func expandGenerator(_ line: Substring, at location: SourceLocation, directory: String, depth: Int) {
        guard let open = line.firstIndex(of: "("), let close = matchingParenthesis(in: line, from: open) else {
            error("generator \(line.prefix { $0 != "(" && !$0.isWhitespace }) has no closing ')'", at: location)
            return
        }
        let kind = line[line.startIndex..<open]
        let arguments = splitTopLevel(line[line.index(after: open)..<close])
        let rest = String(line[line.index(after: close)...].trimmingWhitespace())
        guard !rest.isEmpty else {
            error("\(kind)(…) has nothing after it to repeat", at: location)
            return
        }
        let bindings: AnySequence<[(String, String)]>
        switch kind {
        case "~SEQ", "~SEQx":
            guard let values = sequence(arguments, hex: kind == "~SEQx", at: location) else { return }
            let name = arguments[0]
            bindings = AnySequence(values.lazy.map { [(name, $0)] })
        case "~LST":
            guard let lists = list(arguments, at: location) else { return }
            bindings = AnySequence(lists)
        default:
            error("unknown generator '\(kind)' (expected ~SEQ, ~SEQx or ~LST)", at: location)
            return
        }
        for binding in bindings {
            guard !aborted else { return }
            for (name, value) in binding { parameters[name] = value }
            process(rest, at: location, directory: directory, depth: depth + 1)
        }
    }

    /// The values of a `~SEQ`, made one at a time (a long sequence stops at the line limit).
    private func sequence(
        _ arguments: [String], hex: Bool, at location: SourceLocation
    ) -> LazyMapSequence<Range<Int>, String>? {
        guard (2...4).contains(arguments.count), isName(arguments[0]) else {
            error("~SEQ takes (variable, [start, [step,]] end)", at: location)
            return nil
        }
        let numbers = arguments.dropFirst().map(parseInteger)
        guard numbers.allSatisfy({ $0 != nil }) else {
            error("~SEQ bounds must be integers: \(arguments.dropFirst().joined(separator: ", "))", at: location)
            return nil
        }
        let values = numbers.map { $0! }
        let end = values.last!
        let start = values.count >= 2 ? values[0] : (end >= 0 ? 1 : -1)
        let step = values.count == 3 ? values[1] : (end >= start ? 1 : -1)
        guard step != 0 else {
            error("~SEQ step must not be 0", at: location)
            return nil
        }
        let count =
            step > 0 ? (end >= start ? (end - start) / step + 1 : 0) : (start >= end ? (start - end) / -step + 1 : 0)
        guard count <= options.maxExpandedLines else {
            error("~SEQ produces \(count) values, more than \(options.maxExpandedLines)", at: location)
            return nil
        }
        return (0..<count).lazy.map { index in
            let value = start + index * step
            return hex ? (value < 0 ? "-" + String(-value, radix: 16) : String(value, radix: 16)) : String(value)
        }
    }

    private func list(_ arguments: [String], at location: SourceLocation) -> [[(String, String)]]? {
        guard arguments.count >= 2 else {
            error("~LST takes (variable, value, …) with at least one value", at: location)
            return nil
        }
        func unbrace(_ text: String) -> [String]? {
            guard text.hasPrefix("{") else { return [text] }
            guard text.hasSuffix("}") else { return nil }
            return splitTopLevel(Substring(text.dropFirst().dropLast()))
        }
        guard let names = unbrace(arguments[0]), names.allSatisfy(isName) else {
            error("~LST variable list '\(arguments[0])' is not a name or {name, …}", at: location)
            return nil
        }
        var result: [[(String, String)]] = []
        for argument in arguments.dropFirst() {
            guard let values = unbrace(argument), values.count == names.count else {
                error("~LST value '\(argument)' does not give \(names.count) value(s)", at: location)
                return nil
            }
            result.append(Array(zip(names, values)))
        }
        return result
    }

    private func matchingParenthesis(in line: Substring, from open: Substring.Index) -> Substring.Index? {
        var depth = 0
        for index in line[open...].indices {
            if line[index] == "(" { depth += 1 }
            if line[index] == ")" {
                depth -= 1
                if depth == 0 { return index }
            }
        }
        return nil
    }

    /// Splits `a, {b, c}, d` at commas outside braces, trimming each part.
    private func splitTopLevel(_ text: Substring) -> [String] {
        var parts: [String] = []
        var depth = 0
        var current = ""
        for character in text {
            switch character {
            case "{": depth += 1
            case "}": depth -= 1
            case "," where depth == 0:
                parts.append(String(current.trimmingWhitespace()))
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        parts.append(String(current.trimmingWhitespace()))
        return parts
    }

    // MARK: Includes

    private func include(_ line: Substring, at location: SourceLocation, directory: String, depth: Int) {
        let words: [ConfigToken]
        switch tokenize(line) {
        case .success(let tokens): words = tokens
        case .failure(let failure):
            error(failure.message, at: location)
            return
        }
        let kind = IncludeKind(rawValue: words[0].text)!
        // The pattern is the rest of the line as written: glob braces are not blocks here.
        var rest = String(line.dropFirst(kind.rawValue.count).trimmingWhitespace())
        if words.count == 2, words[1].quoted { rest = words[1].text }
        guard !rest.isEmpty, !rest.contains(where: { $0 == " " || $0 == "\t" }) || words.count == 2 else {
            error("\(kind.rawValue) takes one file name or pattern", at: location)
            return
        }
        guard case .text(let expanded) = substitute(rest, directory: directory) else {
            error("parameter substitution makes the \(kind.rawValue) pattern too long", at: location)
            return
        }
        let pattern = ConfigPath.resolve(expanded, relativeTo: directory)
        let paths = source.expand(pattern)
        if paths.isEmpty {
            report(
                Diagnostic(
                    kind.strict ? .error : .warning, "\(kind.rawValue): no file matches \(pattern)", at: location))
        }
        for path in paths {
            readFile(path, includedFrom: location, strict: kind.strict)
        }
    }

    // MARK: Words

    /// Splits a line into words: white space separates, `"…"` and `'…'` quote (with shell-like
    /// escapes), and `{` / `}` are words of their own.
    private func tokenize(_ line: Substring) -> Result<[ConfigToken], TokenizeError> {
        var tokens: [ConfigToken] = []
        var current: [UInt8] = []
        var inWord = false
        var quoted = false
        var quote: UInt8?
        let bytes = Array(line.utf8)
        var index = 0
        func flush() {
            if inWord { tokens.append(ConfigToken(text: String(decoding: current, as: UTF8.self), quoted: quoted)) }
            current.removeAll(keepingCapacity: true)
            inWord = false
            quoted = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            if let open = quote {
                if byte == open {
                    quote = nil
                } else if byte == UInt8(ascii: "\\") && index + 1 < bytes.count {
                    index = unescape(bytes, at: index + 1, into: &current)
                    continue
                } else {
                    current.append(byte)
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                quote = byte
                inWord = true
                quoted = true
            case UInt8(ascii: "{") where current.last == UInt8(ascii: "$"):
                // An undefined `${NAME}` stays one word rather than opening a block.
                let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) ?? bytes.count - 1
                current += bytes[index...close]
                index = close + 1
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "}"):
                flush()
                tokens.append(ConfigToken(text: String(UnicodeScalar(byte)), quoted: false))
            case _ where isSpace(byte):
                flush()
            default:
                current.append(byte)
                inWord = true
            }
            index += 1
        }
        if quote != nil { return .failure(TokenizeError("unterminated quoted string")) }
        flush()
        return .success(tokens)
    }

    /// Decodes the escape after a backslash at `index`; returns the index after it.
    private func unescape(_ bytes: [UInt8], at index: Int, into output: inout [UInt8]) -> Int {
        let byte = bytes[index]
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "E"): 27, UInt8(ascii: "f"): 12,
            UInt8(ascii: "n"): 10, UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11,
        ]
        if let value = simple[byte] {
            output.append(value)
            return index + 1
        }
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") {
            var value = 0
            var end = index
            while end < bytes.count && end < index + 3 && bytes[end] >= UInt8(ascii: "0")
                && bytes[end] <= UInt8(ascii: "7")
            {
                value = value * 8 + Int(bytes[end] - UInt8(ascii: "0"))
                end += 1
            }
            output.append(UInt8(truncatingIfNeeded: value))
            return end
        }
        if byte == UInt8(ascii: "x") {
            var value = 0
            var end = index + 1
            while end < bytes.count, let digit = hexValue(bytes[end]) {
                value = (value * 16 + digit) & 0xff
                end += 1
            }
            if end == index + 1 {
                output.append(byte)
                return end
            }
            output.append(UInt8(value))
            return end
        }
        if byte == UInt8(ascii: "c") && index + 1 < bytes.count {
            output.append(bytes[index + 1] & 0x1f)
            return index + 2
        }
        output.append(byte)
        return index + 1
    }
}

private struct TokenizeError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// `include` and its checking variants (keepalived.conf(5)).
private enum IncludeKind: String {
    case include, includer, includem, includew, includeb, includea

    /// Whether a pattern that matches nothing, or a file that cannot be read, is an error.
    var strict: Bool { self == .includem || self == .includea || self == .includer }
}

// MARK: Tree building

/// Turns the words of logical lines into nested `ConfigNode`s.
private struct TreeBuilder {
    private struct Frame {
        var keyword: String
        var arguments: [String]
        var location: SourceLocation
        var children: [ConfigNode] = []
    }

    let maxDepth: Int
    private(set) var diagnostics: [Diagnostic] = []
    private var frames: [Frame] = [Frame(keyword: "", arguments: [], location: SourceLocation(file: "", line: 0))]
    /// Blocks opened beyond `maxDepth`, skipped until they close.
    private var skippedDepth = 0

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    mutating func add(_ tokens: [ConfigToken], at location: SourceLocation) {
        var statement: [String] = []
        for token in tokens {
            if token.quoted || (token.text != "{" && token.text != "}") {
                statement.append(token.text)
            } else if token.text == "{" {
                open(&statement, at: location)
            } else {
                end(&statement, at: location)
                close(at: location)
            }
        }
        end(&statement, at: location)
    }

    /// The statement so far becomes a leaf node.
    private mutating func end(_ statement: inout [String], at location: SourceLocation) {
        guard !statement.isEmpty else { return }
        defer { statement.removeAll() }
        guard skippedDepth == 0 else { return }
        let node = ConfigNode(keyword: statement[0], arguments: Array(statement.dropFirst()), location: location)
        frames[frames.count - 1].children.append(node)
    }

    private mutating func open(_ statement: inout [String], at location: SourceLocation) {
        if skippedDepth > 0 || frames.count > maxDepth {
            if skippedDepth == 0 {
                diagnostics.append(
                    .error("blocks nested more than \(maxDepth) deep; the block is ignored", at: location))
            }
            skippedDepth += 1
            statement.removeAll()
            return
        }
        if statement.isEmpty {
            // `keyword args` on one line and `{` on the next: the brace belongs to the statement before.
            guard let previous = frames[frames.count - 1].children.last, previous.children == nil else {
                diagnostics.append(.error("'{' without a keyword before it", at: location))
                frames.append(Frame(keyword: "{", arguments: [], location: location))
                return
            }
            frames[frames.count - 1].children.removeLast()
            frames.append(Frame(keyword: previous.keyword, arguments: previous.arguments, location: previous.location))
            return
        }
        frames.append(Frame(keyword: statement[0], arguments: Array(statement.dropFirst()), location: location))
        statement.removeAll()
    }

    private mutating func close(at location: SourceLocation) {
        if skippedDepth > 0 {
            skippedDepth -= 1
            return
        }
        guard frames.count > 1 else {
            diagnostics.append(.error("unexpected '}' with no open block", at: location))
            return
        }
        let frame = frames.removeLast()
        let node = ConfigNode(
            keyword: frame.keyword, arguments: frame.arguments, children: frame.children, location: frame.location)
        if frame.keyword != "{" { frames[frames.count - 1].children.append(node) }
    }

    mutating func finish() -> [ConfigNode] {
        while frames.count > 1 {
            let frame = frames[frames.count - 1]
            let name = ([frame.keyword] + frame.arguments).joined(separator: " ")
            diagnostics.append(.error("block '\(name)' is never closed (missing '}')", at: frame.location))
            close(at: frame.location)
        }
        return frames[0].children
    }
}

// MARK: Byte helpers

private func isSpace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == 0x0b || byte == 0x0c || byte == 0x0d
}

private func isNameStart(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || byte == UInt8(ascii: "_")
}

private func isNameByte(_ byte: UInt8) -> Bool {
    isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
}

private func isName(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard let first = bytes.first, isNameStart(first) else { return false }
    return bytes.allSatisfy(isNameByte)
}

private func hexValue(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
    default: nil
    }
}

/// Integers as ~SEQ takes them: decimal or 0x hex, optionally negative.
private func parseInteger(_ text: String) -> Int? {
    var text = Substring(text)
    let negative = text.first == "-"
    if negative { text = text.dropFirst() }
    let value: Int?
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
        value = Int(text.dropFirst(2), radix: 16)
    } else {
        value = Int(text)
    }
    guard let value, value < Int(Int32.max) else { return nil }
    return negative ? -value : value
}

/// Cuts a line at the first `#` or `!` outside quotes.
private func stripComment(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var quote: UInt8?
    var escaped = false
    for index in line.indices {
        let byte = line[index]
        if let open = quote {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == open {
                quote = nil
            }
            continue
        }
        if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "!") { return line[line.startIndex..<index] }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { quote = byte }
    }
    return line
}

private func trim(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var slice = bytes
    while let first = slice.first, isSpace(first) { slice = slice.dropFirst() }
    while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
    return slice
}

private func string(_ bytes: ArraySlice<UInt8>) -> String {
    String(decoding: bytes, as: UTF8.self)
}

extension StringProtocol {
    /// The text without leading and trailing white space.
    func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return text[text.endIndex...] }
        let last = text.lastIndex(where: { !$0.isWhitespace })!
        return text[first...last]
    }
}
