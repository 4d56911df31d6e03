/// Writes a `ConfigNode` tree back as keepalived.conf text: one statement a line, four spaces per
/// block level, words quoted only where they must be. What `vigild -d` prints, and text that reads
/// back into the same tree.
public enum ConfigPrinter {
    public static func render(_ nodes: [ConfigNode]) -> String {
        var output = ""
        for node in nodes { write(node, depth: 0, into: &output) }
        return output
    }

    private static func write(_ node: ConfigNode, depth: Int, into output: inout String) {
        let indent = String(repeating: "    ", count: depth)
        let words = ([node.keyword] + node.arguments).map(quote).joined(separator: " ")
        guard let children = node.children else {
            output += indent + words + "\n"
            return
        }
        output += indent + words + " {\n"
        for child in children { write(child, depth: depth + 1, into: &output) }
        output += indent + "}\n"
    }

    /// A word as the reader would read it back: plain when it can be, else in double quotes with
    /// `\`, `"` and control characters escaped.
    public static func quote(_ word: String) -> String {
        let special: Set<UInt8> = Set("{}#!\"'\\ \t".utf8)
        let needsQuotes = word.isEmpty || word.utf8.contains { special.contains($0) || $0 < 0x20 || $0 == 0x7f }
        guard needsQuotes else { return word }
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        for byte in word.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes += Array("\\\\".utf8)
            case UInt8(ascii: "\""): bytes += Array("\\\"".utf8)
            case UInt8(ascii: "\n"): bytes += Array("\\n".utf8)
            case UInt8(ascii: "\t"): bytes += Array("\\t".utf8)
            case 0..<0x20, 0x7f: bytes += Array(("\\" + String(byte, radix: 8).leftPadded(to: 3)).utf8)
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        return String(decoding: bytes, as: UTF8.self)
    }
}
extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
