import Config

/// Why a program could not be described, resolved or run, naming the script or user concerned.
public struct ScriptError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public enum Code: Sendable, Hashable {
        case emptyCommand
        case unterminatedQuote
        case unknownUser
        case unknownGroup
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A program and its arguments, split from a configured command line as keepalived splits it.
///
/// keepalived 2.2.7 does not run scripts through a shell: it splits the string into words at unquoted
/// blanks (single and double quotes group words, a backslash escapes the next character), does no
/// globbing or variable expansion, and searches `PATH` for a program name without a slash.
public struct ScriptCommand: Hashable, Sendable {
    /// The program (first element) and its arguments.
    public var arguments: [String]

    /// Splits `commandLine` into words.
    /// - Throws: `ScriptError` naming the text when it holds no word or ends inside a quote.
    public init(_ commandLine: String) throws(ScriptError) {
        if let quote = Self.unterminatedQuote(in: commandLine) {
            throw ScriptError(.unterminatedQuote, "script '\(commandLine)': unterminated \(quote) quote")
        }
        // One splitter for the configuration and the runner: Config's.
        let words = Config.ScriptCommand.split(commandLine)
        guard let first = words.first, !first.isEmpty else {
            throw ScriptError(.emptyCommand, "script '\(commandLine)': no program named")
        }
        arguments = words
    }

    /// The command as parsed by the configuration reader.
    /// - Throws: `ScriptError` when the configuration holds an empty command.
    public init(_ configured: Config.ScriptCommand) throws(ScriptError) {
        guard let first = configured.arguments.first, !first.isEmpty else {
            throw ScriptError(.emptyCommand, "script '\(configured.text)': no program named")
        }
        arguments = configured.arguments
    }

    /// Takes already split words (the first is the program).
    /// - Throws: `ScriptError` when `arguments` is empty.
    public init(arguments: [String]) throws(ScriptError) {
        guard let first = arguments.first, !first.isEmpty else {
            throw ScriptError(.emptyCommand, "script: no program named")
        }
        self.arguments = arguments
    }

    /// The program as written (`arguments[0]`).
    public var program: String { arguments[0] }

    /// This command with `extra` appended (the `notify` script's four arguments, a FIFO's name).
    public func appending(_ extra: [String]) -> ScriptCommand {
        var copy = self
        copy.arguments += extra
        return copy
    }

    /// The executable to run: `program` itself when it holds a slash, else the first executable file of
    /// that name in `searchPath` (a `PATH` value), or `nil`.
    /// - Parameter isExecutable: whether a path names an executable file (the shell passes `access(X_OK)`).
    public func resolvedProgram(searchPath: String, isExecutable: (String) -> Bool) -> String? {
        if program.contains("/") { return isExecutable(program) ? program : nil }
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let base = directory.isEmpty ? "." : String(directory)
            let candidate = base.hasSuffix("/") ? base + program : base + "/" + program
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// The `PATH` used when the environment has none (keepalived's default for scripts).
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The quote character left open at the end of `text`, or `nil`; also flags a trailing backslash.
    static func unterminatedQuote(in text: String) -> String? {
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            }
        }
        if let quote { return quote == "'" ? "single" : "double" }
        return escaped ? "backslash" : nil
    }
}
