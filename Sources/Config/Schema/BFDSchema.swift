/// `bfd_instance NAME { … }` (keepalived.conf(5), "BFD CONFIGURATION"), `track_bfd` in `vrrp_instance` and
/// `vrrp_sync_group`, `BFD_CHECK` in `real_server`, and the checks between them.
enum BFDSchema {
    typealias Handler = KeywordTable<KeepalivedConfig>.Handler

    static let topLevelHandlers: [String: Handler] = [
        "bfd_instance": { config, node, context in
            guard let (name, children) = VRRPSchema.namedBlock(node, context) else { return }
            guard name.utf8.count <= BFDInstance.maximumNameLength else {
                context.error(
                    "bfd_instance name '\(name)' is longer than keepalived's \(BFDInstance.maximumNameLength) "
                        + "characters", at: node)
                return
            }
            var instance = BFDInstance(name: name, location: node.location)
            table.apply(children, to: &instance, context)
            finish(&instance, node, context)
            config.bfd.instances.append(instance)
        }
    ]

    static let handlers: [String: Field<BFDInstance>.Handler] = [
        // keepalived takes both spellings, and `hoplimit` for `ttl`: synonyms, not old names.
        "neighbor_ip": Field.address(\.neighborIP),
        "neighbour_ip": Field.address(\.neighborIP),
        "source_ip": Field.address(\.sourceIP),
        // keepalived: milliseconds with up to three decimals (its resolution is a microsecond).
        "min_rx": milliseconds(\.minRx, minimum: .milliseconds(1)),
        "min_tx": milliseconds(\.minTx, minimum: .milliseconds(1)),
        "idle_tx": milliseconds(\.idleTx, minimum: .seconds(1)),
        "multiplier": Field.integer(\.multiplier, 1...255),
        "passive": Field.set(\.passive, to: true),
        "ttl": Field.integer(\.ttl, 1...255),
        "hoplimit": Field.integer(\.ttl, 1...255),
        // keepalived reads max_hops into an unsigned byte: -1 is 255, which turns the check off.
        "max_hops": Field.value(\.maxHops) { node, context in
            context.integer(node, in: -1...255).map { $0 < 0 ? 255 : $0 }
        },
        "weight": Field.weight(\.weight, reverse: \.reverse, in: -253...253),
        "vrrp": { instance, node, context in
            guard context.noBlock(node), context.arguments(node, count: 0...0) != nil else { return }
            // The first of `vrrp` / `checker` limits the events to the process it names; the second adds its own.
            if instance.notifiesVRRP && instance.notifiesChecker { instance.notifiesChecker = false }
            instance.notifiesVRRP = true
        },
        "checker": { instance, node, context in
            guard context.noBlock(node), context.arguments(node, count: 0...0) != nil else { return }
            if instance.notifiesVRRP && instance.notifiesChecker { instance.notifiesVRRP = false }
            instance.notifiesChecker = true
        },
    ]

    static let table = KeywordTable<BFDInstance>("bfd_instance", handlers: handlers)

    /// `min_rx 3.312`: milliseconds with at most three decimals, from `minimum` to keepalived's largest
    /// (UINT32_MAX microseconds).
    static func milliseconds(_ path: Field<BFDInstance>.Path<Duration>, minimum: Duration) -> Field<BFDInstance>.Handler
    {
        Field.value(path) { node, context in
            guard let text = context.single(node) else { return nil }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count < 2 || parts[1].count <= 3, let seconds = SchemaContext.microseconds(text) else {
                context.error(
                    "'\(node.keyword)' takes milliseconds with at most three decimals (like 10 or 3.312), not '\(text)'",
                    at: node)
                return nil
            }
            let value = Duration.microseconds(seconds / 1000)
            let maximum = Duration.microseconds(Int64(UInt32.max))
            guard value >= minimum, value <= maximum else {
                context.error(
                    "'\(node.keyword)' must be from \(wholeMilliseconds(minimum)) to "
                        + "\(UInt32.max / 1000) milliseconds, not \(text)", at: node)
                return nil
            }
            if value > .seconds(10) {
                context.warning(
                    "'\(node.keyword)' \(text) ms is more than keepalived's largest sensible value (10000 ms)",
                    at: node)
            }
            return value
        }
    }

    static func wholeMilliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// keepalived's end-of-block checks: a neighbour is required, the source must be of its family, and
    /// `max_hops` cannot exceed the TTL.
    static func finish(_ instance: inout BFDInstance, _ node: ConfigNode, _ context: SchemaContext) {
        guard let neighbor = instance.neighborIP else {
            // A neighbor_ip that did not parse has had its error.
            if !(node.children ?? []).contains(where: { $0.keyword == "neighbor_ip" || $0.keyword == "neighbour_ip" }) {
                context.error("bfd_instance '\(instance.name)' needs 'neighbor_ip'", at: node)
            }
            return
        }
        if let source = instance.sourceIP, source.family != neighbor.family {
            context.error(
                "bfd_instance '\(instance.name)': source_ip \(source) and neighbor_ip \(neighbor) are not of the "
                    + "same family", at: node)
        }
        let ttl = instance.ttl ?? (neighbor.family == .ipv6 ? 64 : 255)
        if instance.maxHops < 255, instance.maxHops > ttl {
            context.warning(
                "bfd_instance '\(instance.name)': max_hops \(instance.maxHops) exceeds the ttl/hoplimit \(ttl); "
                    + "using \(ttl), as keepalived does", at: node)
            instance.maxHops = ttl
        }
    }

    // MARK: track_bfd and BFD_CHECK

    /// `track_bfd { NAME [weight N [reverse|noreverse]] }`.
    static func trackBFD<Model>(_ path: Field<Model>.Path<[TrackReference]>) -> Field<Model>.Handler {
        Field.trackReferences(path, weights: -253...253)
    }

    static let checkTable = KeywordTable<CheckerSchema.Block<BFDCheck>>(
        "BFD_CHECK",
        handlers: [
            "name": Field.value(\.payload.name) { node, context in context.single(node) },
            "alpha": Field.value(\.overrides.alpha) { node, context in context.flag(node) },
        ]
    )

    // MARK: Cross-checks

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {
        let instances = config.bfd.instances
        VRRPSchema.reportDuplicates(instances.map { ($0.name, $0.location) }, "bfd_instance", context)
        var sessions: [String: String] = [:]
        for instance in instances {
            guard let neighbor = instance.neighborIP else { continue }
            let key = "\(neighbor)|\(instance.sourceIP.map(\.description) ?? "")"
            if let first = sessions[key] {
                context.error(
                    "bfd_instance '\(instance.name)' has the same neighbor_ip \(neighbor)"
                        + (instance.sourceIP.map { " and source_ip \($0)" } ?? "") + " as '\(first)'",
                    at: instance.location)
            } else {
                sessions[key] = instance.name
            }
        }
        let names = instances.map(\.name)
        func check(_ references: [TrackReference], in block: String) {
            for reference in references {
                guard let instance = config.bfd.instance(named: reference.name) else {
                    unknown(reference.name, at: reference.location, names: names, context)
                    continue
                }
                if !instance.notifiesVRRP {
                    context.warning(
                        "track_bfd in \(block) names bfd_instance '\(reference.name)', which sends its state to the "
                            + "checker only ('checker'); ignored, as keepalived ignores it", at: reference.location)
                }
            }
        }
        for instance in config.vrrp.instances { check(instance.trackBFDs, in: "vrrp_instance '\(instance.name)'") }
        for group in config.vrrp.syncGroups { check(group.trackBFDs, in: "vrrp_sync_group '\(group.name)'") }
        for server in config.lvs.virtualServers {
            // By index: a `for … in` loop would copy each real server whole (a retain of each of its fields).
            let realServers = server.realServers
            for index in realServers.indices {
                for checker in realServers[index].checkers {
                    guard case .bfd(let check) = checker.kind else { continue }
                    guard let instance = config.bfd.instance(named: check.name) else {
                        unknown(check.name, at: checker.location, names: names, context)
                        continue
                    }
                    if !instance.notifiesChecker {
                        context.warning(
                            "BFD_CHECK names bfd_instance '\(check.name)', which sends its state to the VRRP "
                                + "process only ('vrrp'); the checker is ignored, as keepalived ignores it",
                            at: checker.location)
                    }
                }
            }
        }
    }

    static func unknown(_ name: String, at location: SourceLocation, names: [String], _ context: SchemaContext) {
        var message = "bfd_instance '\(name)' is not defined"
        if let suggestion = Suggestion.nearest(to: name, in: names) { message += "; did you mean '\(suggestion)'?" }
        context.error(message, at: location)
    }
}
