import Config
import Netlink

/// The configuration's addresses, routes and rules as rtnetlink objects, keepalived's (and `ip`'s) way. Pure.
enum KernelObjects {
    /// `ip`'s table names (rt_tables' fixed entries).
    static let tableNumbers: [String: UInt32] = ["main": 254, "local": 255, "default": 253, "unspec": 0]

    /// `scope` as `ip address` spells it (rt_scope_t).
    static func scope(_ text: String?) -> UInt8? {
        switch text {
        case nil: nil
        case "global"?, "universe"?: 0
        case "site"?: 200
        case "link"?: 253
        case "host"?: 254
        case "nowhere"?: 255
        case let other?: UInt8(other)
        }
    }

    /// A held address: `brd +` / `brd -` computed from the prefix, `peer`, `home`, `mngtmpaddr`, `noprefixroute`,
    /// `autojoin`, `preferred_lft`; IPv6 addresses skip DAD as keepalived's do.
    static func interfaceAddress(_ held: VRRPHeldAddress) -> InterfaceAddress {
        let address = held.address
        let prefix = address.prefix
        var broadcast: IPAddress?
        switch address.broadcast {
        case .address(let value): broadcast = value
        case .setHostBits: broadcast = hostBits(of: prefix, set: true)
        case .clearHostBits: broadcast = hostBits(of: prefix, set: false)
        case nil: broadcast = nil
        }
        var flags: UInt32 = 0
        if address.home { flags |= InterfaceAddress.homeAddressFlag }
        if address.mngTmpAddr { flags |= InterfaceAddress.manageTemporaryAddressFlag }
        if address.noPrefixRoute { flags |= InterfaceAddress.noPrefixRouteFlag }
        if address.autoJoin { flags |= InterfaceAddress.multicastAutoJoinFlag }
        let lifetime: UInt32? =
            switch address.preferredLifetime {
            case .forever?: UInt32.max
            case .seconds(let seconds)?: UInt32(clamping: seconds)
            case nil: nil
            }
        return InterfaceAddress(
            address: prefix.address, prefixLength: UInt8(clamping: prefix.length), interface: held.interface,
            label: address.label, scope: scope(address.scope), broadcast: broadcast,
            noDAD: address.noDAD || prefix.address.family == .ipv6, peer: address.peer?.address,
            peerPrefixLength: address.peer.map { UInt8(clamping: $0.length) }, extraFlags: flags,
            preferredLifetime: lifetime)
    }

    /// `brd +` (host bits set) / `brd -` (host bits cleared) of an IPv4 prefix.
    static func hostBits(of prefix: IPPrefix, set: Bool) -> IPAddress? {
        guard case .v4(let value) = prefix.address, prefix.length < 32 else { return nil }
        let hostMask: UInt32 = prefix.length == 0 ? .max : (1 << (32 - UInt32(prefix.length))) - 1
        return .v4(set ? value | hostMask : value & ~hostMask)
    }

    /// A `virtual_routes` / `static_routes` line, or why it cannot be programmed.
    static func routeSpec(_ route: VirtualRoute) -> Result<RouteSpec, RouteProblem> {
        let text = route.words.joined(separator: " ")
        guard let destination = route.destination else {
            return .failure(RouteProblem(message: "route '\(text)': no destination"))
        }
        var table: UInt32?
        if let name = route.table {
            guard let number = tableNumbers[name] ?? UInt32(name) else {
                return .failure(
                    RouteProblem(message: "route '\(text)': table \(name) is not main/local/default or a number"))
            }
            table = number
        }
        var type = RouteType.unicast
        if let name = route.type {
            guard let known = RouteType(name: name) else {
                return .failure(RouteProblem(message: "route '\(text)': type \(name) unknown"))
            }
            type = known
        }
        var metrics: [Int32: UInt32] = [:]
        var locked: Set<Int32> = []
        for metric in route.metrics {
            guard let (number, factor) = RouteSpec.metricNumbers[metric.name] else { continue }
            metrics[number] = UInt32(clamping: metric.value) &* factor
            if metric.locked { locked.insert(number) }
        }
        var spec = RouteSpec(
            destination: destination.address, prefixLength: UInt8(clamping: destination.length),
            gateway: route.gateway, source: route.source, interface: route.device, table: table,
            metric: route.metric.map { UInt32(clamping: $0) }, scope: scope(route.scope),
            protocolNumber: route.protocolNumber.map { UInt8(clamping: $0) }, type: type, onlink: route.onlink,
            nextHops: route.nexthops.map {
                RouteNextHopSpec(
                    gateway: $0.gateway, interface: $0.device, weight: UInt16(clamping: $0.weight ?? 1),
                    onlink: $0.onlink)
            }, metrics: metrics, lockedMetrics: locked, tos: route.tos.map { UInt8(clamping: $0) },
            ttlPropagate: route.ttlPropagate)
        spec.realms = route.realms.map { UInt32(clamping: $0) }
        spec.expires = route.expires.map { UInt32(clamping: $0) }
        spec.congestionControl = route.congestionControl
        spec.congestionControlLocked = route.congestionControlLocked
        spec.routerPreference = route.routerPreference.map { UInt8(clamping: $0) }
        spec.creation = ["prepend": .prepend, "append": .append][route.creation ?? "add"] ?? .add
        spec.encap = route.encap
        spec.vrf = route.vrf
        return .success(spec)
    }

    /// A `virtual_rules` / `static_rules` line, or why it cannot be programmed.
    static func ruleSpec(_ rule: VirtualRule) -> Result<RuleSpec, RouteProblem> {
        let text = rule.words.joined(separator: " ")
        let family: IPAddress.Family =
            rule.inet6 ? .ipv6 : (rule.from?.address.family ?? rule.to?.address.family ?? .ipv4)
        var spec = RuleSpec(
            family: family, source: rule.from?.address, sourcePrefixLength: UInt8(clamping: rule.from?.length ?? 0),
            destination: rule.to?.address, destinationPrefixLength: UInt8(clamping: rule.to?.length ?? 0),
            preference: rule.preference.map { UInt32(clamping: $0) })
        if let name = rule.table {
            guard let number = tableNumbers[name] ?? UInt32(name) else {
                return .failure(
                    RouteProblem(message: "rule '\(text)': table \(name) is not main/local/default or a number"))
            }
            spec.table = number
        }
        spec.invert = rule.invert
        spec.suppressPrefixLength = rule.suppressPrefixLength.map { Int32(clamping: $0) }
        spec.suppressInterfaceGroup = rule.suppressInterfaceGroup
        spec.uidRange = rule.uidRange
        spec.tunnelID = rule.tunnelID
        spec.realms = rule.realms.map { UInt32(clamping: $0) }
        // keepalived: a tracked rule carries protocol keepalived, how its deletion is told from others'.
        if !rule.noTrack { spec.protocolNumber = RouteSpec.keepalivedProtocol }
        for option in rule.options {
            let value = option.count > 1 ? option[1] : ""
            switch option[0] {
            case "fwmark":
                let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
                spec.firewallMark = parts.first.flatMap(number)
                spec.firewallMask = parts.count > 1 ? number(parts[1]) : nil
            case "tos", "dsfield": spec.tos = number(value).map { UInt8(clamping: $0) }
            case "iif": spec.inputInterface = value
            case "oif": spec.outputInterface = value
            case "goto":
                spec.action = 2
                spec.gotoTarget = number(value)
            case "nop": spec.action = 3
            case "blackhole": spec.action = 6
            case "unreachable": spec.action = 7
            case "prohibit": spec.action = 8
            case "l3mdev": spec.l3mdev = true
            case "protocol":
                spec.protocolNumber = number(value).map { UInt8(clamping: $0) }  // the schema resolved names
            case "ip_proto":
                spec.ipProtocol = (["tcp": 6, "udp": 17, "icmp": 1, "sctp": 132][value] ?? number(value).map(Int.init))
                    .map { UInt8(clamping: $0) }
            case "sport": spec.sourcePorts = ports(value)
            case "dport": spec.destinationPorts = ports(value)
            default: continue  // warned by the schema
            }
        }
        return .success(spec)
    }

    /// Whether `deletion` is `route` as the kernel held it: keepalived compares the table, prefix, metric, TOS and
    /// interface (the kernel's defaults filled in: main or local table, metric 0, or 1024 for IPv6). A `vrf` route's
    /// table is the VRF device's, which only the kernel knows: any table matches.
    static func route(_ route: VirtualRoute, matches deletion: RouteDeletion, interface: String?) -> Bool {
        guard case .success(let spec) = routeSpec(route) else { return false }
        let table = spec.table ?? (spec.type.defaultsToLocalTable ? 255 : 254)
        let metric = spec.metric ?? (spec.destination.family == .ipv6 ? 1024 : 0)
        return spec.destination == deletion.destination && spec.prefixLength == deletion.prefixLength
            && (table == deletion.table || spec.vrf != nil) && metric == deletion.metric
            && (spec.tos ?? 0) == deletion.tos
            && spec.interface == interface
    }

    /// Whether `deletion` is `rule` as the kernel held it: family, preference (when the line has one), table,
    /// action and the from/to prefixes.
    static func rule(_ rule: VirtualRule, matches deletion: RuleDeletion) -> Bool {
        guard case .success(let spec) = ruleSpec(rule) else { return false }
        let table = spec.table ?? (spec.action == 1 ? 254 : 0)
        // The kernel leaves FRA_SRC / FRA_DST out for a /0.
        func prefix(_ address: IPAddress?, _ length: UInt8) -> IPAddress? { length == 0 ? nil : address }
        return spec.family == deletion.family && (spec.preference.map { $0 == deletion.preference } ?? true)
            && table == deletion.table && spec.action == deletion.action
            && prefix(spec.source, spec.sourcePrefixLength) == prefix(deletion.source, deletion.sourcePrefixLength)
            && spec.sourcePrefixLength == deletion.sourcePrefixLength
            && prefix(spec.destination, spec.destinationPrefixLength)
                == prefix(deletion.destination, deletion.destinationPrefixLength)
            && spec.destinationPrefixLength == deletion.destinationPrefixLength
    }

    /// Decimal or 0x hexadecimal.
    private static func number(_ text: String) -> UInt32? {
        text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
    }

    /// `N` or `N-M`.
    private static func ports(_ text: String) -> ClosedRange<UInt16>? {
        let parts = text.split(separator: "-").compactMap { UInt16($0) }
        guard let first = parts.first else { return nil }
        let last = parts.count > 1 ? parts[1] : first
        return first <= last ? first...last : nil
    }
}

/// Why a route or rule of the configuration cannot be programmed.
struct RouteProblem: Error, Hashable, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}
