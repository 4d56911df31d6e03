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

/// The tokens of one line, in storage reused from line to line (`count` of `items` are this line's).
struct TokenBuffer {
    var items: [ConfigToken] = []
    var count = 0

    mutating func append(_ token: ConfigToken) {
        if count < items.count {
            items[count] = token
        } else {
            items.append(token)
        }
        count += 1
    }
}

/// One token of a line: a word, or a block brace (a quoted `"{"` is a word).
enum ConfigToken {
    /// A word as it is in the line: the bytes from `lower` up to `upper`.
    case plain(lower: Int, upper: Int)
    /// A word made of quoted parts or escapes.
    case assembled(String, quoted: Bool)
    case open
    case close

    /// The word's text (`{` or `}` for a brace); `line` is the line the token came from.
    fileprivate func text(in line: ByteView) -> String {
        switch self {
        case .plain(let lower, let upper): line.slice(lower, upper).string()
        case .assembled(let text, _): text
        case .open: "{"
        case .close: "}"
        }
    }

    var quoted: Bool {
        if case .assembled(_, let quoted) = self { quoted } else { false }
    }

    var isWord: Bool {
        switch self {
        case .plain, .assembled: true
        case .open, .close: false
        }
    }
}

private final class Preprocessor {
    private let source: any ConfigFileSource
    private let options: ConfigReaderOptions
    private var parameters: [String: String] = [:]
    private var diagnostics: [Diagnostic] = []
    private var errorCount = 0
    private var files: [String] = []
    private var includeStack: [String] = []
    /// `include_check`'s checks, added to every include's own; each file restores them when it ends.
    private var includeCheck: IncludeChecks = []
    private var expandedLines = 0
    /// Bytes produced by substitution and generators so far.
    private var expansionBytes = 0
    private var fileBytes = 0
    private var aborted = false
    // Both are used on every line, each in one call that does not come back into the preprocessor (which runs on
    // one thread): the dynamic exclusivity checks of a class's properties would cost more than the work.
    @exclusivity(unchecked) private var tree: TreeBuilder

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
        // keepalived restores include_check when a file ends: an included file cannot change it for its includer.
        let savedIncludeCheck = includeCheck
        defer {
            includeStack.removeLast()
            includeCheck = savedIncludeCheck
        }
        if let nul = firstNUL(in: bytes) {
            let line = bytes[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            error("not a text file (NUL byte); nothing of it was read", at: SourceLocation(file: path, line: line))
            return
        }
        readLines(of: bytes, file: path)
    }

    private func readLines(of bytes: [UInt8], file: String) {
        bytes.withUnsafeBufferPointer { buffer in readLines(of: ByteView(buffer), file: file) }
    }

    /// Reads the lines of a file's bytes. One pass over each line finds its end and where a comment
    /// starts (`#` or `!` outside quotes).
    private func readLines(of bytes: ByteView, file: String) {
        let directory = ConfigPath.directory(of: file)
        var multiline: (name: String, lines: [String], start: SourceLocation)?
        var lineNumber = 0
        var position = bytes.lower
        let end = bytes.upper
        while position <= end && !aborted {
            var lineEnd = position
            var cut = -1
            var comments = CommentScanner()
            while lineEnd < end {
                let byte = bytes[lineEnd]
                // Every byte that matters here (newline, `!`, `"`, `#`, `'`, `\`) is `\` or between space and `'`;
                // the byte after a `\` in quotes matters whatever it is, as it ends the escape.
                if !comments.escaped
                    && (byte == UInt8(ascii: " ") || (byte > UInt8(ascii: "'") && byte != UInt8(ascii: "\\")))
                {
                    lineEnd += 1
                    continue
                }
                if byte == UInt8(ascii: "\n") { break }
                if cut < 0 && comments.startsComment(byte) { cut = lineEnd }
                lineEnd += 1
            }
            lineNumber += 1
            let lineStart = position
            position = lineEnd + 1
            var length = lineEnd - lineStart
            if length > 0 && bytes[lineEnd - 1] == UInt8(ascii: "\r") { length -= 1 }
            if length > options.maxLineLength {
                error(
                    "line is \(length) bytes long, more than \(options.maxLineLength); it is not read",
                    at: SourceLocation(file: file, line: lineNumber))
                continue
            }
            let text = bytes.slice(lineStart, cut >= 0 ? cut : lineEnd).trimmed()

            if var definition = multiline {
                if text.isEmpty { continue }
                if text.last == UInt8(ascii: "\\") {
                    definition.lines.append(text.dropLast().trimmed().string())
                    multiline = definition
                } else {
                    definition.lines.append(text.string())
                    parameters[definition.name] = definition.lines.joined(separator: "\n")
                    multiline = nil
                }
                continue
            }
            if text.isEmpty { continue }
            let location = SourceLocation(file: file, line: lineNumber)
            if text.first == UInt8(ascii: "$"), text.last == UInt8(ascii: "\\"),
                let (name, value) = parseDefinition(text)
            {
                let first = trim(Array(value.utf8).dropLast()[...])
                multiline = (name, first.isEmpty ? [] : [string(first)], location)
                continue
            }
            process(text, at: location, directory: directory, depth: 0)
        }
        if let definition = multiline {
            parameters[definition.name] = definition.lines.joined(separator: "\n")
            error("multiline definition of $\(definition.name) runs to the end of the file", at: definition.start)
        }
    }

    // MARK: Logical lines

    /// Handles one comment-free, trimmed line: conditionals, definitions, generators, includes,
    /// parameter substitution (whose result is handled again), and finally the words of a statement.
    /// It works on the line's bytes: nothing here looks at characters beyond ASCII.
    private func process(_ line: ByteView, at location: SourceLocation, directory: String, depth: Int) {
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
            expansionBytes += line.count
            if expansionBytes > options.maxExpansionBytes {
                stop(
                    "parameters and generators expand to more than \(options.maxExpansionBytes) bytes "
                        + "(nested parameters?)", at: location)
                return
            }
        }
        var line = line

        // Conditional configuration: `@id rest` / `@^id rest`.
        if line.first == UInt8(ascii: "@") {
            var word = line.dropFirst()
            word.upper = word.firstIndex(where: isSpace) ?? word.upper
            let negated = word.first == UInt8(ascii: "^")
            if negated { word = word.dropFirst() }
            let matches = options.configID.map { word.equals($0) } ?? false
            guard matches != negated else { return }
            line.lower = word.upper
            line = line.trimmed()
            if line.isEmpty { return }
        }

        switch line.first {
        case UInt8(ascii: "$"):
            if let (name, value) = parseDefinition(line) {
                parameters[name] = value
                return
            }
        case UInt8(ascii: "~"):
            if line.starts(with: "~SEQ") || line.starts(with: "~LST") {
                expandGenerator(Substring(line.string()), at: location, directory: directory, depth: depth)
                return
            }
        case UInt8(ascii: "i"):
            var firstWord = line
            firstWord.upper = line.firstIndex(where: isSpace) ?? line.upper
            if firstWord.starts(with: "include"), IncludeKind(rawValue: firstWord.string()) != nil {
                include(line, at: location, directory: directory, depth: depth)
                return
            }
            // Takes effect for the includes that follow (the statement itself goes on to global_defs' schema, which
            // checks its words).
            if firstWord.equals("include_check") {
                includeCheck = IncludeChecks(
                    words: line.string().split(separator: " ").dropFirst().map(String.init),
                    current: includeCheck)
            }
        default: break
        }

        if line.firstIndex(where: { $0 == UInt8(ascii: "$") }) != nil {
            let substituted: [UInt8]
            switch substitute(line, directory: directory) {
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
            if !line.equals(substituted) {
                substituted.withUnsafeBufferPointer { buffer in
                    processSubstituted(ByteView(buffer), at: location, directory: directory, depth: depth)
                }
                return
            }
        }

        if let failure = tokenize(line, into: &tokens) {
            error(failure.message, at: location)
        } else {
            tree.add(tokens.items[..<tokens.count], of: line, at: location)
        }
    }

    /// The lines a substitution made, each handled again.
    private func processSubstituted(_ text: ByteView, at location: SourceLocation, directory: String, depth: Int) {
        var position = text.lower
        while position < text.upper {
            var part = text.slice(position, text.upper)
            part.upper = part.firstIndex(where: { $0 == UInt8(ascii: "\n") }) ?? text.upper
            position = part.upper + 1
            if part.isEmpty { continue }
            // A `#` or `!` a value brings (`${_HASH}`) starts a comment, as keepalived strips
            // comments again after substitution: a line can be commented out that way.
            let kept = part.strippingComment()
            let line = kept.trimmed()
            if !line.isEmpty && kept.upper < part.upper {
                report(
                    .warning(
                        "parameter substitution put a comment character in this line; as keepalived does, "
                            + "the rest of it ('\(part.slice(kept.upper, part.upper).string())') is ignored",
                        at: location))
            }
            if !line.isEmpty { process(line, at: location, directory: directory, depth: depth + 1) }
        }
    }

    /// The words of the line being read (kept to reuse its storage).
    @exclusivity(unchecked) private var tokens = TokenBuffer()

    /// `$NAME=value` → (NAME, value); `nil` when the text is not a definition.
    private func parseDefinition(_ bytes: ByteView) -> (String, String)? {
        let start = bytes.lower
        guard bytes.count >= 3, bytes[start] == UInt8(ascii: "$"), isNameStart(bytes[start + 1]) else { return nil }
        var index = start + 2
        while index < bytes.upper && isNameByte(bytes[index]) { index += 1 }
        guard index < bytes.upper, bytes[index] == UInt8(ascii: "=") else { return nil }
        return (bytes.slice(start + 1, index).string(), bytes.slice(index + 1, bytes.upper).trimmed().string())
    }

    // MARK: Parameters

    /// What substituting parameters in a line gave.
    private enum Substitution {
        case text([UInt8])
        /// A line of the result is longer than `maxLineLength`.
        case lineTooLong
        /// The result would exceed what is left of `maxExpansionBytes`.
        case overBudget
    }

    /// Replaces `${NAME}` anywhere and `$NAME` before white space or the end, for defined names and
    /// keepalived's built-ins; undefined ones stay as they are. The result is bounded: no line of it
    /// longer than `maxLineLength`, all of it within the expansion budget.
    private func substitute(_ line: ByteView, directory: String) -> Substitution {
        let bytes = line.array
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
        return .text(output)
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
        let rest = Array(line[line.index(after: close)...].trimmingWhitespace().utf8)
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
            rest.withUnsafeBufferPointer { process(ByteView($0), at: location, directory: directory, depth: depth + 1) }
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

    private func include(_ line: ByteView, at location: SourceLocation, directory: String, depth: Int) {
        var buffer = TokenBuffer()
        if let failure = tokenize(line, into: &buffer) {
            error(failure.message, at: location)
            return
        }
        let words = buffer.items[..<buffer.count]
        let kind = IncludeKind(rawValue: words[0].text(in: line))!
        // The pattern is the rest of the line as written: glob braces are not blocks here.
        var rest = line.slice(line.lower + kind.rawValue.utf8.count, line.upper).trimmed().array[...]
        if words.count == 2, words[1].quoted { rest = Array(words[1].text(in: line).utf8)[...] }
        guard !rest.isEmpty,
            !rest.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) || words.count == 2
        else {
            error("\(kind.rawValue) takes one file name or pattern", at: location)
            return
        }
        let substituted = Array(rest).withUnsafeBufferPointer { substitute(ByteView($0), directory: directory) }
        guard case .text(let expanded) = substituted else {
            error("parameter substitution makes the \(kind.rawValue) pattern too long", at: location)
            return
        }
        let pattern = ConfigPath.resolve(String(decoding: expanded, as: UTF8.self), relativeTo: directory)
        let checks = includeCheck.union(kind.checks)
        let paths = source.expand(pattern)
        let alternatives = GlobPattern.expandBraces(pattern)
        // keepalived's include checks: each problem is an error when its check applies, else a warning.
        if paths.isEmpty {
            let check: IncludeChecks =
                pattern.contains(where: { "*?[".contains($0) })
                ? .wildcardMatch : alternatives.count > 1 ? .braceMatch : .match
            report(
                Diagnostic(
                    checks.contains(check) ? .error : .warning, "\(kind.rawValue): no file matches \(pattern)",
                    at: location))
            return
        }
        if alternatives.count > 1, let missing = alternatives.first(where: { source.expand($0).isEmpty }) {
            let strict = checks.contains(.braceMatch)
            report(
                Diagnostic(
                    strict ? .error : .warning,
                    "\(kind.rawValue): \(missing) of \(pattern) matches no file"
                        + (strict ? " (include_check brace_match: nothing of it is read)" : ""), at: location))
            if strict { return }
        }
        for path in paths {
            readFile(path, includedFrom: location, strict: checks.contains(.read))
        }
    }

    // MARK: Words

    /// Splits a line into `tokens` (emptied first): white space separates, `"…"` and `'…'` quote (with
    /// shell-like escapes), and `{` / `}` are words of their own. A word without quotes is made straight
    /// from the line's bytes.
    /// - Returns: why the line cannot be split, or `nil`.
    private func tokenize(_ line: ByteView, into tokens: inout TokenBuffer) -> TokenizeError? {
        tokens.count = 0
        var index = line.lower
        let end = line.upper
        while index < end {
            let byte = line[index]
            if isSpace(byte) {
                index += 1
                continue
            }
            if byte == UInt8(ascii: "{") {
                tokens.append(.open)
                index += 1
                continue
            }
            if byte == UInt8(ascii: "}") {
                tokens.append(.close)
                index += 1
                continue
            }
            // A word: plain bytes up to a space, a brace or a quote.
            let start = index
            var stop: UInt8 = 0
            while index < end {
                let next = line[index]
                // Letters, digits and most punctuation lie between `'` and `{`: one test for them.
                if next > UInt8(ascii: "'") && next < UInt8(ascii: "{") {
                    index += 1
                    continue
                }
                if isSpace(next) || next == UInt8(ascii: "{") || next == UInt8(ascii: "}")
                    || next == UInt8(ascii: "\"") || next == UInt8(ascii: "'")
                {
                    stop = next
                    break
                }
                index += 1
            }
            let quoteNext = stop == UInt8(ascii: "\"") || stop == UInt8(ascii: "'")
            let undefinedParameter = stop == UInt8(ascii: "{") && index > start && line[index - 1] == UInt8(ascii: "$")
            if !quoteNext && !undefinedParameter {
                tokens.append(.plain(lower: start, upper: index))
                continue
            }
            // The word goes on with quotes (or an undefined `${NAME}`): assemble it.
            var current = line.slice(start, index).array
            var quoted = false
            var quote: UInt8?
            while index < end {
                let next = line[index]
                if let open = quote {
                    if next == open {
                        quote = nil
                    } else if next == UInt8(ascii: "\\") && index + 1 < end {
                        index = unescape(line, at: index + 1, into: &current)
                        continue
                    } else {
                        current.append(next)
                    }
                    index += 1
                    continue
                }
                if next == UInt8(ascii: "\"") || next == UInt8(ascii: "'") {
                    quote = next
                    quoted = true
                } else if next == UInt8(ascii: "{") && current.last == UInt8(ascii: "$") {
                    // An undefined `${NAME}` stays one word rather than opening a block.
                    var close = index
                    while close < end - 1 && line[close] != UInt8(ascii: "}") { close += 1 }
                    current += line.slice(index, close + 1).array
                    index = close + 1
                    continue
                } else if isSpace(next) || next == UInt8(ascii: "{") || next == UInt8(ascii: "}") {
                    break
                } else {
                    current.append(next)
                }
                index += 1
            }
            if quote != nil { return TokenizeError("unterminated quoted string") }
            tokens.append(.assembled(String(decoding: current, as: UTF8.self), quoted: quoted))
        }
        return nil
    }

    /// Decodes the escape after a backslash at `index`; returns the index after it.
    private func unescape(_ bytes: ByteView, at index: Int, into output: inout [UInt8]) -> Int {
        let byte = bytes[index]
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "a"): 7
            case UInt8(ascii: "b"): 8
            case UInt8(ascii: "E"): 27
            case UInt8(ascii: "f"): 12
            case UInt8(ascii: "n"): 10
            case UInt8(ascii: "r"): 13
            case UInt8(ascii: "t"): 9
            case UInt8(ascii: "v"): 11
            default: nil
            }
        if let value = simple {
            output.append(value)
            return index + 1
        }
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") {
            var value = 0
            var end = index
            while end < bytes.upper && end < index + 3 && bytes[end] >= UInt8(ascii: "0")
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
            while end < bytes.upper, let digit = hexValue(bytes[end]) {
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
        if byte == UInt8(ascii: "c") && index + 1 < bytes.upper {
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

    /// The checks the variant adds to `include_check`'s (keepalived.conf(5)).
    var checks: IncludeChecks {
        switch self {
        case .include: []
        case .includer: .read
        case .includem: [.read, .match]
        case .includew: [.read, .match, .wildcardMatch]
        case .includeb: [.read, .braceMatch]
        case .includea: .all
        }
    }
}

/// `include_check [[+|-]read|match|wildcard_match|brace_match …]`: what makes an include an error, not a warning.
struct IncludeChecks: OptionSet {
    let rawValue: UInt8
    /// A file that matches cannot be read.
    static let read = IncludeChecks(rawValue: 1)
    /// A name without wildcards matches no file.
    static let match = IncludeChecks(rawValue: 2)
    /// A pattern with wildcards matches no file.
    static let wildcardMatch = IncludeChecks(rawValue: 4)
    /// One alternative of a `{a,b}` pattern matches no file.
    static let braceMatch = IncludeChecks(rawValue: 8)
    static let all: IncludeChecks = [.read, .match, .wildcardMatch, .braceMatch]

    /// As keepalived's `include_check_set`: no word is all of them; a first word without a sign sets `read` and it;
    /// `+x` / `-x` add or remove one. Words it does not know are left to the schema to report.
    init(words: [String], current: IncludeChecks) {
        guard !words.isEmpty else {
            self = .all
            return
        }
        var checks = current
        for (index, word) in words.enumerated() {
            let sign = word.first.flatMap { "+-".contains($0) ? $0 : nil }
            let name = sign == nil ? word : String(word.dropFirst())
            let flag: IncludeChecks? =
                switch name {
                case "read": .read
                case "match": .match
                case "wildcard_match": .wildcardMatch
                case "brace_match": .braceMatch
                default: nil
                }
            if sign == nil && index == 0 { checks = [] }
            guard let flag, sign != nil || index == 0 else { continue }
            switch sign {
            case "+": checks.insert(flag)
            case "-": checks.remove(flag)
            default: checks = [.read, flag]
            }
        }
        self = checks
    }

    init(rawValue: UInt8) { self.rawValue = rawValue }
}

// MARK: Tree building

/// Turns the words of logical lines into nested `ConfigNode`s.
private struct TreeBuilder {
    private struct Frame {
        var keyword: String
        var arguments: [String]
        var location: SourceLocation
        var children: [ConfigNode]

        init(keyword: String, arguments: [String], location: SourceLocation) {
            self.keyword = keyword
            self.arguments = arguments
            self.location = location
            // Most blocks (real_server, a checker) have a few statements: one allocation for them.
            children = []
            children.reserveCapacity(4)
        }
    }

    let maxDepth: Int
    private(set) var diagnostics: [Diagnostic] = []
    private var frames: [Frame] = [Frame(keyword: "", arguments: [], location: SourceLocation(file: "", line: 0))]
    private var words = WordCache()
    /// Blocks opened beyond `maxDepth`, skipped until they close.
    private var skippedDepth = 0

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    /// Adds the statements of one line: each run of words is a statement, which a `{` after it opens.
    fileprivate mutating func add(_ tokens: ArraySlice<ConfigToken>, of line: ByteView, at location: SourceLocation) {
        var index = tokens.startIndex
        while index < tokens.endIndex {
            switch tokens[index] {
            case .open:
                open(nil, [], at: location)
                index += 1
            case .close:
                close(at: location)
                index += 1
            case .plain, .assembled:
                let keyword = words.text(of: tokens[index], in: line)
                var end = index + 1
                while end < tokens.endIndex, tokens[end].isWord { end += 1 }
                var arguments: [String] = []
                if end > index + 1 {
                    arguments.reserveCapacity(end - index - 1)
                    for argument in (index + 1)..<end { arguments.append(words.text(of: tokens[argument], in: line)) }
                }
                if end < tokens.endIndex, case .open = tokens[end] {
                    open(keyword, arguments, at: location)
                    end += 1
                } else if skippedDepth == 0 {
                    let node = ConfigNode(keyword: keyword, arguments: arguments, location: location)
                    frames[frames.count - 1].children.append(node)
                }
                index = end
            }
        }
    }

    /// Opens the block of `keyword` (`nil`: of the statement on the line before).
    private mutating func open(_ keyword: String?, _ arguments: [String], at location: SourceLocation) {
        if skippedDepth > 0 || frames.count > maxDepth {
            if skippedDepth == 0 {
                diagnostics.append(
                    .error("blocks nested more than \(maxDepth) deep; the block is ignored", at: location))
            }
            skippedDepth += 1
            return
        }
        guard let keyword else {
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
        frames.append(Frame(keyword: keyword, arguments: arguments, location: location))
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

/// The words of a file as strings, the short ones (most: keywords, numbers, addresses) made once each: a file of a large
/// farm repeats a few hundred words tens of thousands of times, and a string made from bytes costs a UTF-8 check and a
/// copy, where one found here costs a hash of two machine words.
private struct WordCache {
    private struct Entry {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var count = -1
        var text = ""
    }

    private static let size = 1024
    private var entries = [Entry](repeating: Entry(), count: WordCache.size)

    mutating func text(of token: ConfigToken, in line: ByteView) -> String {
        guard case .plain(let lower, let upper) = token else { return token.text(in: line) }
        let count = upper - lower
        // Up to 15 bytes: what a Swift string holds without an allocation of its own.
        guard count <= 15 else { return line.slice(lower, upper).string() }
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(start: line.base + lower, count: count))
        }
        let mixed = (words.0 &* 0x9E37_79B9_7F4A_7C15) ^ (words.1 &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(count)
        let slot = Int(truncatingIfNeeded: (mixed ^ (mixed >> 29)) & UInt64(Self.size - 1))
        if entries[slot].count == count, entries[slot].low == words.0, entries[slot].high == words.1 {
            return entries[slot].text
        }
        let text = line.slice(lower, upper).string()
        entries[slot] = Entry(low: words.0, high: words.1, count: count, text: text)
        return text
    }
}

// MARK: Byte helpers

/// The index of the first NUL byte, read eight bytes at a time.
private func firstNUL(in bytes: [UInt8]) -> Int? {
    bytes.withUnsafeBytes { raw -> Int? in
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        while index + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // Nonzero exactly when one of the eight bytes is zero.
            if (word &- ones) & ~word & highs != 0 { break }
            index += 8
        }
        while index < raw.count {
            if raw[index] == 0 { return index }
            index += 1
        }
        return nil
    }
}

/// Finds where a comment starts in a line read byte by byte: at the first `#` or `!` outside `"…"` and `'…'`, in
/// which a backslash escapes the byte after it.
private struct CommentScanner {
    private var quote: UInt8 = 0
    /// The last byte was a backslash in quotes: the next one is taken as it is.
    private(set) var escaped = false

    /// Takes the line's next byte; whether a comment starts at it.
    mutating func startsComment(_ byte: UInt8) -> Bool {
        if quote != 0 {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == quote {
                quote = 0
            }
            return false
        }
        if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "!") { return true }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") { quote = byte }
        return false
    }
}

/// A range of bytes in a buffer that outlives the view (a file's bytes, or what a substitution made):
/// a line or a part of one. Indices are the buffer's.
private struct ByteView {
    let base: UnsafePointer<UInt8>
    var lower: Int
    var upper: Int

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have no address; nothing is ever read through it then.
        base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        lower = 0
        upper = buffer.count
    }

    private init(base: UnsafePointer<UInt8>, lower: Int, upper: Int) {
        self.base = base
        self.lower = lower
        self.upper = upper
    }

    subscript(index: Int) -> UInt8 { base[index] }

    var isEmpty: Bool { lower >= upper }
    var count: Int { upper - lower }
    var first: UInt8? { lower < upper ? base[lower] : nil }
    var last: UInt8? { lower < upper ? base[upper - 1] : nil }

    /// The bytes from `lower` up to `upper` of the same buffer.
    func slice(_ lower: Int, _ upper: Int) -> ByteView { ByteView(base: base, lower: lower, upper: upper) }

    func dropFirst() -> ByteView { slice(min(lower + 1, upper), upper) }
    func dropLast() -> ByteView { slice(lower, max(upper - 1, lower)) }

    /// Without white space at either end.
    func trimmed() -> ByteView {
        var view = self
        while view.lower < view.upper && isSpace(base[view.lower]) { view.lower += 1 }
        while view.upper > view.lower && isSpace(base[view.upper - 1]) { view.upper -= 1 }
        return view
    }

    /// Cut at the first `#` or `!` outside quotes.
    func strippingComment() -> ByteView {
        var comments = CommentScanner()
        for index in lower..<upper where comments.startsComment(base[index]) { return slice(lower, index) }
        return self
    }

    func firstIndex(where predicate: (UInt8) -> Bool) -> Int? {
        var index = lower
        while index < upper {
            if predicate(base[index]) { return index }
            index += 1
        }
        return nil
    }

    func starts(with prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard count <= self.count else { return false }
        let bytes = prefix.utf8Start
        for offset in 0..<count where base[lower + offset] != bytes[offset] { return false }
        return true
    }

    func equals(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { equals($0) }
    }

    func equals(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { equals($0) }
    }

    func equals(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == count else { return false }
        for offset in 0..<count where base[lower + offset] != bytes[offset] { return false }
        return true
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: base + lower, count: count)) }

    func string() -> String { String(decoding: UnsafeBufferPointer(start: base + lower, count: count), as: UTF8.self) }
}

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
