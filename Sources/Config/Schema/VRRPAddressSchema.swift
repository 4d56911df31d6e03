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
        if prefix.address.family == .ipv4 {
            // IPv6's: the kernel ignores them on IPv4 (`ip address add` says so too).
            let ignored =
                [("home", address.home), ("mngtmpaddr", address.mngTmpAddr)].filter(\.1).map(\.0)
                + (address.preferredLifetime != nil ? ["preferred_lft"] : [])
            for option in ignored {
                context.warning(
                    "'\(option)' has no effect on an IPv4 address (\(prefix)); the kernel ignores it", at: line)
            }
        }
        return address
    }

    static let addressValued: Set<String> = ["brd", "dev", "scope", "label", "peer", "preferred_lft", "track_group"]
    static let addressFlags: Set<String> = ["home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track"]

    /// The address options and their fate (the VRRP worker does not apply the `unsupported` ones yet).
    static let addressOptions = OptionTable(
        "virtual_ipaddress line", options: addressValued.union(addressFlags).union(["use_vmac"]))

    /// The route options and their fate: those libnl cannot express, and route tracking, do not take effect.
    static let routeOptions = OptionTable(
        "virtual_routes line",
        options: routeValued.union(routeFlags).union(routeTypes).union(routeMetrics).union([
            "src", "via", "gw", "or", "dev", "oif", "table", "metric", "priority", "preference", "scope", "to",
            "no_track", "track_group", "nexthop", "weight", "onlink", "proto", "protocol", "tos", "dsfield",
            "ttl-propagate", "lock", "append", "prepend", "add", "inet", "inet6", "realms", "expires", "congctl",
            "pref",
        ]),
        unsupported: KeywordWarnings.notYetImplemented(["vrf", "encap", "inet6", "inet", "pervasive", "no_track"])
            .merging([
                "as": .ignoredByKeepalived("keepalived 2.2.7 takes 'as [to] ADDR' (RTA_NEWDST) for MPLS routes only")
            ]))

    /// The rule options and their fate.
    static let ruleOptions = OptionTable(
        "virtual_rules line",
        options: ruleValued.union(ruleFlags).union([
            "from", "to", "table", "lookup", "preference", "priority", "order", "pref", "no_track", "track_group",
            "inet6",
        ]),
        unsupported: KeywordWarnings.notYetImplemented(Array(ruleUnsupported) + ["no_track"]))

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

    /// Checks a line's `track_group GROUP` as keepalived 2.2.7 reads it, warning and dropping what it ignores.
    /// - Parameters:
    ///   - groups: the `track_group` blocks defined before the line, for a `static_*` line; `nil` for an instance's
    ///     `virtual_*` line, where keepalived does not take the option.
    ///   - interface: what the group's instances would track (`dev`, a rule's `iif`); `nil` when the line has none.
    static func checkTrackGroup(
        _ line: inout some TrackGroupLine, groups: [StaticTrackGroup]?, interface: String?, what: String,
        _ context: SchemaContext
    ) {
        guard let name = line.trackGroup else { return }
        let location = line.location
        line.trackGroup = nil
        guard let groups else {
            context.warning(
                "'track_group' is only for static_ipaddress, static_routes and static_rules lines; keepalived 2.2.7 "
                    + "ignores it on an instance's \(what) line, and so does Vigil", at: location)
            return
        }
        guard groups.contains(where: { $0.name == name }) else {
            context.warning(
                "track_group '\(name)' is not defined before this line; keepalived ignores it here, and so does Vigil",
                at: location)
            return
        }
        guard interface != nil else {
            context.warning(
                "track_group '\(name)' on a \(what) line without \(what == "rule" ? "'iif'" : "'dev'"): there is no "
                    + "interface to track; ignored (keepalived)", at: location)
            return
        }
        guard !line.noTrack else {
            context.warning(
                "track_group '\(name)' with 'no_track': the line is not tracked (keepalived)", at: location)
            return
        }
        line.trackGroup = name
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
    /// `ip route` metrics Vigil programs (`RTAX_*`); `lock` may come before the value.
    static let routeMetrics: Set<String> = [
        "mtu", "advmss", "hoplimit", "initcwnd", "initrwnd", "rtt", "rttvar", "reordering", "window", "cwnd",
        "ssthresh", "rto_min", "quickack", "fastopen_no_cookie", "features",
    ]
    /// `ip route` options Vigil does not program: kept, and warned.
    static let routeValued: Set<String> = ["vrf", "encap", "as"]
    static let routeFlags: Set<String> = ["inet6", "inet", "pervasive"]
    /// /etc/iproute2/rt_protos (Debian's), keepalived accepts the names too.
    static let routeProtocols: [String: Int] = [
        "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12,
        "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42, "openr": 99, "bgp": 186,
        "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
    ]

    /// `[TYPE] [src ADDR] [to] PREFIX [via|gw ADDR] [or ADDR] [dev IFACE] [table T] [metric N] [proto P] [onlink]
    /// [mtu [lock] N] … [nexthop via ADDR dev IFACE weight N [onlink]] …`.
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
        // Inside `nexthop`, via/dev/weight/onlink describe that next hop.
        var inNextHop: Bool { !route.nexthops.isEmpty }
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
                if inNextHop {
                    route.nexthops[route.nexthops.count - 1].gateway = address
                } else {
                    route.gateway = address
                }
            case "or":
                guard let text = value() else { return nil }
                guard let address = routeAddress(text, line, context) else { return nil }
                route.alternateGateway = address
            case "dev", "oif":
                guard let text = value() else { return nil }
                if inNextHop { route.nexthops[route.nexthops.count - 1].device = text } else { route.device = text }
            case "weight" where inNextHop:
                guard let text = value() else { return nil }
                route.nexthops[route.nexthops.count - 1].weight = context.integer(
                    text, in: 1...256, for: line, what: "nexthop 'weight'")
            case "onlink":
                if inNextHop { route.nexthops[route.nexthops.count - 1].onlink = true } else { route.onlink = true }
                index += 1
            case "nexthop":
                route.nexthops.append(RouteNextHop())
                index += 1
            case "table":
                guard let text = value() else { return nil }
                route.table = text
            case "metric", "priority", "preference":
                guard let text = value() else { return nil }
                route.metric = context.integer(text, in: 0...Int(UInt32.max), for: line, what: "'\(word)'")
            case "scope":
                guard let text = value() else { return nil }
                route.scope = scope(text, for: line, context)
            case "proto", "protocol":
                guard let text = value() else { return nil }
                guard let number = routeProtocols[text] ?? Int(text), (0...255).contains(number) else {
                    context.error("'\(word)' takes a number 0-255 or a name of rt_protos, not '\(text)'", at: line)
                    return nil
                }
                route.protocolNumber = number
            case "tos", "dsfield":
                guard let text = value() else { return nil }
                guard let tos = text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text),
                    (0...255).contains(tos)
                else {
                    context.error("'\(word)' takes a number 0-255 (or 0xNN), not '\(text)'", at: line)
                    return nil
                }
                route.tos = tos
            case "ttl-propagate":
                guard let text = value(), let choice = context.choice(text, ["enabled", "disabled"], for: line) else {
                    return nil
                }
                route.ttlPropagate = choice == "enabled"
            case _ where routeMetrics.contains(word):
                var locked = false
                if index + 1 < words.count, words[index + 1] == "lock" {
                    locked = true
                    index += 1
                }
                guard let text = value() else { return nil }
                let number = word == "features" && text == "ecn" ? 1 : Int(text)
                guard let number, number >= 0 else {
                    context.error("'\(word)' takes a number, not '\(text)'", at: line)
                    return nil
                }
                route.metrics.append(RouteMetric(name: word, value: number, locked: locked))
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
            case "append", "prepend", "add":
                route.creation = word
                index += 1
            case "realms":
                guard let text = value() else { return nil }
                let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { UInt16($0) }
                guard (1...2).contains(parts.count), !parts.contains(nil) else {
                    context.warning(
                        "'realms' takes [FROM/]TO, realm numbers 0-65535, not '\(text)'; keepalived skips this line",
                        at: line)
                    return nil
                }
                route.realms = parts.count == 1 ? Int(parts[0]!) : Int(parts[0]!) << 16 | Int(parts[1]!)
            case "expires":
                guard let text = value() else { return nil }
                route.expires = context.integer(text, in: 0...Int(UInt32.max), for: line, what: "'expires'")
            case "congctl":
                if index + 1 < words.count, words[index + 1] == "lock" {
                    route.congestionControlLocked = true
                    index += 1
                }
                guard let text = value() else { return nil }
                route.congestionControl = text
            case "pref":
                guard let text = value() else { return nil }
                let names = ["low": 3, "medium": 0, "high": 1]
                guard let preference = names[text] ?? Int(text), (0...255).contains(preference) else {
                    context.warning(
                        "'pref' takes low, medium, high or 0-255, not '\(text)'; keepalived skips this line", at: line)
                    return nil
                }
                route.routerPreference = preference
            case "inet6", "inet":
                index += 1  // the family comes from the addresses
            case "as":
                // `as [to] ADDR`: keepalived skips the `to`.
                if index + 1 < words.count, words[index + 1] == "to" { index += 1 }
                guard let text = value() else { return nil }
                route.options.append(["as", text])
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
        // keepalived: realms are IPv4's, expires and pref IPv6's; a route with the other family is skipped.
        let family = route.destination?.address.family ?? .ipv4
        for (option, used, wanted) in [
            ("realms", route.realms != nil, IPAddress.Family.ipv4), ("expires", route.expires != nil, .ipv6),
            ("pref", route.routerPreference != nil, .ipv6),
        ] where used && family != wanted {
            context.warning(
                "'\(option)' is only for \(wanted == .ipv4 ? "IPv4" : "IPv6") routes; keepalived skips this line",
                at: line)
            return nil
        }
        routeOptions.warn(words.filter { routeOptions.unsupported.contains($0) }, on: line, context)
        if let alternate = route.alternateGateway, route.nexthops.isEmpty {
            // keepalived: `or` is the deprecated spelling of two next hops.
            context.warning("'or' in a route is deprecated (keepalived); use 'nexthop'", at: line)
            route.nexthops = [
                RouteNextHop(gateway: route.gateway, device: route.device),
                RouteNextHop(gateway: alternate, device: route.device),
            ]
            route.gateway = nil
        }
        if route.nexthops.contains(where: { $0.gateway == nil && $0.device == nil }) {
            context.error("each 'nexthop' of a route needs 'via' or 'dev'", at: line)
            return nil
        }
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

    /// `ip rule` selectors and actions Vigil does not program (libnl has no field for them): warned.
    static let ruleUnsupported: Set<String> = [
        "realms", "suppress_prefixlength", "suppress_ifgroup", "uidrange", "tun_id", "not", "type",
    ]

    static func rules(_ node: ConfigNode, _ context: SchemaContext) -> [VirtualRule] {
        lines(node, context) { line, context in
            guard var rule = rule(line, context) else { return nil }
            for index in rule.options.indices
            where rule.options[index].first == "protocol" && rule.options[index].count > 1 {
                let text = rule.options[index][1]
                guard let number = routeProtocols[text] ?? Int(text), (0...255).contains(number) else {
                    context.error("'protocol' takes a number 0-255 or a name of rt_protos, not '\(text)'", at: line)
                    return nil
                }
                rule.options[index][1] = "\(number)"
            }
            ruleOptions.warn(rule.words.filter { ruleOptions.unsupported.contains($0) }, on: line, context)
            return rule
        }
    }
}
