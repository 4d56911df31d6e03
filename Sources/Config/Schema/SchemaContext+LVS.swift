/// Value helpers the LVS schema needs beyond the common ones; each reports its own error and
/// returns `nil`, like those in `SchemaContext`.
extension SchemaContext {
    /// A 32-bit unsigned number (firewall marks, thresholds).
    func uint32(_ text: String, for node: ConfigNode, what: @autoclosure () -> String? = nil) -> UInt32? {
        integer(text, in: 0...Int(UInt32.max), for: node, what: what()).map(UInt32.init)
    }

    /// `keyword NAME` where the names are an enumeration's raw values (`lvs_sched rr`).
    func choice<Name: RawRepresentable & CaseIterable>(
        _ node: ConfigNode, of type: Name.Type, ignoringCase: Bool = false
    ) -> Name? where Name.RawValue == String {
        choice(node, Name.allCases.map(\.rawValue), ignoringCase: ignoringCase).flatMap(Name.init(rawValue:))
    }

    /// `keyword inet|inet6`.
    func family(_ node: ConfigNode) -> IPAddress.Family? {
        choice(node, ["inet", "inet6"]).map { $0 == "inet" ? .ipv4 : .ipv6 }
    }

    /// `keyword PORT`.
    func port(_ node: ConfigNode) -> Int? {
        single(node).flatMap { port($0, for: node) }
    }

    /// `keyword STRING`: one non-empty word.
    func text(_ node: ConfigNode) -> String? {
        guard let value = single(node) else { return nil }
        guard !value.isEmpty else {
            error("'\(node.keyword)' needs a non-empty value", at: node)
            return nil
        }
        return value
    }

    /// keepalived's free-form hex (`Ab12f 3 456` is AB 12 0F 03 45 06): each word is read two
    /// digits at a time and a lone last digit is a byte of its own. With `wildcards`, `x` or `X`
    /// stands for a nibble whose value does not matter.
    func hexPattern(_ words: [String], wildcards: Bool, for node: ConfigNode) -> HexPattern? {
        var bytes: [UInt8] = []
        var mask: [UInt8] = []
        for word in words {
            var nibbles: [(value: UInt8, mask: UInt8)] = []
            for character in word {
                if let value = character.hexDigitValue {
                    nibbles.append((UInt8(value), 0xf))
                } else if wildcards, character == "x" || character == "X" {
                    nibbles.append((0, 0))
                } else {
                    error(
                        "'\(word)' is not hex digits\(wildcards ? " (or x for any)" : "") in '\(node.keyword)'",
                        at: node)
                    return nil
                }
            }
            var index = 0
            while index < nibbles.count {
                if index + 1 < nibbles.count {
                    bytes.append(nibbles[index].value << 4 | nibbles[index + 1].value)
                    mask.append(nibbles[index].mask << 4 | nibbles[index + 1].mask)
                } else {
                    bytes.append(nibbles[index].value)
                    mask.append(nibbles[index].mask)
                }
                index += 2
            }
        }
        return HexPattern(bytes: bytes, mask: mask)
    }

    /// `NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`, the arguments of
    /// `lvs_method`; like keepalived, the tunnel options may come in any order.
    func forwarding(_ node: ConfigNode) -> ForwardingMethod? {
        guard let words = arguments(node, count: 1...Int.max),
            let method = choice(words[0], ["NAT", "DR", "TUN"], for: node)
        else { return nil }
        guard method == "TUN" else {
            guard words.count == 1 else {
                error("'\(node.keyword) \(method)' takes no options; only TUN has them", at: node)
                return nil
            }
            return method == "NAT" ? .nat : .directRouting
        }
        var type = "ipip"
        var guePort: Int?
        var checksum: TunnelOptions.Checksum?
        var rest = words.dropFirst()
        while let word = rest.popFirst() {
            switch word {
            case "type":
                guard let name = rest.popFirst() else {
                    error("'\(node.keyword) TUN type' needs ipip, gue or gre", at: node)
                    return nil
                }
                guard let known = choice(name, ["ipip", "gue", "gre"], for: node) else { return nil }
                type = known
            case "port":
                guard let text = rest.popFirst() else {
                    error("'\(node.keyword) TUN port' needs a port number", at: node)
                    return nil
                }
                guard let value = port(text, for: node) else { return nil }
                guePort = value
            default:
                guard let name = choice(word, TunnelOptions.Checksum.allCases.map(\.rawValue), for: node) else {
                    return nil
                }
                checksum = TunnelOptions.Checksum(rawValue: name)
            }
        }
        guard (type == "gue") == (guePort != nil) else {
            error("'\(node.keyword) TUN': a gue tunnel needs 'port NUM', and only a gue tunnel has a port", at: node)
            return nil
        }
        switch (type, checksum) {
        case ("ipip", .checksum), ("ipip", .remoteChecksum):
            error("'\(checksum!.rawValue)' needs tunnel type gue or gre in '\(node.keyword)'", at: node)
            return nil
        case ("gre", .remoteChecksum):
            error("'remcsum' is for tunnel type gue only, not gre", at: node)
            return nil
        default:
            let encapsulation: TunnelOptions.Encapsulation =
                switch type {
                case "gue": .gue(port: guePort!)
                case "gre": .gre
                default: .ipip
                }
            return .tunnel(TunnelOptions(encapsulation: encapsulation, checksum: checksum))
        }
    }
}
