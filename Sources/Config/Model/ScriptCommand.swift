/// A script keepalived runs: notify scripts, `vrrp_script`'s `script`, startup and shutdown scripts.
///
/// keepalived takes a script either as one quoted string holding the command and its arguments
/// (`notify_master "/bin/vrrp.sh MASTER VI_1"`) or as a bare path; within the string, single quotes
/// keep a parameter with spaces together.
public struct ScriptCommand: Sendable, Hashable, Codable {
    /// The command as written in the configuration.
    public var text: String
    /// The program (first element) and its arguments, split the way keepalived splits them.
    public var arguments: [String]
    /// The user to run the script as; `nil` means the global `script_user`, resolved at run time.
    public var user: String?
    /// The group to run the script as; `nil` means the user's group.
    public var group: String?

    public init(text: String, arguments: [String]? = nil, user: String? = nil, group: String? = nil) {
        self.text = text
        self.arguments = arguments ?? ScriptCommand.split(text)
        self.user = user
        self.group = group
    }

    /// Splits a command line at unquoted white space; single or double quotes group words (and are
    /// removed), a backslash escapes the next character.
    public static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
                inWord = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// A word as `split` reads it back: as is when it has no space, quote or backslash, else in single
    /// quotes (a single quote inside written as `'\''`).
    public static func quote(_ word: String) -> String {
        guard word.isEmpty || word.contains(where: { " \t'\"\\".contains($0) }) else { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// `USER [GROUP]`: whom a script or FIFO belongs to.
public struct ScriptUser: Sendable, Hashable, Codable {
    public var user: String
    /// `nil` means the user's own group.
    public var group: String?

    public init(user: String, group: String? = nil) {
        self.user = user
        self.group = group
    }
}
