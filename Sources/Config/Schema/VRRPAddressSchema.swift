/// The lines of `virtual_ipaddress`, `virtual_ipaddress_excluded`, `static_ipaddress`, the route
/// blocks and the rule blocks, in `ip address` / `ip route` / `ip rule` syntax.
enum VRRPAddressSchema {
    /// `ADDR[/LEN] [brd ADDR] [dev IFACE] [scope SCOPE] [label LABEL] [peer ADDR] [home] [-nodad]
    /// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [use_vmac [NAME]] [preferred_lft N|forever]
    /// [track_group GROUP]`.
    static func address(_ line: ConfigNode, _ context: SchemaContext) -> VirtualAddress? {
        guard context.noBlock(line), let prefix = context.prefix(line.keyword, for: line) else { return nil }
        var address = VirtualAddress(prefix: prefix, location: line.location)
        var words = line.arguments[...]
        // `use_vmac` takes an optional interface name: take it here so the option table stays simple.
        if let index = words.firstIndex(of: "use_vmac") {
            address.useVMAC = true
            let next = words.index(after: index)
            if next < words.endIndex, !addressValued.contains(words[next]), !addressFlags.contains(words[next]) {
                address.vmacName = words[next]
                words.remove(at: next)
            }
            words.remove(at: index)
        }
        guard let options = context.options(words, valued: addressValued, flags: addressFlags, for: line) else {
            return nil
        }
        addressOptions.warn(options.map(\.name) + (address.useVMAC ? ["use_vmac"] : []), on: line, context)
        for (name, value) in options {
            switch (name, value) {
            case ("brd", "+"?): address.broadcast = .setHostBits
            case ("brd", "-"?): address.broadcast = .clearHostBits
            case ("brd", let text?):
                guard let broadcast = context.address(text, for: line, family: prefix.address.family, exact: true)
                else {
                    return nil
                }
                address.broadcast = .address(broadcast)
            case ("dev", let text?): address.device = text
            case ("scope", let text?):
                guard let scope = self.scope(text, for: line, context) else { return nil }
                address.scope = scope
            case ("label", let text?): address.label = text
            case ("peer", let text?):
                guard let peer = context.prefix(text, for: line) else { return nil }
                address.peer = peer
            case ("preferred_lft", "forever"?): address.preferredLifetime = .forever
            case ("preferred_lft", let text?):
                guard let seconds = context.integer(text, in: 0...Int(UInt32.max), for: line, what: "'preferred_lft'")
                else { return nil }
                address.preferredLifetime = .seconds(seconds)
            case ("track_group", let text?): address.trackGroup = text
            case ("home", _): address.home = true
            case ("-nodad", _): address.noDAD = true
            case ("mngtmpaddr", _): address.mngTmpAddr = true
            case ("noprefixroute", _): address.noPrefixRoute = true
            case ("autojoin", _): address.autoJoin = true
            default: address.noTrack = true
            }
        }
        return address
    }

    static let addressValued: Set<String> = ["brd", "dev", "scope", "label", "peer", "preferred_lft", "track_group"]
    static let addressFlags: Set<String> = ["home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track"]

    /// The address options and their fate (the VRRP worker does not apply the `unsupported` ones yet).
    static let addressOptions = OptionTable(
        "virtual_ipaddress line", options: addressValued.union(addressFlags).union(["use_vmac"]),
        unsupported: [
            "home", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "peer", "preferred_lft", "track_group",
            "use_vmac",
        ])

    /// The route options and their fate; every option kept "as written" (`mtu`, `tos`, …) is among them.
    static let routeOptions = OptionTable(
        "virtual_routes line",
        options: routeValued.union(routeFlags).union(routeTypes).union([
            "src", "via", "gw", "or", "dev", "oif", "table", "metric", "priority", "preference", "scope", "to",
            "no_track", "track_group",
        ]),
        unsupported: KeywordWarnings.notYetImplemented(
            Array(routeValued.union(routeFlags)) + ["or", "no_track", "track_group"]))

    /// `ip`'s scope names or a number 0–255.
    static func scope(_ text: String, for node: ConfigNode, _ context: SchemaContext) -> String? {
        if ["site", "link", "host", "nowhere", "global", "universe"].contains(text) { return text }
        if let number = Int(text), (0...255).contains(number) { return text }
        context.error("'scope' takes site, link, host, nowhere, global or 0-255, not '\(text)'", at: node)
        return nil
    }

    /// The lines of an address block.
    static func addresses(_ node: ConfigNode, _ context: SchemaContext) -> [VirtualAddress] {
        lines(node, context, address)
    }

    /// The lines of a `{ }` block, each parsed by `parse` (which reports its own errors).
    static func lines<Line>(
        _ node: ConfigNode, _ context: SchemaContext, _ parse: (ConfigNode, SchemaContext) -> Line?
    ) -> [Line] {
        context.arguments(node, count: 0...0)
        return context.block(node)?.compactMap { parse($0, context) } ?? []
    }

    // MARK: Routes

    static let routeTypes: Set<String> = [
        "unicast", "blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "anycast", "multicast",
        "nat",
    ]
    /// `ip route` options that take a value and that Vigil keeps as written.
    static let routeValued: Set<String> = [
        "tos", "dsfield", "protocol", "proto", "mtu", "hoplimit", "advmss", "rtt", "rttvar", "reordering", "window",
        "cwnd", "ssthresh", "realms", "rto_min", "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref",
        "fastopen_no_cookie", "vrf", "expires", "weight", "encap", "lock", "ttl-propagate", "as",
    ]
    static let routeFlags: Set<String> = ["onlink", "append", "inet6", "inet", "pervasive", "nexthop"]

    /// `[TYPE] [src ADDR] [to] PREFIX [via|gw ADDR] [or ADDR] [dev IFACE] [table T] [metric N] …`.
    static func route(_ line: ConfigNode, _ context: SchemaContext) -> VirtualRoute? {
        guard context.noBlock(line) else { return nil }
        let words = [line.keyword] + line.arguments
        var route = VirtualRoute(words: words, location: line.location)
        var index = 0
        func value() -> String? {
            guard index + 1 < words.count else {
                context.error("'\(words[index])' needs a value (in a route)", at: line)
                return nil
            }
            index += 2
            return words[index - 1]
        }
        while index < words.count {
            let word = words[index]
            switch word {
            case "src":
                guard let text = value() else { return nil }
                guard let address = routeAddress(text, line, context) else { return nil }
                route.source = address
            case "via", "gw":
                // `via inet6 ADDR` names the family first.
                if index + 1 < words.count, ["inet", "inet6"].contains(words[index + 1]) { index += 1 }
                guard let text = value() else { return nil }
                guard let address = routeAddress(text, line, context) else { return nil }
                route.gateway = address
            case "or":
                guard let text = value() else { return nil }
                guard let address = routeAddress(text, line, context) else { return nil }
                route.alternateGateway = address
            case "dev", "oif":
                guard let text = value() else { return nil }
                route.device = text
            case "table":
                guard let text = value() else { return nil }
                route.table = text
            case "metric", "priority", "preference":
                guard let text = value() else { return nil }
                route.metric = context.integer(text, in: 0...Int(UInt32.max), for: line, what: "'\(word)'")
            case "scope":
                guard let text = value() else { return nil }
                route.scope = scope(text, for: line, context)
            case "track_group":
                guard let text = value() else { return nil }
                route.trackGroup = text
            case "no_track":
                route.noTrack = true
                index += 1
            case "to":
                guard let text = value() else { return nil }
                guard let prefix = routePrefix(text, line, context) else { return nil }
                route.destination = prefix ?? IPPrefix("0.0.0.0/0")
            case _ where routeTypes.contains(word) && route.destination == nil:
                route.type = word
                index += 1
            case _ where routeFlags.contains(word):
                route.options.append([word])
                index += 1
            case _ where routeValued.contains(word):
                guard let text = value() else { return nil }
                route.options.append([word, text])
            case _ where route.destination == nil && (word == "default" || IPPrefix(word) != nil):
                route.destination = word == "default" ? IPPrefix("0.0.0.0/0") : IPPrefix(word)
                index += 1
            default:
                context.warning("'\(word)' is not a route option Vigil knows; kept as written", at: line)
                route.options.append([word])
                index += 1
            }
        }
        if route.destination == nil {
            context.warning("a route without a destination; keepalived skips it", at: line)
            return nil
        }
        routeOptions.warn(words.filter { routeOptions.unsupported.contains($0) }, on: line, context)
        return route
    }

    /// An address inside a route or rule; keepalived skips a line with an invalid one, so a warning
    /// and `nil` (the caller drops the line).
    static func routeAddress(_ text: String, _ line: ConfigNode, _ context: SchemaContext) -> IPAddress? {
        if let address = IPAddress(text) { return address }
        context.warning("'\(text)' is not a valid address; keepalived skips this line", at: line)
        return nil
    }

    /// A prefix, or `all`/`default` (`.some(nil)`: no restriction); `nil` when invalid (warned).
    static func routePrefix(_ text: String, _ line: ConfigNode, _ context: SchemaContext) -> IPPrefix?? {
        if text == "all" || text == "default" { return .some(nil) }
        if let prefix = IPPrefix(text) { return prefix }
        context.warning("'\(text)' is not a valid address or prefix; keepalived skips this line", at: line)
        return nil
    }

    static func routes(_ node: ConfigNode, _ context: SchemaContext) -> [VirtualRoute] {
        lines(node, context, route)
    }

    // MARK: Rules

    static let ruleValued: Set<String> = [
        "tos", "dsfield", "fwmark", "iif", "oif", "realms", "goto", "suppress_prefixlength", "suppress_ifgroup",
        "uidrange", "protocol", "ip_proto", "sport", "dport", "tun_id", "type",
    ]
    static let ruleFlags: Set<String> = ["l3mdev", "not", "inet", "blackhole", "unreachable", "prohibit", "nop"]

    /// `[from PREFIX|all] [to PREFIX|all] [table T] [preference N] … [no_track] [track_group G]`.
    static func rule(_ line: ConfigNode, _ context: SchemaContext) -> VirtualRule? {
        guard context.noBlock(line) else { return nil }
        let words = [line.keyword] + line.arguments
        var rule = VirtualRule(words: words, location: line.location)
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "no_track" || word == "inet6" || ruleFlags.contains(word) {
                if word == "no_track" {
                    rule.noTrack = true
                } else if word == "inet6" {
                    rule.inet6 = true
                } else {
                    rule.options.append([word])
                }
                index += 1
                continue
            }
            guard index + 1 < words.count else {
                context.warning(
                    "'\(word)' is not a rule option Vigil knows, or lacks its value; kept as written", at: line)
                rule.options.append([word])
                break
            }
            let text = words[index + 1]
            switch word {
            case "from":
                guard let prefix = routePrefix(text, line, context) else { return nil }
                rule.from = prefix
            case "to":
                guard let prefix = routePrefix(text, line, context) else { return nil }
                rule.to = prefix
            case "table", "lookup": rule.table = text
            case "preference", "priority", "order", "pref":
                rule.preference = context.integer(text, in: 0...Int(UInt32.max), for: line, what: "'\(word)'")
            case "track_group": rule.trackGroup = text
            case _ where ruleValued.contains(word): rule.options.append([word, text])
            default:
                context.warning("'\(word)' is not a rule option Vigil knows; kept as written", at: line)
                rule.options.append([word])
                index -= 1
            }
            index += 2
        }
        return rule
    }

    static func rules(_ node: ConfigNode, _ context: SchemaContext) -> [VirtualRule] {
        lines(node, context, rule)
    }
}
