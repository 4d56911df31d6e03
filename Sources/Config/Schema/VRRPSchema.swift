/// `static_ipaddress`, `static_routes`, `static_rules`, `vrrp_script`, `track_file`,
/// `vrrp_sync_group`, `vrrp_instance`, and the checks between them.
enum VRRPSchema {
    typealias Handler = KeywordTable<KeepalivedConfig>.Handler

    /// Top-level keywords the VRRP worker does not act on yet (checked by their handlers, then warned).
    static let unsupportedTopLevel: KeywordWarnings = []

    static let topLevelHandlers: [String: Handler] = [
        "static_ipaddress": { config, node, context in
            for var address in VRRPAddressSchema.addresses(node, context) {
                if address.useVMAC {
                    context.warning("'use_vmac' is not for static addresses; ignored", at: address.location)
                    address.useVMAC = false
                    address.vmacName = nil
                }
                // Without `dev` a static address goes on default_interface, which its group then tracks.
                VRRPAddressSchema.checkTrackGroup(
                    &address, groups: config.vrrp.trackGroups,
                    interface: address.device ?? config.globalDefs.defaultInterface, what: "static_ipaddress", context)
                config.vrrp.staticAddresses.append(address)
            }
        },
        "static_routes": { config, node, context in
            for var route in VRRPAddressSchema.routes(node, context) {
                VRRPAddressSchema.checkTrackGroup(
                    &route, groups: config.vrrp.trackGroups, interface: route.device, what: "route", context)
                config.vrrp.staticRoutes.append(route)
            }
        },
        "static_rules": { config, node, context in
            for var rule in VRRPAddressSchema.rules(node, context) {
                VRRPAddressSchema.checkTrackGroup(
                    &rule, groups: config.vrrp.trackGroups, interface: rule.inputInterface, what: "rule", context)
                config.vrrp.staticRules.append(rule)
            }
        },
        "track_group": { config, node, context in
            guard let (name, children) = namedBlock(node, context) else { return }
            if let earlier = config.vrrp.trackGroups.first(where: { $0.name == name }) {
                context.warning(
                    "track_group '\(name)' is already defined at \(earlier.location); this one is ignored (keepalived)",
                    at: node)
                return
            }
            var group = StaticTrackGroup(name: name, location: node.location)
            trackGroupTable.apply(children, to: &group, context)
            if group.members.isEmpty {
                context.warning("track_group '\(name)' has no instances; keepalived removes it", at: node)
            }
            config.vrrp.trackGroups.append(group)
        },
        "vrrp_script": { config, node, context in
            // keepalived drops a script without `script`, and instances tracking it ignore it.
            if let script = namedEntity(node, context, scriptTable, VRRPScript.init, required: "script") {
                config.vrrp.scripts.append(script)
            }
        },
        "track_file": trackFile,
        "vrrp_track_file": trackFile,
        "vrrp_track_process": { config, node, context in
            // keepalived drops a block without `process`, and instances tracking it ignore it.
            if let process = namedEntity(node, context, trackProcessTable, VRRPTrackProcess.init, required: "process") {
                config.vrrp.trackProcesses.append(process)
            }
        },
        "garp_group": { config, node, context in
            guard let children = context.block(node) else { return }
            context.arguments(node, count: 0...0)
            var group = GARPGroup(location: node.location)
            garpGroupTable.apply(children, to: &group, context)
            // keepalived removes a group without a delay, with an error.
            guard group.garpInterval != nil || group.gnaInterval != nil else {
                context.error("garp_group has neither garp_interval nor gna_interval; it is ignored", at: node)
                return
            }
            if group.interfaces.isEmpty { context.warning("garp_group names no interface; it does nothing", at: node) }
            config.vrrp.garpGroups.append(group)
        },
        "interface_up_down_delays": interfaceUpDownDelays,
        "vrrp_sync_group": { config, node, context in
            guard let (name, children) = namedBlock(node, context) else { return }
            var group = SyncGroup(name: name, location: node.location)
            // keepalived ignores bare words here (instance names written outside `group { }`).
            let (strays, statements) = children.partitioned { line in
                line.arguments.isEmpty && !line.hasBlock && syncGroupTable.handlers[line.keyword] == nil
                    && !syncGroupTable.unsupported.contains(line.keyword)
                    && Suggestion.nearest(to: line.keyword, in: syncGroupTable.knownKeywords) == nil
            }
            for stray in strays {
                context.warning(
                    "'\(stray.keyword)' is not a vrrp_sync_group keyword and is ignored; "
                        + "list instances inside 'group { }'", at: stray)
            }
            syncGroupTable.apply(statements, to: &group, context)
            config.vrrp.syncGroups.append(group)
        },
        "vrrp_instance": { config, node, context in
            guard let (name, children) = namedBlock(node, context) else { return }
            var instance = VRRPInstance(name: name, location: node.location)
            VRRPInstanceSchema.table.apply(children, to: &instance, context)
            VRRPInstanceSchema.finish(
                &instance, block: node, children: children, globals: config.globalDefs, context)
            VRRPInstanceSchema.syncDaemon(from: children, instance: name, &config.globalDefs, context)
            config.vrrp.instances.append(instance)
        },
    ]

    /// `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`, seconds to the microsecond, 0 to 255. keepalived
    /// logs a bad line and goes on without it (a warning here); a later line for an interface replaces an earlier.
    static let interfaceUpDownDelays: Handler = { config, node, context in
        guard let lines = context.block(node) else { return }
        context.arguments(node, count: 0...0)
        for line in lines where context.noBlock(line) {
            guard let words = context.arguments(line, count: 0...2) else { continue }
            guard let downText = words.first else {
                context.warning("no delays given for \(line.keyword); ignored (keepalived)", at: line)
                continue
            }
            let range = Duration.zero ... .seconds(255)
            func delay(_ text: String, _ what: String) -> Duration? {
                guard let microseconds = SchemaContext.microseconds(text), range.contains(.microseconds(microseconds))
                else {
                    context.warning(
                        "invalid \(what) delay '\(text)' for \(line.keyword) (seconds, 0 to 255); line ignored "
                            + "(keepalived)", at: line)
                    return nil
                }
                return .microseconds(microseconds)
            }
            guard let down = delay(downText, "down") else { continue }
            var up = Duration.zero
            if words.count == 2 {
                guard let given = delay(words[1], "up") else { continue }
                up = given
            } else if down > .zero {
                // keepalived.conf(5) says the up delay defaults to the down delay; keepalived 2.2.7 uses none.
                context.warning(
                    "no up delay for \(line.keyword): none (0), as keepalived 2.2.7 does, though its manual says the "
                        + "down delay; write both", at: line)
            }
            config.vrrp.interfaceUpDownDelays.removeAll { $0.interface == line.keyword }
            config.vrrp.interfaceUpDownDelays.append(
                InterfaceUpDownDelay(interface: line.keyword, down: down, up: up, location: line.location))
        }
    }

    /// `KEYWORD NAME { … }`: the name and the statements inside.
    static func namedBlock(_ node: ConfigNode, _ context: SchemaContext) -> (String, [ConfigNode])? {
        guard let children = context.block(node), let name = context.single(node) else { return nil }
        return (name, children)
    }

    /// `KEYWORD NAME { … }` read with `table`; a warning when the `required` keyword is missing, since
    /// keepalived then ignores the block.
    static func namedEntity<Model>(
        _ node: ConfigNode, _ context: SchemaContext, _ table: KeywordTable<Model>,
        _ make: (String, SourceLocation) -> Model, required: String
    ) -> Model? {
        guard let (name, children) = namedBlock(node, context) else { return nil }
        var model = make(name, node.location)
        table.apply(children, to: &model, context)
        if !children.contains(where: { $0.keyword == required }) {
            context.warning("\(node.keyword) '\(name)' has no '\(required)'; it is ignored", at: node)
        }
        return model
    }

    // MARK: vrrp_script

    static let scriptTable = KeywordTable<VRRPScript>(
        "vrrp_script",
        handlers: [
            "script": { script, node, context in
                guard context.noBlock(node), let words = context.arguments(node, count: 1...Int.max / 2) else {
                    return
                }
                // One (quoted) string is split like a command line; several words are the argv as written.
                script.script =
                    words.count == 1
                    ? ScriptCommand(text: words[0])
                    : ScriptCommand(text: words.joined(separator: " "), arguments: words)
            },
            "interval": Field.duration(\.interval, .microseconds(1) ... .seconds(Int64(Int32.max))),
            "timeout": Field.duration(\.timeout, .microseconds(1) ... .seconds(Int64(Int32.max))),
            "weight": Field.weight(\.weight, reverse: \.reverse, in: -253...253),
            "rise": Field.integer(\.rise, 1...Int(Int32.max)),
            "fall": Field.integer(\.fall, 1...Int(Int32.max)),
            "user": { script, node, context in
                if let user = context.scriptUser(node) { script.user = user }
            },
            "init_fail": Field.set(\.initFail, to: true),
        ]
    )

    // MARK: track_file

    static let trackFile: Handler = { config, node, context in
        if let file = namedEntity(node, context, trackFileTable, TrackFile.init, required: "file") {
            config.vrrp.trackFiles.append(file)
        }
    }

    static let trackFileTable = KeywordTable<TrackFile>(
        "track_file",
        handlers: [
            "file": Field.string(\.file),
            "weight": { file, node, context in
                guard context.noBlock(node),
                    let (weight, reverse) = context.weight(
                        ["weight"] + node.arguments[...], in: -Int(Int32.max)...Int(Int32.max), for: node)
                else { return }
                file.weight = weight
                file.reverse = reverse
            },
            "init_file": { file, node, context in
                guard context.noBlock(node), let words = context.arguments(node, count: 0...2) else { return }
                var initial = TrackFile.InitFile()
                for word in words {
                    if word == "overwrite" {
                        initial.overwrite = true
                    } else if let value = context.integer(
                        word, in: -Int(Int32.max)...Int(Int32.max), for: node, what: "'init_file' value")
                    {
                        initial.value = value
                    } else {
                        return
                    }
                }
                file.initFile = initial
            },
        ]
    )

    // MARK: garp_group

    static let garpGroupTable = KeywordTable<GARPGroup>(
        "garp_group",
        handlers: [
            "garp_interval": Field.duration(\.garpInterval, .zero ... .seconds(Int64(Int32.max))),
            "gna_interval": Field.duration(\.gnaInterval, .zero ... .seconds(Int64(Int32.max))),
            "interface": { group, node, context in
                if context.noBlock(node), let name = context.single(node) { group.interfaces.append(name) }
            },
            "interfaces": { group, node, context in
                guard let names = context.names(node) else { return }
                if names.isEmpty { context.warning("empty garp_group 'interfaces' block", at: node) }
                group.interfaces += names.map(\.name)
            },
        ]
    )

    // MARK: vrrp_track_process

    /// keepalived's ranges and rules (vrrp_parser.c, 2.2.7): `quorum` above `quorum_max` (or the reverse) is an
    /// error and ignored; `quorum_max 0` means OK while no process matches; parameters after `process` imply
    /// `full_command` and an exact match unless `param_match` says otherwise.
    static let trackProcessTable = KeywordTable<VRRPTrackProcess>(
        "vrrp_track_process",
        handlers: [
            "process": { process, node, context in
                guard context.noBlock(node), let words = context.arguments(node, count: 1...Int.max / 2) else {
                    return
                }
                guard process.process == nil else {
                    context.error("'process' is already set for vrrp_track_process '\(process.name)'", at: node)
                    return
                }
                process.process = words[0]
                process.parameters = Array(words.dropFirst())
                if !process.parameters.isEmpty {
                    process.fullCommand = true
                    if process.parameterMatch == .none { process.parameterMatch = .exact }
                }
            },
            "param_match": { process, node, context in
                guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
                if let word = words.first {
                    guard let match = context.choice(word, ["initial", "partial"], for: node) else { return }
                    process.parameterMatch = match == "initial" ? .initial : .partial
                } else {
                    process.parameterMatch = .exact
                }
                process.fullCommand = true
            },
            "weight": { process, node, context in
                guard context.noBlock(node),
                    let (weight, reverse) = context.weight(["weight"] + node.arguments[...], in: -254...254, for: node)
                else { return }
                process.weight = weight
                process.reverse = reverse
            },
            "quorum": { process, node, context in
                guard context.noBlock(node), let quorum = context.integer(node, in: 1...65535) else { return }
                guard quorum <= process.quorumMax else {
                    context.error("'quorum' \(quorum) is above quorum_max \(process.quorumMax); ignored", at: node)
                    return
                }
                process.quorum = quorum
            },
            "quorum_max": { process, node, context in
                guard context.noBlock(node), let quorumMax = context.integer(node, in: 0...65535) else { return }
                // keepalived allows quorum_max 0 (OK while none runs) when quorum was not raised.
                guard quorumMax >= process.quorum || (quorumMax == 0 && process.quorum <= 1) else {
                    context.error("'quorum_max' \(quorumMax) is below quorum \(process.quorum); ignored", at: node)
                    return
                }
                process.quorumMax = quorumMax
                process.quorum = quorumMax == 0 ? 0 : max(process.quorum, 1)
            },
            "delay": { process, node, context in
                guard context.noBlock(node), let delay = context.duration(node, in: processDelays) else { return }
                process.forkDelay = delay
                process.terminateDelay = delay
            },
            "fork_delay": Field.duration(\.forkDelay, processDelays),
            "terminate_delay": Field.duration(\.terminateDelay, processDelays),
            "full_command": Field.set(\.fullCommand, to: true),
        ]
    )

    /// `delay`, `fork_delay`, `terminate_delay`: 1 µs to an hour.
    static let processDelays: ClosedRange<Duration> = .microseconds(1) ... .seconds(3600)

    // MARK: vrrp_sync_group

    static let syncGroupHandlers: [String: Field<SyncGroup>.Handler] = [
        "group": { group, node, context in
            context.arguments(node, count: 0...0)
            group.members += context.names(node) ?? []
        },
        "notify_priority_changes": Field.flag(\.notifyPriorityChanges),
        "smtp_alert": Field.flag(\.smtpAlert),
        "global_tracking": { group, node, context in
            guard context.noBlock(node), context.arguments(node, count: 0...0) != nil else { return }
            context.warning("'global_tracking' is deprecated; track in the vrrp_sync_group instead", at: node)
            group.globalTracking = true
        },
        "sync_group_tracking_weight": Field.set(\.syncGroupTrackingWeight, to: true),
        "track_interface": Field.trackInterfaces(\.trackInterfaces),
        "track_script": Field.trackReferences(\.trackScripts, weights: -253...253),
        "track_file": Field.trackReferences(\.trackFiles, weights: -254...254),
        "track_process": Field.trackReferences(\.trackProcesses, weights: -254...254),
        "track_bfd": BFDSchema.trackBFD(\.trackBFDs),
    ]

    /// `track_group NAME { group { INSTANCE … } }`.
    static let trackGroupTable = KeywordTable<StaticTrackGroup>(
        "track_group",
        handlers: [
            "group": { group, node, context in
                context.arguments(node, count: 0...0)
                group.members += context.names(node) ?? []
            }
        ])

    static let syncGroupTable = KeywordTable<SyncGroup>(
        "vrrp_sync_group",
        handlers: syncGroupHandlers.merging(notifyHandlers(\SyncGroup.notify, instance: false)) { first, _ in
            first
        },
        unsupported: KeywordWarnings.notYetImplemented([])
            .merging(["notify_deleted": .ignoredByKeepalived("keepalived sends DELETED for instances only")])
    )

    /// `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify_deleted`, `notify`
    /// (and for instances `notify_master_rx_lower_pri`).
    static func notifyHandlers<Model>(
        _ notify: WritableKeyPath<Model, NotifyScripts> & Sendable, instance: Bool
    ) -> [String: KeywordTable<Model>.Handler] {
        func script(_ path: WritableKeyPath<NotifyScripts, ScriptCommand?> & Sendable) -> KeywordTable<Model>.Handler {
            { model, node, context in
                if let command = context.script(node) { model[keyPath: notify][keyPath: path] = command }
            }
        }
        var handlers: [String: KeywordTable<Model>.Handler] = [
            "notify_master": script(\.master),
            "notify_backup": script(\.backup),
            "notify_fault": script(\.fault),
            "notify_stop": script(\.stop),
            "notify": script(\.any),
        ]
        guard instance else { return handlers }
        handlers["notify_master_rx_lower_pri"] = script(\.masterRxLowerPri)
        handlers["notify_deleted"] = { model, node, context in
            guard context.noBlock(node) else { return }
            if node.arguments.isEmpty {
                model[keyPath: notify].deleted = true
            } else if let command = context.script(node) {
                model[keyPath: notify].deleted = true
                model[keyPath: notify].deletedScript = command
            }
        }
        return handlers
    }

    // MARK: Cross-checks

    static func crossCheck(_ config: KeepalivedConfig, _ context: SchemaContext) {
        let vrrp = config.vrrp
        reportDuplicates(vrrp.instances.map { ($0.name, $0.location) }, "vrrp_instance", context)
        reportDuplicates(vrrp.scripts.map { ($0.name, $0.location) }, "vrrp_script", context)
        reportDuplicates(vrrp.trackFiles.map { ($0.name, $0.location) }, "track_file", context)
        reportDuplicates(vrrp.trackProcesses.map { ($0.name, $0.location) }, "vrrp_track_process", context)
        reportDuplicates(vrrp.syncGroups.map { ($0.name, $0.location) }, "vrrp_sync_group", context)

        let scripts = Set(vrrp.scripts.map(\.name))
        let files = Set(vrrp.trackFiles.map(\.name))
        func checkReferences(_ scriptReferences: [TrackReference], _ fileReferences: [TrackReference]) {
            for reference in scriptReferences where !scripts.contains(reference.name) {
                context.error(
                    "track_script names vrrp_script '\(reference.name)', which is not defined", at: reference.location)
            }
            for reference in fileReferences where !files.contains(reference.name) {
                context.error(
                    "track_file names track_file '\(reference.name)', which is not defined", at: reference.location)
            }
        }
        for instance in vrrp.instances { checkReferences(instance.trackScripts, instance.trackFiles) }
        for group in vrrp.syncGroups { checkReferences(group.trackScripts, group.trackFiles) }
        // keepalived ignores a track_process line naming no vrrp_track_process (with an error message).
        let processes = Set(vrrp.trackProcesses.map(\.name))
        for reference in vrrp.instances.flatMap(\.trackProcesses) + vrrp.syncGroups.flatMap(\.trackProcesses)
        where !processes.contains(reference.name) {
            context.error(
                "track_process names vrrp_track_process '\(reference.name)', which is not defined",
                at: reference.location)
        }
        for process in vrrp.trackProcesses where !process.fullCommand && (process.process?.utf8.count ?? 0) > 15 {
            context.warning(
                "vrrp_track_process '\(process.name)': '\(process.process ?? "")' is longer than a process name "
                    + "(/proc/PID/comm, 15 bytes) and never matches without full_command", at: process.location)
        }

        var grouped: Set<String> = []
        for group in vrrp.garpGroups {
            for name in group.interfaces where !grouped.insert(name).inserted {
                context.error("garp_group already given for \(name); this one is ignored for it", at: group.location)
            }
        }
        checkSyncGroups(vrrp, context)
        checkVirtualRouterIDs(vrrp.instances, context)
    }

    // MARK: Tracking in sync groups

    /// keepalived's rules for weights (vrrp_complete_instance, sync_group_tracking_init in 2.2.7), each change
    /// warned at the line: in a sync group without `sync_group_tracking_weight` (or the deprecated
    /// `global_tracking`) an instance's weighted `track_interface` becomes weight 0 (FAULT), its weighted
    /// `track_script` is dropped, its `track_file` with the default weight (1) becomes weight 0 and with another
    /// weight is dropped; an address owner (priority 255) drops weighted interfaces too; a group with an owner
    /// member tracks its own scripts and files with weight 0. The group's own items keep their weights and are
    /// tracked by every member (the VRRP worker adds them). A group where one member starts as MASTER and another
    /// as BACKUP starts every member as BACKUP.
    static func resolveTracking(_ config: inout KeepalivedConfig, _ context: SchemaContext) {
        let vrrp = config.vrrp
        for index in config.vrrp.instances.indices {
            var instance = config.vrrp.instances[index]
            let group = vrrp.syncGroups.first { $0.members.contains { $0.name == instance.name } }
            let groupForbidsWeights = group.map { !($0.syncGroupTrackingWeight || $0.globalTracking) } ?? false
            let isOwner = instance.priority == 255
            guard groupForbidsWeights || isOwner else { continue }
            let why =
                groupForbidsWeights
                ? "vrrp_sync_group '\(group!.name)' (sync_group_tracking_weight allows weights)"
                : "the address owner (priority 255)"
            let name = instance.name
            instance.trackInterfaces = instance.trackInterfaces.compactMap { tracked in
                guard tracked.weight != 0 else { return tracked }
                let location = tracked.location ?? instance.location
                guard groupForbidsWeights else {
                    context.warning("\(name): ignoring tracked interface \(tracked.name): \(why)", at: location)
                    return nil
                }
                context.warning(
                    "\(name): ignoring the weight of tracked interface \(tracked.name) in \(why); it is tracked with "
                        + "weight 0 (FAULT when down)", at: location)
                var zeroed = tracked
                zeroed.weight = 0
                return zeroed
            }
            /// Weighted references are dropped, each warned.
            func unweighted(_ references: [TrackReference], _ kind: String, defaultWeight: (String) -> Int?)
                -> [TrackReference]
            {
                references.filter { reference in
                    let weight = reference.weight ?? defaultWeight(reference.name) ?? 0
                    guard weight != 0 else { return true }
                    context.warning(
                        "\(name): ignoring tracked \(kind) \(reference.name) with weight \(weight) in \(why)",
                        at: reference.location)
                    return false
                }
            }
            instance.trackScripts = unweighted(instance.trackScripts, "script") { vrrp.script(named: $0)?.weight }
            // keepalived.conf(5), "VRRP track processes": in such a group, or on the owner, weight 0 must be set.
            instance.trackProcesses = unweighted(instance.trackProcesses, "process") {
                vrrp.trackProcess(named: $0)?.weight
            }
            instance.trackFiles = instance.trackFiles.compactMap { reference in
                let weight = reference.weight ?? vrrp.trackFile(named: reference.name)?.weight ?? 1
                guard weight != 0 else { return reference }
                if weight == 1 {
                    context.warning(
                        "\(name): tracked file \(reference.name) in \(why) is tracked with weight 0 (specify "
                            + "'weight 0')", at: reference.location)
                    return reference.weighted(0)
                }
                context.warning(
                    "\(name): ignoring tracked file \(reference.name) with weight \(weight) in \(why)",
                    at: reference.location)
                return nil
            }
            config.vrrp.instances[index] = instance
        }
        for index in config.vrrp.syncGroups.indices {
            var group = config.vrrp.syncGroups[index]
            let members = group.members.compactMap { vrrp.instance(named: $0.name) }
            if members.contains(where: { $0.priority == 255 }) {
                func zeroed(_ references: [TrackReference], _ kind: String, defaultWeight: (String) -> Int?)
                    -> [TrackReference]
                {
                    references.map { reference in
                        guard (reference.weight ?? defaultWeight(reference.name) ?? 0) != 0 else { return reference }
                        context.warning(
                            "vrrp_sync_group '\(group.name)': tracked \(kind) \(reference.name) loses its weight: a "
                                + "member has priority 255", at: reference.location)
                        return reference.weighted(0)
                    }
                }
                group.trackScripts = zeroed(group.trackScripts, "script") { vrrp.script(named: $0)?.weight }
                group.trackFiles = zeroed(group.trackFiles, "file") { vrrp.trackFile(named: $0)?.weight ?? 1 }
                group.trackProcesses = zeroed(group.trackProcesses, "process") { vrrp.trackProcess(named: $0)?.weight }
                config.vrrp.syncGroups[index] = group
            }
            // keepalived starts a group as MASTER only when every member would.
            let wantsMaster = members.contains { $0.initialState == .master }
            let wantsBackup = members.contains { $0.initialState == .backup || $0.priority != 255 }
            if wantsMaster && wantsBackup {
                for (position, instance) in config.vrrp.instances.enumerated()
                where group.members.contains(where: { $0.name == instance.name }) && instance.initialState == .master {
                    config.vrrp.instances[position].initialState = .backup
                }
            }
        }
    }

    /// Reports every name after its first definition.
    static func reportDuplicates(_ entries: [(String, SourceLocation)], _ kind: String, _ context: SchemaContext) {
        var first: [String: SourceLocation] = [:]
        for (name, location) in entries {
            if let earlier = first[name] {
                context.error("\(kind) '\(name)' is already defined at \(earlier)", at: location)
            } else {
                first[name] = location
            }
        }
    }

    static func checkSyncGroups(_ vrrp: VRRPConfig, _ context: SchemaContext) {
        var groupOf: [String: String] = [:]
        for group in vrrp.syncGroups {
            for member in group.members {
                if vrrp.instance(named: member.name) == nil {
                    context.error(
                        "vrrp_sync_group '\(group.name)' lists vrrp_instance '\(member.name)', which is not defined",
                        at: member.location)
                } else if let other = groupOf[member.name] {
                    context.error(
                        "vrrp_instance '\(member.name)' is already in vrrp_sync_group '\(other)'; an instance can "
                            + "be in only one", at: member.location)
                } else {
                    groupOf[member.name] = group.name
                }
            }
            if group.members.count == 1 {
                context.warning("vrrp_sync_group '\(group.name)' has only one instance", at: group.location)
            } else if group.members.isEmpty {
                context.warning(
                    "vrrp_sync_group '\(group.name)' has no instances; keepalived removes it", at: group.location)
            }
        }
    }

    /// Two instances that would share an advert socket (same interface and family, RFC 5798 §5.2.3)
    /// must not share a VRID — unless their multicast groups differ or their unicast peers are disjoint.
    static func checkVirtualRouterIDs(_ instances: [VRRPInstance], _ context: SchemaContext) {
        for (index, instance) in instances.enumerated() where instance.virtualRouterID != 0 {
            let clash = instances[..<index].first { other in
                other.virtualRouterID == instance.virtualRouterID && other.interface == instance.interface
                    && other.family == instance.family && other.name != instance.name
                    && other.isUnicast == instance.isUnicast
                    && (instance.isUnicast
                        ? !Set(other.unicastPeers.map(\.address)).isDisjoint(with: instance.unicastPeers.map(\.address))
                        : other.multicastDestinationIP == instance.multicastDestinationIP)
            }
            if let other = clash {
                context.error(
                    "vrrp_instance '\(instance.name)' uses virtual_router_id \(instance.virtualRouterID) on "
                        + "\(instance.interface ?? "the default interface") (\(VRRPInstanceSchema.name(instance.family))), "
                        + "as '\(other.name)' at \(other.location) does", at: instance.location)
            }
        }
    }
}

extension TrackReference {
    /// The same reference with `weight`.
    fileprivate func weighted(_ weight: Int) -> TrackReference {
        var copy = self
        copy.weight = weight
        return copy
    }
}

extension Array {
    /// The elements that satisfy `predicate`, then the others, each in order.
    fileprivate func partitioned(by predicate: (Element) -> Bool) -> ([Element], [Element]) {
        var matching: [Element] = []
        var others: [Element] = []
        for element in self {
            if predicate(element) { matching.append(element) } else { others.append(element) }
        }
        return (matching, others)
    }
}
