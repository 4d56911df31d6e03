// MARK: Global/VRRP helpers

extension SchemaContext {
    /// `keyword SCRIPT [USER [GROUP]]`: a script given as one (quoted) string or a bare path.
    func script(_ node: ConfigNode) -> ScriptCommand? {
        guard noBlock(node), let words = arguments(node, count: 1...3) else { return nil }
        return ScriptCommand(text: words[0], user: words.dropFirst().first, group: words.dropFirst(2).first)
    }

    /// `keyword USER [GROUP]`.
    func scriptUser(_ node: ConfigNode) -> ScriptUser? {
        guard noBlock(node), let words = arguments(node, count: 1...2) else { return nil }
        return ScriptUser(user: words[0], group: words.dropFirst().first)
    }

    /// `weight N [reverse|noreverse]` starting at `words[index]`; returns the weight and direction.
    func weight(
        _ words: ArraySlice<String>, in range: ClosedRange<Int>, for node: ConfigNode
    ) -> (weight: Int, reverse: Bool)? {
        guard let first = words.first else { return nil }
        guard first == "weight", words.count >= 2, words.count <= 3 else {
            error(
                "'\(node.keyword)' takes 'weight N [reverse]' after the name, not '\(words.joined(separator: " "))'",
                at: node)
            return nil
        }
        guard let value = integer(words[words.startIndex + 1], in: range, for: node, what: "weight") else { return nil }
        var reverse = false
        if words.count == 3 {
            guard
                let direction = choice(
                    words[words.startIndex + 2], ["reverse", "noreverse", "no_reverse"], for: node)
            else { return nil }
            reverse = direction == "reverse"
        }
        return (value, reverse)
    }

    /// `garp_extra_if [all] SECONDS`: whole seconds in `range`, `all` anywhere (keepalived).
    func garpExtraInterfaces(_ node: ConfigNode, in range: ClosedRange<Int>) -> GARPExtraInterfaces? {
        guard noBlock(node), let words = arguments(node, count: 1...2) else { return nil }
        var seconds: Int?
        var all = false
        for word in words {
            if word == "all" {
                all = true
            } else if let value = integer(word, in: range, for: node, what: "'\(node.keyword)' interval") {
                seconds = value
            } else {
                return nil
            }
        }
        guard let seconds else {
            error("'\(node.keyword)' needs an interval in seconds", at: node)
            return nil
        }
        return GARPExtraInterfaces(interval: .seconds(seconds), all: all)
    }

    /// The lines of a `{ }` list block, each a single word (the line's keyword).
    func names(_ node: ConfigNode) -> [NameReference]? {
        guard let lines = block(node) else { return nil }
        var result: [NameReference] = []
        for line in lines {
            // keepalived puts several names on one line as well as one a line.
            for name in [line.keyword] + line.arguments {
                result.append(NameReference(name: name, location: line.location))
            }
            if line.hasBlock { error("'\(line.keyword)' does not take a { } block", at: line) }
        }
        return result
    }

    /// `track_script { NAME [weight N [reverse]] }` and `track_file { … }`.
    func trackReferences(_ node: ConfigNode, weights range: ClosedRange<Int>) -> [TrackReference]? {
        guard let lines = block(node) else { return nil }
        return lines.compactMap { line in
            guard noBlock(line) else { return nil }
            var reference = TrackReference(name: line.keyword, location: line.location)
            if !line.arguments.isEmpty {
                guard let (weight, reverse) = weight(line.arguments[...], in: range, for: line) else { return nil }
                reference.weight = weight
                reference.reverse = reverse
            }
            return reference
        }
    }

    /// `track_interface { IFACE [weight N [reverse]] }`.
    func trackedInterfaces(_ node: ConfigNode) -> [TrackedInterface]? {
        guard let lines = block(node) else { return nil }
        return lines.compactMap { line in
            guard noBlock(line) else { return nil }
            var interface = TrackedInterface(name: line.keyword, location: line.location)
            if !line.arguments.isEmpty {
                guard let (weight, reverse) = weight(line.arguments[...], in: -253...253, for: line) else {
                    return nil
                }
                interface.weight = weight
                interface.reverse = reverse
            }
            return interface
        }
    }

    /// Options of the form `name [value]` after the first word of a line; `valued` names take one value.
    /// Unknown names are an error, or a warning when `unknownIsWarning` (the word is then kept).
    func options(
        _ words: ArraySlice<String>, valued: Set<String>, flags: Set<String>, for node: ConfigNode,
        unknownIsWarning: Bool = false
    ) -> [(name: String, value: String?)]? {
        var result: [(String, String?)] = []
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            if valued.contains(word) {
                guard index + 1 < words.endIndex else {
                    error("'\(word)' needs a value (in '\(node.keyword)')", at: node)
                    return nil
                }
                result.append((word, words[index + 1]))
                index += 2
            } else if flags.contains(word) {
                result.append((word, nil))
                index += 1
            } else if unknownIsWarning {
                warning("'\(word)' is not an option Vigil knows (in '\(node.keyword)'); kept as written", at: node)
                result.append((word, nil))
                index += 1
            } else {
                var message = "unknown option '\(word)' in '\(node.keyword)'"
                if let suggestion = Suggestion.nearest(to: word, in: valued.union(flags)) {
                    message += "; did you mean '\(suggestion)'?"
                }
                error(message, at: node)
                return nil
            }
        }
        return result
    }
}

/// Handlers that store one checked value in a field of the block's model.
enum Field<Model> {
    typealias Handler = KeywordTable<Model>.Handler
    typealias Path<Value> = WritableKeyPath<Model, Value> & Sendable

    /// Stores what `parse` reads from a plain (block-less) statement; `parse` reports its own errors.
    static func value<Value>(
        _ path: Path<Value>, _ parse: @escaping @Sendable (ConfigNode, SchemaContext) -> Value?
    ) -> Handler {
        { model, node, context in
            if context.noBlock(node), let value = parse(node, context) { model[keyPath: path] = value }
        }
    }

    /// The same for an optional field: a parse failure leaves the field as it was.
    static func value<Value>(
        _ path: Path<Value?>, _ parse: @escaping @Sendable (ConfigNode, SchemaContext) -> Value?
    ) -> Handler {
        value(path) { node, context in parse(node, context).map(Optional.some) }
    }

    /// `keyword [<BOOL>]`.
    static func flag(_ path: Path<Bool>) -> Handler { value(path) { $1.flag($0) } }
    static func flag(_ path: Path<Bool?>) -> Handler { value(path) { $1.flag($0) } }

    /// `keyword` alone (keepalived takes no value): sets `value`.
    static func set<Value: Sendable>(_ path: Path<Value>, to value: Value) -> Handler {
        self.value(path) { node, context in context.arguments(node, count: 0...0).map { _ in value } }
    }

    static func integer(_ path: Path<Int>, _ range: ClosedRange<Int>) -> Handler {
        value(path) { $1.integer($0, in: range) }
    }

    static func integer(_ path: Path<Int?>, _ range: ClosedRange<Int>) -> Handler {
        value(path) { $1.integer($0, in: range) }
    }

    static func duration(_ path: Path<Duration>, _ range: ClosedRange<Duration>) -> Handler {
        value(path) { $1.duration($0, in: range) }
    }

    static func duration(_ path: Path<Duration?>, _ range: ClosedRange<Duration>) -> Handler {
        value(path) { $1.duration($0, in: range) }
    }

    /// `keyword WORD`.
    static func string(_ path: Path<String?>) -> Handler { value(path) { $1.single($0) } }
    static func string(_ path: Path<String>) -> Handler { value(path) { $1.single($0) } }

    /// `keyword ADDRESS`.
    static func address(_ path: Path<IPAddress?>, family: IPAddress.Family? = nil) -> Handler {
        value(path) { node, context in
            context.single(node).flatMap { context.address($0, for: node, family: family) }
        }
    }

    /// `keyword SCRIPT [USER [GROUP]]`.
    static func script(_ path: Path<ScriptCommand?>) -> Handler {
        { model, node, context in
            if let value = context.script(node) { model[keyPath: path] = value }
        }
    }

    /// A block of `IFACE [weight N [reverse]]` lines, appended.
    static func trackInterfaces(_ path: Path<[TrackedInterface]>) -> Handler {
        { model, node, context in
            model[keyPath: path] += context.trackedInterfaces(node) ?? []
        }
    }

    /// `weight N [reverse|noreverse]` as a statement of its own (`vrrp_script`, `bfd_instance`).
    static func weight(_ weight: Path<Int>, reverse: Path<Bool>, in range: ClosedRange<Int>) -> Handler {
        { model, node, context in
            guard context.noBlock(node),
                let (value, reversed) = context.weight(["weight"] + node.arguments[...], in: range, for: node)
            else { return }
            model[keyPath: weight] = value
            model[keyPath: reverse] = reversed
        }
    }

    /// A block of `NAME [weight N [reverse]]` lines, appended.
    static func trackReferences(_ path: Path<[TrackReference]>, weights: ClosedRange<Int>) -> Handler {
        { model, node, context in
            model[keyPath: path] += context.trackReferences(node, weights: weights) ?? []
        }
    }
}
