/// Prometheus's text exposition format, version 0.0.4: the body a scrape of `/metrics` gets.
///
/// Vigil writes it itself rather than through swift-prometheus: every value here is a snapshot of another
/// process's counters (a worker's report), exposed as it is at each scrape — the collector pattern of Prometheus's
/// `ConstMetric` — while swift-prometheus's registry holds metrics a process updates in place. A worker's
/// histogram arrives as bucket counts, which its `Histogram` cannot be given; a counter could only be set by
/// `reset()` then `increment(by:)`, which a concurrent scrape would see as a reset; and instances and real servers
/// that a reload removes would have to be unregistered one by one. (swift-prometheus is Foundation-free; that
/// was not the reason.)
public enum PrometheusText {
    /// The `Content-Type` of the body.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// One metric family: its samples share a name, a `# HELP` and a `# TYPE`.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case gauge
        case counter
        case histogram
    }

    public var name: String
    public var help: String
    public var kind: Kind
    public var samples: [MetricSample]

    public init(_ name: String, _ kind: Kind, help: String, samples: [MetricSample] = []) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }

    /// Appends one sample of this family (`suffix` `_bucket`, `_sum` or `_count` for a histogram's parts).
    public mutating func add(_ value: MetricValue, _ labels: [(String, String)] = [], suffix: String = "") {
        samples.append(MetricSample(suffix: suffix, labels: labels.map { MetricLabel(name: $0.0, value: $0.1) }, value))
    }

    /// Appends a histogram's samples from per-bucket counts: `counts[i]` observations fell at most `bounds[i]` and
    /// above `bounds[i - 1]`; a last extra count (above every bound) goes to `+Inf` only.
    public mutating func addHistogram(
        bounds: [Double], counts: [UInt64], sum: Double, _ labels: [(String, String)] = []
    ) {
        var cumulative: UInt64 = 0
        for (index, bound) in bounds.enumerated() {
            cumulative &+= index < counts.count ? counts[index] : 0
            add(.integer(cumulative), labels + [("le", MetricValue.real(bound).text)], suffix: "_bucket")
        }
        let total = counts.reduce(0, &+)
        add(.integer(total), labels + [("le", "+Inf")], suffix: "_bucket")
        add(.real(sum), labels, suffix: "_sum")
        add(.integer(total), labels, suffix: "_count")
    }
}

public struct MetricLabel: Sendable, Hashable {
    public var name: String
    public var value: String
}

public struct MetricSample: Sendable, Hashable {
    public var suffix: String
    public var labels: [MetricLabel]
    public var value: MetricValue

    public init(suffix: String = "", labels: [MetricLabel] = [], _ value: MetricValue) {
        self.suffix = suffix
        self.labels = labels
        self.value = value
    }
}

/// A sample's value: counters stay exact integers (a byte counter passes 2^53), the rest are floating point.
public enum MetricValue: Sendable, Hashable {
    case integer(UInt64)
    case signed(Int64)
    case real(Double)

    /// As the exposition format writes it (`+Inf`, `-Inf` and `NaN` spelt as Prometheus parses them).
    public var text: String {
        switch self {
        case .integer(let value): return String(value)
        case .signed(let value): return String(value)
        case .real(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return "\(value)"
        }
    }
}

extension MetricValue {
    /// 1 for true, 0 for false.
    public static func flag(_ value: Bool) -> MetricValue { .integer(value ? 1 : 0) }
}

extension Array where Element == MetricFamily {
    /// The exposition text of these families, in order; families without samples are left out.
    public func exposition() -> String {
        var output = ""
        output.reserveCapacity(count * 256)
        for family in self where !family.samples.isEmpty {
            output += "# HELP \(family.name) \(Self.escapedHelp(family.help))\n"
            output += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                output += family.name
                output += sample.suffix
                if !sample.labels.isEmpty {
                    output += "{"
                    for (index, label) in sample.labels.enumerated() {
                        if index > 0 { output += "," }
                        output += label.name
                        output += "=\""
                        output += Self.escapedLabelValue(label.value)
                        output += "\""
                    }
                    output += "}"
                }
                output += " "
                output += sample.value.text
                output += "\n"
            }
        }
        return output
    }

    /// `\` and newline escaped, as the format asks of `# HELP` text.
    static func escapedHelp(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\n" }) else { return text }
        var output = ""
        for character in text {
            switch character {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            default: output.append(character)
            }
        }
        return output
    }

    /// `\`, `"` and newline escaped, as the format asks of label values.
    static func escapedLabelValue(_ text: String) -> String {
        guard text.contains(where: { $0 == "\\" || $0 == "\n" || $0 == "\"" }) else { return text }
        var output = ""
        for character in text {
            switch character {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\"": output += "\\\""
            default: output.append(character)
            }
        }
        return output
    }
}

extension MetricFamily {
    /// Whether `name` is a valid metric or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (no colon in a label name).
    public static func isValidName(_ name: String, label: Bool = false) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x5f || (!label && byte == 0x3a)
        }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
