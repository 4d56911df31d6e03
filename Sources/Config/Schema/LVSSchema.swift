/// `virtual_server_group`, `virtual_server`, `real_server`, `sorry_server` and the top-level `SSL`
/// block; the checkers are in `CheckerSchema`.
enum LVSSchema {
    static let topLevelHandlers: [String: KeywordTable<KeepalivedConfig>.Handler] = [
        "virtual_server_group": { config, node, context in
            if let group = virtualServerGroup(node, context) { config.lvs.virtualServerGroups.append(group) }
        },
        "virtual_server": { config, node, context in
            if let server = virtualServer(node, context) { config.lvs.virtualServers.append(server) }
        },
        "SSL": { config, node, context in
            guard let children = context.block(node) else { return }
            var ssl = SSLSettings()
            sslTable.apply(children, to: &ssl, context)
            config.lvs.ssl = ssl
        },
    ]

    // MARK: Durations

    /// Timers that must be above zero (`delay_loop`, `connect_timeout`).
    static let positiveTime = Duration.microseconds(1)...Duration.seconds(Int64(UInt32.max))
    /// Timers where 0 means "none" (`warmup`, `delay_before_retry`).
    static let anyTime = Duration.zero...Duration.seconds(Int64(UInt32.max))
    static let anyCount = 0...Int(UInt32.max)

    // MARK: Shared handlers

    /// Turns the handlers of a part of a model into handlers of the whole.
    /// `access` hands the part of a whole to its argument (`{ $1(&$0.checkDefaults) }`): a closure, not a key
    /// path, since it runs for every statement of the part and a key path's projection costs more than the rest.
    static func lifted<Whole, Part>(
        _ handlers: [String: KeywordTable<Part>.Handler],
        _ access: @escaping @Sendable (inout Whole, (inout Part) -> Void) -> Void
    ) -> [String: KeywordTable<Whole>.Handler] {
        handlers.mapValues { handler in
            { whole, node, context in access(&whole) { handler(&$0, node, context) } }
        }
    }

    /// The check settings a virtual server, a real server and a checker may each set.
    static let checkDefaultsHandlers: [String: KeywordTable<CheckDefaults>.Handler] = [
        "connect_timeout": Field.duration(\.connectTimeout, positiveTime),
        "retry": Field.integer(\.retry, anyCount),
        "delay_before_retry": Field.duration(\.delayBeforeRetry, anyTime),
        "warmup": Field.duration(\.warmup, anyTime),
        "delay_loop": Field.duration(\.delayLoop, positiveTime),
        "alpha": Field.flag(\.alpha),
    ]

    /// keepalived's old spellings, accepted wherever the current one is.
    static let aliases = ["nb_get_retry": "retry", "lb_algo": "lvs_sched", "lb_kind": "lvs_method"]

    // MARK: SSL

    static let sslTable = KeywordTable<SSLSettings>(
        "SSL",
        handlers: [
            "password": Field.string(\.password),
            "ca": Field.string(\.caFile),
            "certificate": Field.string(\.certificateFile),
            "key": Field.string(\.keyFile),
        ]
    )

    // MARK: virtual_server_group

    static func virtualServerGroup(_ node: ConfigNode, _ context: SchemaContext) -> VirtualServerGroup? {
        guard let name = context.text(node), let children = context.block(node) else { return nil }
        var group = VirtualServerGroup(name: name, location: node.location)
        for line in children {
            if let entry = groupEntry(line, context) { group.entries.append(entry) }
        }
        if group.entries.isEmpty {
            context.warning("virtual_server_group '\(name)' has no entries", at: node)
        } else if group.addressFamilies.count == 2,
            group.entries.contains(where: { if case .fwmark(_, nil) = $0.target { true } else { false } })
        {
            context.error(
                "virtual_server_group '\(name)' has IPv4 and IPv6 addresses, so its fwmarks need 'inet' or 'inet6'",
                at: node)
        }
        return group
    }

    /// `ADDR [PORT]`, `ADDR-RANGE [PORT]` or `fwmark N [inet|inet6]`.
    static func groupEntry(_ line: ConfigNode, _ context: SchemaContext) -> VirtualServerGroupEntry? {
        guard context.noBlock(line) else { return nil }
        if line.keyword == "fwmark" {
            guard let words = context.arguments(line, count: 1...2),
                let mark = context.uint32(words[0], for: line, what: "'fwmark'")
            else { return nil }
            var family: IPAddress.Family?
            if words.count == 2 {
                guard let name = context.choice(words[1], ["inet", "inet6"], for: line) else { return nil }
                family = name == "inet" ? .ipv4 : .ipv6
            }
            return VirtualServerGroupEntry(.fwmark(mark, family: family), location: line.location)
        }
        guard line.arguments.count <= 1 else {
            context.error(
                "a virtual_server_group line is 'ADDRESS [PORT]', 'RANGE [PORT]' or 'fwmark N', not '\(([line.keyword] + line.arguments).joined(separator: " "))'",
                at: line)
            return nil
        }
        guard let (first, last) = addressRange(line.keyword, for: line, context) else { return nil }
        var port = 0
        if let text = line.arguments.first {
            guard let value = context.port(text, for: line, allowZero: true) else { return nil }
            port = value
        }
        return VirtualServerGroupEntry(.addresses(first: first, last: last, port: port), location: line.location)
    }

    /// `ADDR`, `ADDR/LEN`, `ADDR-LAST` (last IPv4 octet or IPv6 group) or `ADDR-ADDR`.
    static func addressRange(_ text: String, for node: ConfigNode, _ context: SchemaContext) -> (IPAddress, IPAddress)?
    {
        if text.contains("/") {
            guard let prefix = IPPrefix(text) else {
                context.error("'\(text)' is not an address, address range or address/prefix-length", at: node)
                return nil
            }
            let bytes = prefix.address.bytes
            let first = bytes.enumerated().map { index, byte in byte & mask(index, prefix.length) }
            let last = bytes.enumerated().map { index, byte in byte | ~mask(index, prefix.length) }
            return (IPAddress(bytes: first)!, IPAddress(bytes: last)!)
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let first = IPAddress(parts[0]) else {
            context.error("'\(text)' is not an address or address range (like 192.0.2.1-10)", at: node)
            return nil
        }
        guard parts.count == 2 else { return (first, first) }
        var last = IPAddress(parts[1])
        if last == nil {
            // The short form replaces the last octet (IPv4) or the last group (IPv6, in hex).
            var bytes = first.bytes
            if case .v4 = first, let octet = UInt8(parts[1]) {
                bytes[3] = octet
                last = IPAddress(bytes: bytes)
            } else if case .v6 = first, parts[1].count <= 4, let group = UInt16(parts[1], radix: 16) {
                bytes[14] = UInt8(group >> 8)
                bytes[15] = UInt8(group & 0xff)
                last = IPAddress(bytes: bytes)
            }
        }
        guard let last, last.family == first.family, !last.bytes.lexicographicallyPrecedes(first.bytes) else {
            context.error("'\(text)' is not an address range from a lower to a higher address of one family", at: node)
            return nil
        }
        return (first, last)
    }

    /// The netmask byte at `index` for a prefix of `length` bits.
    private static func mask(_ index: Int, _ length: Int) -> UInt8 {
        let bits = min(max(length - 8 * index, 0), 8)
        return bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
    }

    // MARK: virtual_server

    static func virtualServer(_ node: ConfigNode, _ context: SchemaContext) -> VirtualServer? {
        guard let words = context.arguments(node, count: 1...2), let children = context.block(node) else { return nil }
        let address: VirtualServerAddress
        switch words[0] {
        case "fwmark":
            guard words.count == 2 else {
                context.error("'virtual_server fwmark' needs a mark number", at: node)
                return nil
            }
            guard let mark = context.uint32(words[1], for: node, what: "'fwmark'") else { return nil }
            guard mark > 0 else {
                context.error("'virtual_server fwmark' must be from 1 to \(UInt32.max), not 0", at: node)
                return nil
            }
            address = .fwmark(mark)
        case "group":
            guard words.count == 2 else {
                context.error("'virtual_server group' needs a virtual_server_group name", at: node)
                return nil
            }
            address = .group(words[1])
        default:
            guard let ip = context.address(words[0], for: node) else { return nil }
            var port = 0
            if words.count == 2 {
                guard let value = context.port(words[1], for: node, allowZero: true) else { return nil }
                port = value
            }
            address = .endpoint(ip, port: port)
        }
        var server = VirtualServer(address: address, location: node.location)
        // Exactly the real servers' room: a list with room to spare is copied again by `dropSpareCapacity`.
        var realServerCount = 0
        for index in children.indices where children[index].keyword == "real_server" { realServerCount += 1 }
        server.realServers.reserveCapacity(realServerCount)
        virtualServerTable.apply(children, to: &server, context)
        finish(&server, children, context)
        return server
    }

    /// What can only be settled once the whole block is read: defaults that depend on other
    /// keywords, flags that depend on the scheduler, and every checker's timing.
    static func finish(_ server: inout VirtualServer, _ children: [ConfigNode], _ context: SchemaContext) {
        if server.persistenceTimeout == nil, server.persistenceGranularity != nil {
            server.persistenceTimeout = VirtualServer.defaultPersistenceTimeout
        }
        for index in children.indices {  // by index: a for-in loop copies every node
            let keyword = children[index].keyword
            // Only keywords starting with these letters are looked at further.
            switch keyword.utf8.first {
            case UInt8(ascii: "s"), UInt8(ascii: "m"), UInt8(ascii: "o"), UInt8(ascii: "p"): break
            default: continue
            }
            let child = children[index]
            if keyword.hasPrefix("sh-"), server.scheduler != .sourceHashing {
                context.warning(
                    "'\(keyword)' only applies to the sh scheduler, not \(server.scheduler.rawValue)", at: child)
            } else if keyword.hasPrefix("mh-"), server.scheduler != .maglevHashing {
                context.warning(
                    "'\(keyword)' only applies to the mh scheduler, not \(server.scheduler.rawValue)", at: child)
            } else if keyword == "ops", server.protocol != .udp {
                context.warning("'ops' (one-packet scheduling) only applies to UDP services", at: child)
            } else if keyword.hasPrefix("persistence_"), keyword != "persistence_timeout", !server.isPersistent {
                context.warning("'\(keyword)' has no effect with persistence_timeout 0", at: child)
            }
        }
        if case .endpoint = server.address, !children.indices.contains(where: { children[$0].keyword == "protocol" }) {
            context.warning(
                "virtual server \(describe(server)) has no 'protocol'; Vigil uses TCP, where keepalived 2.2.7 "
                    + "uses UDP (and reports it): say 'protocol TCP' or 'protocol UDP'", at: server.location)
        }
        if case .endpoint(let ip, _) = server.address, let family = server.ipFamily, family != ip.family {
            context.error(
                "'ip_family' \(family == .ipv4 ? "inet" : "inet6") conflicts with the virtual server address \(ip)",
                at: server.location)
        }
        if let granularity = server.persistenceGranularity, case .endpoint(let ip, _) = server.address,
            granularity > ip.maxPrefixLength
        {
            context.error(
                "'persistence_granularity' /\(granularity) is longer than an \(ip.family == .ipv4 ? "IPv4" : "IPv6") address",
                at: server.location)
        }
        finishAnnouncement(&server, children, context)
        for index in server.realServers.indices {
            let realServerDefaults = server.realServers[index].checkDefaults
            for checker in server.realServers[index].checkers.indices {
                CheckerSchema.resolveTiming(
                    &server.realServers[index].checkers[checker], realServer: realServerDefaults,
                    virtualServer: server.checkDefaults)
            }
        }
    }

    /// `announce_up` alone sets `announce_down` to the same (and the reverse); the low mark may not be above the high
    /// one, and only a virtual server with an address can be announced.
    static func finishAnnouncement(_ server: inout VirtualServer, _ children: [ConfigNode], _ context: SchemaContext) {
        // By index, the first byte first: most blocks have no announcement, and many statements.
        guard
            let last = children.indices.last(where: {
                children[$0].keyword.utf8.first == UInt8(ascii: "a") && children[$0].keyword.hasPrefix("announce_")
            })
        else { return }
        let node = children[last]
        server.announceUp = server.announceUp ?? server.announceDown
        server.announceDown = server.announceDown ?? server.announceUp
        if case .fwmark = server.address {
            context.error(
                "virtual server \(describe(server)) has no address to announce; announce an address or a "
                    + "virtual_server_group of addresses", at: node)
        }
        guard let up = server.announceUp, let down = server.announceDown else { return }
        let total = server.realServers.count
        if down.count(of: total) > up.count(of: total) {
            context.error(
                "'announce_down' \(down) is above 'announce_up' \(up) (of \(total) real servers): the address would be "
                    + "withdrawn while healthy enough to announce", at: node)
        } else if up.count(of: total) > total {
            context.warning(
                "'announce_up' \(up) is more than the \(total) real servers: the address is never announced", at: node)
        }
    }

    static let virtualServerHandlers: [String: KeywordTable<VirtualServer>.Handler] = [
        "ip_family": Field.value(\.ipFamily) { $1.family($0) },
        "lvs_sched": Field.value(\.scheduler) { $1.choice($0, of: IPVSScheduler.self) },
        "hashed": serviceFlag(.hashed),
        "ops": serviceFlag(.onePacket),
        "flag-1": serviceFlag(.scheduler1),
        "flag-2": serviceFlag(.scheduler2),
        "flag-3": serviceFlag(.scheduler3),
        "sh-fallback": serviceFlag(.scheduler1),
        "sh-port": serviceFlag(.scheduler2),
        "mh-fallback": serviceFlag(.scheduler1),
        "mh-port": serviceFlag(.scheduler2),
        "lvs_method": Field.value(\.forwarding) { $1.forwarding($0) },
        "persistence_engine": { server, node, context in
            guard let name = context.text(node) else { return }
            if name != "sip" {
                context.warning("persistence engine '\(name)' is not one the kernel has (sip)", at: node)
            }
            server.persistenceEngine = name
        },
        "persistence_timeout": { server, node, context in
            guard let words = context.arguments(node, count: 0...1) else { return }
            guard let text = words.first else {
                server.persistenceTimeout = VirtualServer.defaultPersistenceTimeout
                return
            }
            if let value = context.integer(text, in: 0...VirtualServer.maximumPersistenceTimeout, for: node) {
                server.persistenceTimeout = value
            }
        },
        "persistence_granularity": Field.value(\.persistenceGranularity) { granularity($0, $1) },
        "protocol": Field.value(\.protocol) { $1.choice($0, of: IPVSProtocol.self, ignoringCase: true) },
        "ha_suspend": Field.flag(\.haSuspend),
        "smtp_alert": Field.flag(\.smtpAlert),
        "virtualhost": Field.string(\.virtualhost),
        "omega": Field.flag(\.omega),
        "quorum": Field.integer(\.quorum, 1...Int(UInt32.max)),
        "hysteresis": Field.integer(\.hysteresis, anyCount),
        "quorum_up": Field.script(\.quorumUp),
        "quorum_down": Field.script(\.quorumDown),
        "inhibit_on_failure": Field.flag(\.inhibitOnFailure),
        "sorry_server": { server, node, context in
            guard context.noBlock(node), let (address, port) = serverAddress(node, context) else { return }
            server.sorryServer = SorryServer(address: address, port: port, location: node.location)
        },
        "sorry_server_inhibit": { server, node, context in
            guard server.sorryServer != nil else {
                context.warning("'sorry_server_inhibit' before or without 'sorry_server' is ignored", at: node)
                return
            }
            if let value = context.flag(node) { server.sorryServer?.inhibit = value }
        },
        "sorry_server_lvs_method": { server, node, context in
            guard server.sorryServer != nil else {
                context.warning("'sorry_server_lvs_method' before or without 'sorry_server' is ignored", at: node)
                return
            }
            if let method = context.forwarding(node) { server.sorryServer?.forwarding = method }
        },
        "real_server": { server, node, context in
            if let realServer = realServer(node, context) { server.realServers.append(realServer) }
        },
        // Vigil only: BGP anycast watermarks (GlobalDefs.announceTable).
        "announce_up": Field.value(\.announceUp) { announceThreshold($0, $1) },
        "announce_down": Field.value(\.announceDown) { announceThreshold($0, $1) },
    ]

    /// `announce_up N` or `announce_up P%` (P from 1 to 100).
    static func announceThreshold(_ node: ConfigNode, _ context: SchemaContext) -> AnnounceThreshold? {
        guard let text = context.single(node) else { return nil }
        if text.hasSuffix("%") {
            return context.integer(String(text.dropLast()), in: 1...100, for: node, what: "'\(node.keyword)' percent")
                .map { .percent($0) }
        }
        return context.integer(text, in: 1...Int(UInt32.max), for: node).map { .count($0) }
    }

    static let virtualServerTable = KeywordTable<VirtualServer>(
        "virtual_server",
        handlers: virtualServerHandlers.merging(lifted(checkDefaultsHandlers) { $1(&$0.checkDefaults) }) {
            first, _ in first
        },
        unsupported: [
            "snmp_name": .notBuilt("Vigil has no SNMP agent; it exports Prometheus metrics"),
            "weight": .ignoredByKeepalived("it only reports it over SNMP; no IPVS rule uses it"),
        ],
        aliases: aliases
    )

    static func serviceFlag(_ flag: IPVSServiceFlags) -> KeywordTable<VirtualServer>.Handler {
        { server, node, context in
            guard let on = context.flag(node) else { return }
            if on { server.flags.insert(flag) } else { server.flags.remove(flag) }
        }
    }

    /// `persistence_granularity`: an IPv4 netmask (`255.255.255.0`) or a prefix length.
    static func granularity(_ node: ConfigNode, _ context: SchemaContext) -> Int? {
        guard let text = context.single(node) else { return nil }
        if text.contains(".") {
            guard case .v4(let mask) = IPAddress(text), mask != 0, ~mask & (~mask &+ 1) == 0 else {
                context.error(
                    "'persistence_granularity' takes a netmask with contiguous bits (like 255.255.255.0) or a prefix length, not '\(text)'",
                    at: node)
                return nil
            }
            return mask.nonzeroBitCount
        }
        return context.integer(text, in: 1...128, for: node)
    }

    /// `ADDR [PORT]` of `real_server` and `sorry_server`; the port may be left out.
    static func serverAddress(_ node: ConfigNode, _ context: SchemaContext) -> (IPAddress, Int?)? {
        guard let words = context.arguments(node, count: 1...2), let address = context.address(words[0], for: node)
        else { return nil }
        guard words.count == 2 else { return (address, nil) }
        guard let port = context.port(words[1], for: node, allowZero: true) else { return nil }
        return (address, port)
    }

    // MARK: real_server

    static func realServer(_ node: ConfigNode, _ context: SchemaContext) -> RealServer? {
        guard let (address, port) = serverAddress(node, context) else { return nil }
        var server = RealServer(address: address, port: port, location: node.location)
        realServerTable.apply(node.children ?? [], to: &server, context)
        return server
    }

    static let realServerHandlers: [String: KeywordTable<RealServer>.Handler] = [
        "weight": Field.integer(\.weight, 0...RealServer.maximumWeight),
        "lvs_method": Field.value(\.forwarding) { $1.forwarding($0) },
        "uthreshold": Field.integer(\.upperThreshold, anyCount),
        "lthreshold": Field.integer(\.lowerThreshold, anyCount),
        "inhibit_on_failure": Field.flag(\.inhibitOnFailure),
        "notify_up": Field.script(\.notifyUp),
        "notify_down": Field.script(\.notifyDown),
        "smtp_alert": Field.flag(\.smtpAlert),
        "virtualhost": Field.string(\.virtualhost),
        // Vigil extensions: keepalived has only `retry`.
        "rise": Field.integer(\.rise, 1...65535),
        "fall": Field.integer(\.fall, 1...65535),
    ]

    static let realServerTable = KeywordTable<RealServer>(
        "real_server",
        handlers:
            realServerHandlers
            .merging(lifted(checkDefaultsHandlers) { $1(&$0.checkDefaults) }) { first, _ in first }
            .merging(CheckerSchema.realServerHandlers) { first, _ in first },
        unsupported: ["snmp_name": .notBuilt("Vigil has no SNMP agent; it exports Prometheus metrics")],
        aliases: ["nb_get_retry": "retry"]
    )

    // MARK: Cross-checks

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {
        var groupNames: Set<String> = []
        for group in config.lvs.virtualServerGroups where !groupNames.insert(group.name).inserted {
            context.error("virtual_server_group '\(group.name)' is defined twice", at: group.location)
        }
        var services: Set<ServiceKey> = []
        for server in config.lvs.virtualServers {
            var group: VirtualServerGroup?
            if case .group(let name) = server.address {
                group = config.lvs.group(named: name)
                guard group != nil else {
                    var message = "virtual_server group '\(name)' names no virtual_server_group"
                    if let suggestion = Suggestion.nearest(to: name, in: groupNames) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    context.error(message, at: server.location)
                    continue
                }
            }
            if !services.insert(ServiceKey(server)).inserted {
                context.error("virtual server \(describe(server)) is defined twice", at: server.location)
            }
            if server.announceUp != nil, config.globalDefs.announceTable == nil {
                context.error(
                    "virtual server \(describe(server)) is announced ('announce_up'/'announce_down') but global_defs "
                        + "has no 'announce_table' for its routes", at: server.location)
            }
            checkPortZero(server, group: group, context)
            checkFamilies(server, group: group, context)
            checkRealServers(server, context)
        }
        checkTrackFiles(config, context)
    }

    /// What identifies an IPVS service: a fwmark service has no protocol of its own.
    struct ServiceKey: Hashable {
        var address: VirtualServerAddress
        var `protocol`: IPVSProtocol?
        var family: IPAddress.Family?

        init(_ server: VirtualServer) {
            address = server.address
            switch server.address {
            case .fwmark: family = server.ipFamily
            default:
                `protocol` = server.protocol
                family = server.ipFamily
            }
        }
    }

    static func describe(_ server: VirtualServer) -> String { server.displayName }

    /// An all-ports service (port 0) only makes sense, and is only accepted by IPVS, when persistent.
    static func checkPortZero(_ server: VirtualServer, group: VirtualServerGroup?, _ context: SchemaContext) {
        guard !server.isPersistent else { return }
        switch server.address {
        case .endpoint(_, 0):
            context.error(
                "virtual server \(describe(server)) has port 0 (all ports), which needs persistence_timeout above 0",
                at: server.location)
        case .group(let name):
            for entry in group?.entries ?? [] {
                if case .addresses(_, _, 0) = entry.target {
                    context.error(
                        "virtual_server group '\(name)' has an entry without a port (line \(entry.location.line)), which needs persistence_timeout above 0",
                        at: server.location)
                    return
                }
            }
        default: break
        }
    }

    /// Real and sorry servers must have the virtual server's address family, unless tunnelled.
    static func checkFamilies(_ server: VirtualServer, group: VirtualServerGroup?, _ context: SchemaContext) {
        let families: Set<IPAddress.Family>
        switch server.address {
        case .endpoint(let ip, _): families = [ip.family]
        case .fwmark: families = server.ipFamily.map { [$0] } ?? []
        case .group: families = server.ipFamily.map { [$0] } ?? group?.addressFamilies ?? []
        }
        var required = families.count == 1 ? families.first : nil
        func check(_ address: IPAddress, _ forwarding: ForwardingMethod, _ location: SourceLocation, _ what: String) {
            guard !forwarding.isTunnel else { return }
            let target = (address: address, location: location, what: what)
            if families.count > 1 {
                context.error(
                    "\(target.what) \(target.address) is not tunnelled, but virtual_server group mixes IPv4 and IPv6; only tunnelled servers may serve both",
                    at: target.location)
                return
            }
            guard let family = required else {
                // A fwmark service takes its family from its first untunnelled server.
                required = target.address.family
                return
            }
            if target.address.family != family {
                context.error(
                    "\(target.what) \(target.address) is \(name(target.address.family)) but virtual server \(describe(server)) is \(name(family)); only tunnelled (lvs_method TUN) servers may differ",
                    at: target.location)
            }
        }
        // By index: a `for … in` loop would copy each real server whole (a retain of each of its fields).
        let realServers = server.realServers
        for index in realServers.indices {
            check(
                realServers[index].address, realServers[index].forwarding ?? server.forwarding,
                realServers[index].location, "real server")
        }
        if let sorry = server.sorryServer {
            check(sorry.address, sorry.forwarding ?? server.forwarding, sorry.location, "sorry server")
        }
    }

    static func name(_ family: IPAddress.Family) -> String { family == .ipv4 ? "IPv4" : "IPv6" }

    static func checkRealServers(_ server: VirtualServer, _ context: SchemaContext) {
        struct Endpoint: Hashable {
            var address: IPAddress
            var port: Int
        }
        // A few real servers (most virtual servers) are compared with each other; more are hashed.
        let hashed = server.realServers.count > 16
        var seen: [Endpoint: SourceLocation] = [:]
        if hashed { seen.reserveCapacity(server.realServers.count) }
        var totalWeight = 0
        var dynamicWeights = false
        let realServers = server.realServers
        for index in realServers.indices {  // by index, as in checkFamilies
            let address = realServers[index].address
            let port = realServers[index].port ?? 0
            let location = realServers[index].location
            let first: SourceLocation?
            if hashed {
                let key = Endpoint(address: address, port: port)
                first = seen[key]
                if first == nil { seen[key] = location }
            } else {
                let earlier = realServers.indices[..<index].first {
                    realServers[$0].address == address && (realServers[$0].port ?? 0) == port
                }
                first = earlier.map { realServers[$0].location }
            }
            if let first {
                context.error(
                    "real server \(address) port \(port) is already in this virtual server (line \(first.line))",
                    at: location)
            }
            let lower = realServers[index].lowerThreshold
            let upper = realServers[index].upperThreshold
            if lower > 0, upper > 0, lower > upper {
                context.error("real server \(address) has lthreshold \(lower) above uthreshold \(upper)", at: location)
            }
            totalWeight += realServers[index].weight
            dynamicWeights = dynamicWeights || realServers[index].checkers.contains { $0.adjustsWeight }
        }
        if !server.realServers.isEmpty, !dynamicWeights, server.quorum > totalWeight {
            context.warning(
                "quorum \(server.quorum) is more than the real servers' total weight \(totalWeight); the quorum can never be reached",
                at: server.location)
        }
    }

    /// FILE_CHECK's `track_file` must name a top-level `track_file`/`vrrp_track_file` block.
    static func checkTrackFiles(_ config: KeepalivedConfig, _ context: SchemaContext) {
        let known = config.vrrp.trackFiles.map(\.name)
        for server in config.lvs.virtualServers {
            let realServers = server.realServers
            for index in realServers.indices {  // by index, as in checkFamilies
                for checker in realServers[index].checkers {
                    guard case .file(let file) = checker.kind else { continue }
                    guard !known.contains(file.trackFile) else { continue }
                    var message = "FILE_CHECK names track_file '\(file.trackFile)', which is not defined"
                    if let suggestion = Suggestion.nearest(to: file.trackFile, in: known) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    context.error(message, at: checker.location)
                }
            }
        }
    }
}

extension Checker {
    /// Whether the checker changes the real server's weight on its own (so the configured
    /// weights say little about the quorum).
    var adjustsWeight: Bool {
        switch kind {
        case .misc(let misc): misc.dynamic
        case .file(let file): file.dynamic
        default: false
        }
    }
}
