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
        unsupported: KeywordWarnings([
            "as": .ignoredByKeepalived("keepalived 2.2.7 takes 'as [to] ADDR' (RTA_NEWDST) for MPLS routes only"),
            "pervasive": .ignoredByKeepalived(
                "keepalived 2.2.7 does not know it and skips the line (iproute2 6.1 refuses it too), and so does Vigil"),
        ]))

    /// The rule options and their fate.
    static let ruleOptions = OptionTable(
        "virtual_rules line",
        options: ruleValued.union(ruleFlags).union([
            "from", "to", "table", "lookup", "preference", "priority", "order", "pref", "no_track", "track_group",
            "inet6", "sup_pl", "sup_group", "tunnel-id",
        ]))

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
    static let routeValued: Set<String> = ["vrf", "encap", "as"]  // handled one by one: in the table for the docs
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
                route.destination = prefix
            case _ where routeTypes.contains(word) && route.destination == nil:
                route.type = word
                index += 1
            case "append", "prepend", "add":
                route.creation = word
                index += 1
            case "realms":
                guard let text = value(), let realms = realms(text, line, context) else { return nil }
                route.realms = realms
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
                let family: IPAddress.Family = word == "inet" ? .ipv4 : .ipv6
                if let written = route.family, written != family {
                    context.warning("'\(word)' on an \(written) route; keepalived skips this line", at: line)
                    return nil
                }
                route.family = family
                index += 1
            case "encap":
                index += 1
                guard let encap = routeEncap(words, &index, line, context) else { return nil }
                route.encap = encap
            case "vrf":
                guard let text = value() else { return nil }
                route.vrf = text
            case "pervasive":
                // iproute2 dropped the word too; the kernel never acted on RTNH_F_PERVASIVE.
                context.warning(
                    "'pervasive' is not a route option keepalived 2.2.7 knows (nor does iproute2 6.1): keepalived skips "
                        + "this line, and so does Vigil", at: line)
                return nil
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
            case _ where route.destination == nil && (word == "default" || word == "all" || IPPrefix(word) != nil):
                route.destination = IPPrefix(word)
                index += 1
            default:
                context.warning("'\(word)' is not a route option Vigil knows; kept as written", at: line)
                route.options.append([word])
                index += 1
            }
        }
        if route.destination == nil && !words.contains(where: { ["default", "all"].contains($0) }) {
            context.warning("a route without a destination; keepalived skips it", at: line)
            return nil
        }
        guard let family = routeFamily(&route, line, context) else { return nil }
        // keepalived: realms are IPv4's, expires and pref IPv6's; a route with the other family is skipped.
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
        if !route.noTrack && route.device == nil {
            // keepalived: a deleted route is told from a replaced one by its interface.
            context.warning("a route without 'dev' cannot be tracked (keepalived): taken as 'no_track'", at: line)
            route.noTrack = true
        }
        // keepalived resets the protocol before it finds the route untracked; Vigil keeps an untracked one's.
        trackingRules(noTrack: route.noTrack, protocolNumber: &route.protocolNumber, what: "route", line, context)
        return route
    }

    /// keepalived's tracking rules for a route or rule line: a tracked one (no `no_track`) carries protocol
    /// `keepalived` (18), how the kernel's deletion notices are told from others'; another protocol is reset.
    static func trackingRules(
        noTrack: Bool, protocolNumber: inout Int?, what: String, _ line: ConfigNode, _ context: SchemaContext
    ) {
        guard !noTrack, let number = protocolNumber, number != Int(keepalivedProtocol) else { return }
        context.warning(
            "a tracked \(what) carries protocol keepalived (18), not \(number) (keepalived resets it); add 'no_track' "
                + "to keep protocol \(number)", at: line)
        protocolNumber = nil
    }

    /// `RTPROT_KEEPALIVED`.
    static let keepalivedProtocol = 18

    /// The route's family (`inet`/`inet6`, else its addresses'); `default`/`all` become `::/0` for IPv6. Mixed
    /// families are warned and the line skipped (keepalived's error).
    static func routeFamily(_ route: inout VirtualRoute, _ line: ConfigNode, _ context: SchemaContext)
        -> IPAddress.Family?
    {
        let addresses = [route.destination?.address, route.gateway, route.source] + route.nexthops.map(\.gateway)
        let families = Set(addresses.compactMap { $0?.family } + (route.family.map { [$0] } ?? []))
        guard families.count <= 1 else {
            context.warning("a route mixing IPv4 and IPv6 addresses; keepalived skips this line", at: line)
            return nil
        }
        let family = families.first ?? .ipv4
        if route.destination == nil { route.destination = IPPrefix(family == .ipv4 ? "0.0.0.0/0" : "::/0") }
        return family
    }

    /// `encap mpls LABEL[/LABEL…]`, `encap ip|ip6 [id N] [dst ADDR] [src ADDR] [tos|tc T] [ttl|hoplimit N]
    /// [flags F]`, as keepalived 2.2.7 reads them (`index` is at the type; left after the last option taken).
    /// nil (warned: keepalived skips the line) when malformed.
    static func routeEncap(_ words: [String], _ index: inout Int, _ line: ConfigNode, _ context: SchemaContext)
        -> RouteEncap?
    {
        guard index < words.count, let kind = RouteEncap.Kind(rawValue: words[index]) else {
            let text = index < words.count ? "'\(words[index])'" : "nothing"
            context.warning(
                "'encap' takes mpls, ip or ip6, not \(text) (keepalived also knows ila; Vigil does not build it); "
                    + "keepalived skips this line", at: line)
            return nil
        }
        index += 1
        var encap = RouteEncap(kind: kind)
        func refuse(_ why: String) -> RouteEncap? {
            context.warning("encap \(kind.rawValue): \(why); keepalived skips this line", at: line)
            return nil
        }
        if kind == .mpls {
            guard index < words.count else { return refuse("needs a label stack") }
            let labels = words[index].split(separator: "/", omittingEmptySubsequences: false).map { UInt32($0) }
            guard !labels.isEmpty, labels.allSatisfy({ ($0 ?? .max) < 1 << 20 }) else {
                return refuse("'\(words[index])' is not a label stack (labels 0-1048575, separated by '/')")
            }
            encap.labels = labels.map { $0! }
            index += 1
            return encap
        }
        let family: IPAddress.Family = kind == .ip ? .ipv4 : .ipv6
        let (tosName, ttlName) = kind == .ip ? ("tos", "ttl") : ("tc", "hoplimit")
        while index + 1 < words.count {
            let (option, text) = (words[index], words[index + 1])
            switch option {
            case "id":
                guard let id = UInt64(text) else { return refuse("id '\(text)' is not a number") }
                encap.id = id
            case "dst", "src":
                guard let address = IPAddress(text), address.family == family else {
                    return refuse("\(option) '\(text)' is not an \(family) address")
                }
                if option == "dst" { encap.destination = address } else { encap.source = address }
            case tosName:
                guard let tos = text.hasPrefix("0x") ? UInt8(text.dropFirst(2), radix: 16) : UInt8(text) else {
                    return refuse("\(tosName) '\(text)' is not 0-255")
                }
                encap.tos = tos
            case ttlName:
                guard let ttl = UInt8(text) else { return refuse("\(ttlName) '\(text)' is not 0-255") }
                encap.ttl = ttl
            case "flags":
                guard let flags = text.hasPrefix("0x") ? UInt16(text.dropFirst(2), radix: 16) : UInt16(text) else {
                    return refuse("flags '\(text)' is not 0-65535")
                }
                encap.flags = flags
            default:
                guard encap.destination != nil || encap.id != nil else { return refuse("needs 'dst' or 'id'") }
                return encap
            }
            index += 2
        }
        guard encap.destination != nil || encap.id != nil else { return refuse("needs 'dst' or 'id'") }
        return encap
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
        "uidrange", "protocol", "ip_proto", "sport", "dport", "tun_id", "type", "sup_pl", "sup_group", "tunnel-id",
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
                } else if word == "not" {
                    rule.invert = true
                } else {
                    rule.options.append([word])
                }
                index += 1
                continue
            }
            if word == "type", index + 1 < words.count {
                // `type ACTION` is the action written out: `type prohibit`, `type goto 200`.
                let action = words[index + 1]
                guard ruleActions.contains(action) else {
                    context.warning(
                        "rule 'type' takes goto, nop, blackhole, unreachable or prohibit, not '\(action)'; keepalived "
                            + "skips this line", at: line)
                    return nil
                }
                if action == "goto" {
                    guard index + 2 < words.count else {
                        return skipRule("'type goto' needs a target preference", line, context)
                    }
                    rule.options.append(["goto", words[index + 2]])
                    index += 3
                } else {
                    rule.options.append([action])
                    index += 2
                }
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
            case "suppress_prefixlength", "sup_pl":
                guard let length = Int(text), (0...Int(Int32.max)).contains(length) else {
                    return skipRule("'\(word)' takes a number, not '\(text)'", line, context)
                }
                rule.suppressPrefixLength = length
            case "suppress_ifgroup", "sup_group":
                // /etc/iproute2/group's one fixed name; keepalived reads the file for others.
                guard let group = text == "default" ? 0 : UInt32(text) else {
                    return skipRule("'\(word)' takes a group number or 'default', not '\(text)'", line, context)
                }
                rule.suppressInterfaceGroup = group
            case "uidrange":
                let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { UInt32($0) }
                guard parts.count == 2, let first = parts[0], let last = parts[1], first <= last else {
                    return skipRule("'uidrange' takes START-END, not '\(text)'", line, context)
                }
                rule.uidRange = first...last
            case "tunnel-id", "tun_id":
                guard let id = UInt64(text) else {
                    return skipRule("'\(word)' takes a number, not '\(text)'", line, context)
                }
                if word == "tun_id" {
                    context.warning(
                        "'tun_id' is iproute2's spelling; keepalived 2.2.7 knows only 'tunnel-id' and skips this "
                            + "line: Vigil takes it as 'tunnel-id'", at: line)
                }
                rule.tunnelID = id
            case "realms":
                guard let realms = realms(text, line, context) else { return nil }
                rule.realms = realms
            case _ where ruleValued.contains(word): rule.options.append([word, text])
            default:
                context.warning("'\(word)' is not a rule option Vigil knows; kept as written", at: line)
                rule.options.append([word])
                index -= 1
            }
            index += 2
        }
        // keepalived: realms and the suppressors go with a table lookup, realms with IPv4.
        let tableOptions = [
            ("realms", rule.realms != nil), ("suppress_prefixlength", rule.suppressPrefixLength != nil),
            ("suppress_ifgroup", rule.suppressInterfaceGroup != nil),
        ].filter(\.1).map(\.0)
        let action = rule.options.first { ruleActions.contains($0[0]) || $0[0] == "l3mdev" }?[0]
        if let option = tableOptions.first, action != nil {
            return skipRule("'\(option)' goes with a table lookup, not '\(action!)'", line, context)
        }
        if rule.realms != nil, rule.inet6 || rule.from?.address.family == .ipv6 || rule.to?.address.family == .ipv6 {
            return skipRule("'realms' is only for IPv4 rules", line, context)
        }
        return rule
    }

    /// A rule's actions besides `table`, as `type` names them.
    static let ruleActions: Set<String> = ["goto", "nop", "blackhole", "unreachable", "prohibit"]

    /// Warns that keepalived skips this rule line, and says so to the caller (nil).
    static func skipRule(_ why: String, _ line: ConfigNode, _ context: SchemaContext) -> VirtualRule? {
        context.warning("\(why); keepalived skips this line", at: line)
        return nil
    }

    /// `realms [FROM/]TO` of a route or rule: FROM in the high 16 bits; nil (warned: keepalived skips the line).
    static func realms(_ text: String, _ line: ConfigNode, _ context: SchemaContext) -> Int? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { UInt16($0) }
        guard (1...2).contains(parts.count), !parts.contains(nil) else {
            context.warning(
                "'realms' takes [FROM/]TO, realm numbers 0-65535, not '\(text)'; keepalived skips this line", at: line)
            return nil
        }
        return parts.count == 1 ? Int(parts[0]!) : Int(parts[0]!) << 16 | Int(parts[1]!)
    }

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
            var protocolNumber = rule.options.last { $0[0] == "protocol" && $0.count > 1 }.flatMap { Int($0[1]) }
            trackingRules(noTrack: rule.noTrack, protocolNumber: &protocolNumber, what: "rule", line, context)
            if protocolNumber == nil { rule.options.removeAll { $0[0] == "protocol" } }
            ruleOptions.warn(rule.words.filter { ruleOptions.unsupported.contains($0) }, on: line, context)
            return rule
        }
    }
}
