/// `vrrp_instance NAME { }`: every keyword of keepalived.conf(5), and the checks within one instance.
enum VRRPInstanceSchema {
    typealias Instance = Field<VRRPInstance>

    static let handlers: [String: Instance.Handler] = [
        "state": { instance, node, context in
            guard context.noBlock(node), let word = context.single(node) else { return }
            guard let state = VRRPInstance.InitialState(rawValue: word) else {
                context.warning("unknown state '\(word)' (MASTER or BACKUP); keepalived starts as BACKUP", at: node)
                instance.initialState = .backup
                return
            }
            instance.initialState = state
        },
        "interface": { instance, node, context in
            if context.noBlock(node), let name = context.single(node) { instance.interface = name }
        },
        "virtual_router_id": Instance.integer(\.virtualRouterID, 1...255),
        "priority": Instance.integer(\.priority, 1...255),
        // The version-dependent limits are checked once the version is known (`finish`).
        "advert_int": Instance.duration(\.advertInterval, .microseconds(1) ... .seconds(255)),
        "version": Instance.integer(\.version, 2...3),
        "authentication": authentication,
        // keepalived takes `track_group` on static lines only: `noTrackGroup` warns and drops it here.
        "virtual_ipaddress": { instance, node, context in
            instance.virtualAddresses += VRRPAddressSchema.addresses(node, context).map {
                noTrackGroup($0, "virtual_ipaddress", context)
            }
        },
        "virtual_ipaddress_excluded": { instance, node, context in
            instance.excludedVirtualAddresses += VRRPAddressSchema.addresses(node, context).map {
                noTrackGroup($0, "virtual_ipaddress_excluded", context)
            }
        },
        "virtual_routes": { instance, node, context in
            instance.virtualRoutes += VRRPAddressSchema.routes(node, context).map {
                noTrackGroup($0, "virtual_routes", context)
            }
        },
        "virtual_rules": { instance, node, context in
            instance.virtualRules += VRRPAddressSchema.rules(node, context).map {
                noTrackGroup($0, "virtual_rules", context)
            }
        },
        "promote_secondaries": Instance.set(\.promoteSecondaries, to: true),
        "mcast_src_ip": Instance.address(\.multicastSourceIP),
        "unicast_src_ip": Instance.address(\.unicastSourceIP),
        "mcast_dst_ip": { instance, node, context in
            guard context.noBlock(node), let text = context.single(node),
                let address = context.address(text, for: node)
            else { return }
            guard address.isMulticast else {
                context.error("'mcast_dst_ip' must be a multicast address, not \(address)", at: node)
                return
            }
            instance.multicastDestinationIP = address
        },
        "track_src_ip": Instance.set(\.trackSourceIP, to: true),
        "unicast_peer": unicastPeers,
        "unicast_ttl": Instance.integer(\.unicastTTL, 0...255),
        "unicast_fault_no_peer": Instance.set(\.unicastFaultNoPeer, to: true),
        "old_unicast_checksum": { instance, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...1) else { return }
            if let word = words.first {
                if context.choice(word, ["never"], for: node) != nil { instance.oldUnicastChecksum = .never }
            } else {
                instance.oldUnicastChecksum = .always
            }
        },
        "check_unicast_src": Instance.flag(\.checkUnicastSource),
        "use_vmac": { instance, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 0...2) else { return }
            var vmac = VirtualMAC()
            for word in words {
                if isMAC(word) { vmac.address = word } else { vmac.interfaceName = word }
            }
            instance.useVMAC = vmac
        },
        "use_ipvlan": useIPVLAN,
        "vrf": { instance, node, context in
            guard context.noBlock(node), let name = context.single(node) else { return }
            if name.utf8.count > VRRPInstanceSchema.maximumInterfaceNameLength {
                context.warning("VRF interface name '\(name)' is too long; ignored (keepalived)", at: node)
            } else if let earlier = instance.vrf {
                context.warning("VRF interface already given as '\(earlier)'; '\(name)' ignored (keepalived)", at: node)
            } else {
                instance.vrf = name
            }
        },
        "use_vmac_addr": Instance.set(\.useVMACAddr, to: true),
        "vmac_xmit_base": Instance.set(\.vmacXmitBase, to: true),
        "native_ipv6": Instance.set(\.nativeIPv6, to: true),
        "dont_track_primary": Instance.set(\.dontTrackPrimary, to: true),
        "track_interface": Instance.trackInterfaces(\.trackInterfaces),
        "track_script": Instance.trackReferences(\.trackScripts, weights: -253...253),
        "track_file": Instance.trackReferences(\.trackFiles, weights: -254...254),
        "track_process": Instance.trackReferences(\.trackProcesses, weights: -254...254),
        "track_bfd": BFDSchema.trackBFD(\.trackBFDs),
        "nopreempt": Instance.set(\.nopreempt, to: true),
        "preempt": Instance.set(\.nopreempt, to: false),
        "preempt_delay": Instance.duration(\.preemptDelay, .zero ... .seconds(1_000)),
        "accept": Instance.set(\.accept, to: true),
        "no_accept": Instance.set(\.accept, to: false),
        "down_timer_adverts": Instance.integer(\.downTimerAdverts, 1...100),
        "strict_mode": Instance.flag(\.strictMode),
        "skip_check_adv_addr": Instance.flag(\.skipCheckAdvAddr),
        "lower_prio_no_advert": Instance.flag(\.lowerPrioNoAdvert),
        "higher_prio_send_advert": Instance.flag(\.higherPrioSendAdvert),
        "garp_master_delay": Instance.duration(\.garpMasterDelay, .zero ... .seconds(86_400)),
        "garp_master_repeat": Instance.integer(\.garpMasterRepeat, 0...Int(Int32.max)),
        "garp_lower_prio_delay": Instance.duration(\.garpLowerPrioDelay, .zero ... .seconds(86_400)),
        "garp_lower_prio_repeat": Instance.integer(\.garpLowerPrioRepeat, 0...Int(Int32.max)),
        "garp_master_refresh": Instance.duration(\.garpMasterRefresh, .zero ... .seconds(86_400)),
        "garp_master_refresh_repeat": Instance.integer(\.garpMasterRefreshRepeat, 0...Int(Int32.max)),
        "garp_extra_if": { instance, node, context in
            if let extra = context.garpExtraInterfaces(node, in: 0...86_400) { instance.garpExtraIf = extra }
        },
        "notify_priority_changes": Instance.flag(\.notifyPriorityChanges),
        "smtp_alert": Instance.flag(\.smtpAlert),
        "debug": Instance.integer(\.debug, 0...4),
        "kernel_rx_buf_size": Instance.integer(\.kernelRxBufSize, 0...Int(Int32.max)),
        // Deprecated in keepalived (linkbeat_interfaces replaces it).
        "linkbeat_use_polling": Instance.set(\.linkbeatUsePolling, to: true),
        // keepalived's form before lvs_sync_daemon: checked here, taken to global_defs by `syncDaemon(from:)`.
        "lvs_sync_daemon_interface": { _, node, context in
            if context.noBlock(node) { _ = context.single(node) }
        },
    ]

    /// `lvs_sync_daemon_interface IFACE` in an instance: keepalived's deprecated form of `lvs_sync_daemon IFACE
    /// INSTANCE`, taken unless `lvs_sync_daemon` (or an earlier instance) has set the sync daemon already.
    static func syncDaemon(
        from children: [ConfigNode], instance name: String, _ globals: inout GlobalDefs, _ context: SchemaContext
    ) {
        for line in children where line.keyword == "lvs_sync_daemon_interface" && !line.hasBlock {
            guard line.arguments.count == 1, let interface = line.arguments.first else { continue }
            if let daemon = globals.lvsSyncDaemon {
                context.warning(
                    "'lvs_sync_daemon_interface' is deprecated, and the sync daemon is already set to \(daemon.interface) "
                        + "at \(daemon.location); ignored (keepalived)", at: line)
                continue
            }
            context.warning(
                "'lvs_sync_daemon_interface' in a vrrp_instance is deprecated; it means 'lvs_sync_daemon \(interface) "
                    + "\(name)' in global_defs", at: line)
            var daemon = LVSSyncDaemon(interface: interface, location: line.location)
            daemon.instance = name
            globals.lvsSyncDaemon = daemon
        }
    }

    static let table = KeywordTable<VRRPInstance>(
        "vrrp_instance",
        handlers: handlers.merging(VRRPSchema.notifyHandlers(\VRRPInstance.notify, instance: true)) {
            first, _ in first
        },
        unsupported: [
            "debug": .ignoredByKeepalived("keepalived only prints it in its data dump"),
            // keepalived: deprecated here (linkbeat_interfaces); polls MII/ethtool for drivers without netlink news.
            "linkbeat_use_polling": .linkbeatPolling,
        ],
        aliases: ["vmac_garp_intvl": "garp_extra_if"]
    )

    /// `authentication { auth_type PASS|AH  auth_pass SECRET }`.
    static let authentication: Instance.Handler = { instance, node, context in
        guard let lines = context.block(node) else { return }
        var block = AuthenticationBlock()
        authenticationTable.apply(lines, to: &block, context)
        guard let type = block.type else {
            if !lines.contains(where: { $0.keyword == "auth_type" }) {
                context.error("'authentication' needs an 'auth_type' (PASS or AH)", at: node)
            }
            return
        }
        instance.authentication = Authentication(type: type, password: block.password)
    }

    /// The `authentication` block while it is read.
    struct AuthenticationBlock {
        var type: Authentication.Kind?
        var password = ""
    }

    static let authenticationTable = KeywordTable<AuthenticationBlock>(
        "authentication",
        handlers: [
            "auth_type": { block, line, context in
                if context.noBlock(line), let word = context.choice(line, ["PASS", "AH"]) {
                    block.type = Authentication.Kind(rawValue: word)
                }
            },
            "auth_pass": { block, line, context in
                guard context.noBlock(line), let secret = context.single(line) else { return }
                // A VRRPv2 advert has 8 octets for the password (RFC 2338 §5.3.10); keepalived truncates.
                if secret.utf8.count > 8 {
                    context.warning("'auth_pass' is longer than 8 characters; only the first 8 are used", at: line)
                }
                block.password = String(decoding: secret.utf8.prefix(8), as: UTF8.self)
            },
        ]
    )

    /// The options of a `unicast_peer` line and their fate.
    static let unicastPeerOptions = OptionTable(
        "unicast_peer line", options: ["min_ttl", "max_ttl"])

    /// `unicast_peer { ADDR [min_ttl N] [max_ttl N] }`.
    static let unicastPeers: Instance.Handler = { instance, node, context in
        guard let lines = context.block(node) else { return }
        for line in lines where context.noBlock(line) {
            guard let address = context.address(line.keyword, for: line),
                let options = context.options(
                    line.arguments[...], valued: ["min_ttl", "max_ttl"], flags: [], for: line)
            else { continue }
            unicastPeerOptions.warn(options.map(\.name), on: line, context)
            var peer = UnicastPeer(address: address, location: line.location)
            for (name, text) in options {
                let ttl = context.integer(text!, in: 0...255, for: line, what: "'\(name)'")
                if name == "min_ttl" { peer.minTTL = ttl } else { peer.maxTTL = ttl }
            }
            instance.unicastPeers.append(peer)
        }
    }

    /// The longest interface name the kernel takes (`IFNAMSIZ` - 1).
    static let maximumInterfaceNameLength = 15

    /// `use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]`, the words in any order (keepalived): a mode
    /// word, an address, else the name; a second of any kind is ignored with a warning, as keepalived does.
    static let useIPVLAN: Instance.Handler = { instance, node, context in
        guard context.noBlock(node) else { return }
        if instance.useIPVLAN != nil {
            context.warning("'use_ipvlan' is already given; this one is ignored (keepalived)", at: node)
            return
        }
        var ipvlan = IPVLAN()
        var hadMode = false
        for word in node.arguments {
            if let mode = IPVLAN.Mode(rawValue: word) {
                if hadMode {
                    context.warning("'use_ipvlan': the mode is already given; '\(word)' ignored (keepalived)", at: node)
                } else {
                    ipvlan.mode = mode
                    hadMode = true
                }
            } else if let address = IPPrefix(word) {
                if let earlier = ipvlan.address {
                    context.warning(
                        "'use_ipvlan': the address is already given as \(earlier); '\(word)' ignored (keepalived)",
                        at: node)
                } else {
                    ipvlan.address = address
                }
            } else if let earlier = ipvlan.interfaceName {
                context.warning(
                    "'use_ipvlan': the interface name is already given as \(earlier); '\(word)' ignored (keepalived)",
                    at: node)
            } else if word.utf8.count > maximumInterfaceNameLength || word.contains("/") {
                context.warning("'use_ipvlan': interface name '\(word)' is too long or invalid; ignored", at: node)
            } else {
                ipvlan.interfaceName = word
            }
        }
        instance.useIPVLAN = ipvlan
    }

    /// Five or six hexadecimal octets separated by colons.
    static func isMAC(_ text: String) -> Bool {
        let octets = text.split(separator: ":", omittingEmptySubsequences: false)
        return (5...6).contains(octets.count)
            && octets.allSatisfy { (1...2).contains($0.count) && $0.allSatisfy(\.isHexDigit) }
    }

    // MARK: Checks within one instance

    /// An instance's address, route or rule line without its `track_group` (warned: keepalived ignores it there).
    static func noTrackGroup<Line: TrackGroupLine>(_ line: Line, _ what: String, _ context: SchemaContext) -> Line {
        var line = line
        VRRPAddressSchema.checkTrackGroup(&line, groups: nil, interface: nil, what: what, context)
        return line
    }

    /// Requirements and version-dependent limits, once the whole block is read. Defaults come from
    /// `global_defs`, which keepalived configurations put first.
    static func finish(
        _ instance: inout VRRPInstance, block node: ConfigNode, children: [ConfigNode], globals: GlobalDefs,
        _ context: SchemaContext
    ) {
        func statement(_ keyword: String) -> ConfigNode? { children.last { $0.keyword == keyword } }
        if statement("virtual_router_id") == nil {
            context.error("vrrp_instance '\(instance.name)' has no 'virtual_router_id'", at: node)
        }
        if statement("interface") == nil && statement("unicast_peer") == nil {
            context.error(
                "vrrp_instance '\(instance.name)' has no 'interface' (only instances with unicast_peer may omit it)",
                at: node)
        }

        // keepalived: native_ipv6 makes the instance IPv6 (VRRPv3) whatever it holds; after an IPv4 virtual address
        // it is refused, before one that address is ignored. (The addresses excluded from adverts may be IPv4.)
        if instance.nativeIPv6, let line = statement("native_ipv6") {
            let ipv4 = instance.virtualAddresses.filter { $0.prefix.address.family == .ipv4 }
            if let first = ipv4.first, first.location.file == line.location.file,
                first.location.line < line.location.line
            {
                context.warning(
                    "'native_ipv6' cannot follow the IPv4 virtual_ipaddress \(first.prefix); ignored (keepalived)",
                    at: line)
                instance.nativeIPv6 = false
            } else {
                for address in ipv4 {
                    context.warning(
                        "\(address.prefix) is IPv4 but 'native_ipv6' makes the instance IPv6; ignored (keepalived)",
                        at: address.location)
                }
                instance.virtualAddresses.removeAll { $0.prefix.address.family == .ipv4 }
            }
        }
        if instance.virtualAddresses.isEmpty {
            context.warning("vrrp_instance '\(instance.name)' has no virtual_ipaddress", at: node)
        }
        // keepalived ignores a VIP whose family differs from the first; the address would never be set.
        if let family = instance.virtualAddresses.first?.prefix.address.family {
            for address in instance.virtualAddresses where address.prefix.address.family != family {
                context.error(
                    "\(address.prefix.address) is not \(name(family)) like the first virtual_ipaddress; put "
                        + "addresses of the other family in virtual_ipaddress_excluded", at: address.location)
            }
            instance.virtualAddresses.removeAll { $0.prefix.address.family != family }
        }
        let family = instance.family
        if let source = instance.unicastSourceIP ?? instance.multicastSourceIP, source.family != family {
            let keyword = instance.unicastSourceIP != nil ? "unicast_src_ip" : "mcast_src_ip"
            context.error(
                "'\(keyword)' \(source) is not \(name(family)) like the instance's addresses",
                at: statement(keyword)?.location ?? node.location)
        }
        for peer in instance.unicastPeers where peer.address.family != family {
            context.error(
                "unicast peer \(peer.address) is not \(name(family)) like the instance's source and addresses",
                at: peer.location)
        }
        instance.unicastPeers.removeAll { $0.address.family != family }

        // RFC 5798 §1: IPv6 needs VRRPv3; keepalived upgrades the instance with a warning.
        if family == .ipv6, instance.version == 2 {
            context.warning("VRRPv2 cannot carry IPv6 addresses; using version 3", at: statement("version")?.location)
            instance.version = 3
        }
        checkAdvertInterval(&instance, version: instance.effectiveVersion(globals), statement("advert_int"), context)

        // keepalived: no `state` means MASTER for the address owner and BACKUP otherwise; `state MASTER` without
        // `priority` makes the instance the address owner (255).
        if statement("state") == nil {
            instance.initialState = instance.priority == 255 ? .master : .backup
        } else if instance.initialState == .master, statement("priority") == nil {
            instance.priority = 255
        }
        if instance.priority == 255, instance.nopreempt, let nopreempt = statement("nopreempt") {
            context.warning(
                "'nopreempt' does nothing with priority 255 (the address owner always preempts)", at: nopreempt)
            instance.nopreempt = false
        } else if instance.initialState == .master, instance.nopreempt, let nopreempt = statement("nopreempt") {
            context.warning("'nopreempt' only works when the initial state is BACKUP; ignored", at: nopreempt)
            instance.nopreempt = false
        }
        let strict = instance.strictMode ?? globals.vrrpStrict
        if strict { finishStrict(&instance, block: node, statement: statement, globals: globals, context) }
        // keepalived: Accept_Mode defaults to on, but to off in strict mode unless the instance owns the addresses.
        instance.accept = instance.accept ?? (instance.priority == 255 || !strict)
        finishIPVLAN(&instance, statement: statement, context)
        finishVirtualMAC(&instance, statement: statement, globals: globals, context)
        finishVRF(&instance, statement: statement, context)
        if instance.authentication != nil, instance.effectiveVersion(globals) == 3 {
            context.warning(
                "VRRPv3 has no authentication (RFC 5798 §9); it is ignored", at: statement("authentication")?.location)
            instance.authentication = nil
        }
        if instance.authentication?.type == .ah, instance.initialState == .master, instance.priority != 255,
            let line = statement("state")
        {
            // keepalived: a master must have heard an advert to know the AH sequence numbers in use.
            context.warning("'state MASTER' is incompatible with 'auth_type AH' below priority 255; ignored", at: line)
            instance.initialState = .backup
        }
        let unicastConfigured = [
            "unicast_peer", "unicast_src_ip", "check_unicast_src", "unicast_fault_no_peer", "old_unicast_checksum",
        ]
        .compactMap(statement).min { $0.location.line < $1.location.line }
        if let first = unicastConfigured, instance.unicastPeers.isEmpty, !instance.unicastFaultNoPeer {
            context.warning(
                "'\(first.keyword)' without any unicast_peer: adverts go to the multicast group (keepalived's "
                    + "deprecated fallback); list the peers, or add 'unicast_fault_no_peer' to stay in FAULT instead",
                at: first)
        }
    }

    /// `vrrp_strict` / `strict_mode`: keepalived's RFC 5798 compliance (keepalived.conf(5) lists them), each
    /// change warned at its line; an instance keepalived refuses is an error.
    static func finishStrict(
        _ instance: inout VRRPInstance, block node: ConfigNode, statement: (String) -> ConfigNode?, globals: GlobalDefs,
        _ context: SchemaContext
    ) {
        let name = instance.name
        if instance.virtualAddresses.isEmpty {
            context.error("vrrp_instance '\(name)': strict mode needs at least one virtual_ipaddress", at: node)
        }
        if instance.isUnicast {
            context.error(
                "vrrp_instance '\(name)': unicast_peer is not allowed in strict mode (RFC 5798 is multicast)",
                at: statement("unicast_peer") ?? node)
        }
        if instance.family == .ipv6, let first = instance.virtualAddresses.first,
            !first.prefix.address.isLinkLocalV6
        {
            context.warning(
                "strict mode: the first IPv6 virtual_ipaddress should be link-local (RFC 5798 §5.2.9)",
                at: first.location)
        }
        func reset(_ keyword: String, _ why: String, _ body: () -> Void) {
            guard let line = statement(keyword) else { return }
            context.warning("strict mode \(why); '\(keyword)' is ignored", at: line)
            body()
        }
        if (instance.initialState == .master) != (instance.priority == 255) {
            reset("state", "allows state MASTER if and only if priority is 255") {
                instance.initialState = instance.priority == 255 ? .master : .backup
            }
        }
        if instance.authentication != nil {
            reset("authentication", "does not support authentication") { instance.authentication = nil }
        }
        if instance.preemptDelay != .zero {
            reset("preempt_delay", "does not support preempt_delay") { instance.preemptDelay = .zero }
        }
        if instance.accept == true, instance.priority != 255, instance.effectiveVersion(globals) == 2 {
            reset("accept", "does not allow accept mode with VRRPv2 (RFC 3768)") { instance.accept = false }
        }
        if (instance.garpLowerPrioRepeat ?? 0) != 0 {
            reset("garp_lower_prio_repeat", "sends no repeated gratuitous ARPs") { instance.garpLowerPrioRepeat = 0 }
        }
        if (instance.garpLowerPrioDelay ?? .zero) != .zero {
            reset("garp_lower_prio_delay", "sends no repeated gratuitous ARPs") { instance.garpLowerPrioDelay = .zero }
        }
        if instance.lowerPrioNoAdvert == false {
            reset("lower_prio_no_advert", "never answers a lower priority") { instance.lowerPrioNoAdvert = true }
        }
        instance.lowerPrioNoAdvert = true
        if instance.higherPrioSendAdvert == true {
            reset("higher_prio_send_advert", "never sends before yielding") { instance.higherPrioSendAdvert = false }
        }
        instance.higherPrioSendAdvert = false
        if (instance.downTimerAdverts ?? 3) != 3 {
            reset("down_timer_adverts", "uses RFC 5798's 3 adverts") { instance.downTimerAdverts = 3 }
        }
        instance.downTimerAdverts = 3
        if instance.useVMAC?.address != nil {
            reset("use_vmac", "uses RFC 5798's virtual MAC; the MAC given") { instance.useVMAC?.address = nil }
        }
    }

    /// keepalived's checks of `use_vmac`, `vmac_xmit_base` and addresses' `use_vmac`.
    static func finishVirtualMAC(
        _ instance: inout VRRPInstance, statement: (String) -> ConfigNode?, globals: GlobalDefs,
        _ context: SchemaContext
    ) {
        if let mac = instance.useVMAC?.address, let node = statement("use_vmac") {
            let octets = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
            if octets.first.map({ $0 & 1 == 1 }) ?? false {
                context.warning(
                    "'use_vmac' MAC \(mac) is a multicast address; ignored (the RFC's MAC is used)", at: node)
                instance.useVMAC?.address = nil
            } else if octets.count >= 5, octets[0..<4] == [0, 0, 0x5e, 0], [1, 2].contains(octets[4]) {
                context.warning(
                    "'use_vmac' MAC \(mac) is in RFC 5798's virtual router range; ignored (that MAC is the default)",
                    at: node)
                instance.useVMAC?.address = nil
            }
        }
        if instance.vmacXmitBase, let node = statement("vmac_xmit_base") {
            if instance.useVMAC == nil {
                context.warning("'vmac_xmit_base' is only valid with 'use_vmac'; ignored", at: node)
                instance.vmacXmitBase = false
            } else if instance.strictMode ?? globals.vrrpStrict {
                context.warning("'vmac_xmit_base' is incompatible with strict mode; ignored", at: node)
                instance.vmacXmitBase = false
            }
        }
        if instance.useVMAC != nil, instance.isUnicast, !instance.vmacXmitBase, let node = statement("use_vmac") {
            // Unicast adverts are addressed to the base's address and arrive on the base, never on the VMAC.
            context.warning(
                "'use_vmac' with 'unicast_peer' needs 'vmac_xmit_base' (keepalived.conf(5)); Vigil sets it", at: node)
            instance.vmacXmitBase = true
        }
        for index in instance.virtualAddresses.indices where instance.virtualAddresses[index].useVMAC {
            clearAddressVMACWithoutDevice(&instance.virtualAddresses[index], context)
        }
        for index in instance.excludedVirtualAddresses.indices where instance.excludedVirtualAddresses[index].useVMAC {
            clearAddressVMACWithoutDevice(&instance.excludedVirtualAddresses[index], context)
        }
    }

    /// keepalived's checks of `use_ipvlan`: with `use_vmac` the ipvlan is made; an address of the other family is
    /// skipped; an IPv4 ipvlan without an address leaves the instance in FAULT; none without an interface.
    static func finishIPVLAN(
        _ instance: inout VRRPInstance, statement: (String) -> ConfigNode?, _ context: SchemaContext
    ) {
        guard let ipvlan = instance.useIPVLAN, let node = statement("use_ipvlan") else { return }
        if instance.interface == nil {
            context.warning(
                "'use_ipvlan' needs the instance's 'interface' (the ipvlan's parent); ignored (keepalived)", at: node)
            instance.useIPVLAN = nil
            return
        }
        if instance.useVMAC != nil, let vmac = statement("use_vmac") {
            context.warning(
                "'use_vmac' and 'use_ipvlan' are both given; keepalived makes the ipvlan, so 'use_vmac' is ignored",
                at: vmac)
            instance.useVMAC = nil
        }
        let family = instance.family
        if let address = ipvlan.address, address.address.family != family {
            context.warning(
                "'use_ipvlan' address \(address) is not \(name(family)) like the instance; ignored (keepalived)",
                at: node)
            instance.useIPVLAN?.address = nil
        }
        if family == .ipv4, instance.useIPVLAN?.address == nil {
            context.warning(
                "an IPv4 'use_ipvlan' needs an address (the adverts' source); the instance stays in FAULT, as in "
                    + "keepalived", at: node)
        }
    }

    /// keepalived's checks of `vrf`: only a unicast instance without `interface` binds its sockets to a VRF.
    static func finishVRF(_ instance: inout VRRPInstance, statement: (String) -> ConfigNode?, _ context: SchemaContext)
    {
        guard let vrf = instance.vrf, let node = statement("vrf") else { return }
        if instance.interface != nil {
            context.warning(
                "'vrf \(vrf)' can only be given without 'interface' (the interface's own VRF applies); ignored "
                    + "(keepalived)", at: node)
            instance.vrf = nil
        } else if !instance.isUnicast {
            context.warning("'vrf \(vrf)' can only be given with unicast_peer; ignored (keepalived)", at: node)
            instance.vrf = nil
        }
    }

    /// An address's `use_vmac` needs `dev` (keepalived: "use_vmac for a address requires an interface").
    static func clearAddressVMACWithoutDevice(_ address: inout VirtualAddress, _ context: SchemaContext) {
        guard address.device == nil else { return }
        context.warning(
            "'use_vmac' on \(address.prefix) needs 'dev INTERFACE'; ignored (use the instance's use_vmac)",
            at: address.location)
        address.useVMAC = false
        address.vmacName = nil
    }

    /// VRRPv2 counts whole seconds (RFC 3768 §5.3.7), VRRPv3 centiseconds up to 40.95 s (RFC 5798 §5.2.7).
    static func checkAdvertInterval(
        _ instance: inout VRRPInstance, version: Int, _ statement: ConfigNode?, _ context: SchemaContext
    ) {
        guard let statement else { return }
        let interval = instance.advertInterval
        let microseconds = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
        if version == 3 {
            if microseconds % 10_000 != 0 || microseconds < 10_000 || microseconds > 40_950_000 {
                context.error(
                    "'advert_int' for VRRPv3 must be a multiple of 0.01 from 0.01 to 40.95 seconds, not "
                        + SchemaContext.seconds(interval), at: statement)
            }
        } else if microseconds % 1_000_000 != 0 {
            let rounded = max(1, (microseconds + 500_000) / 1_000_000)
            context.warning(
                "'advert_int' for VRRPv2 is whole seconds; \(SchemaContext.seconds(interval)) is rounded to \(rounded)",
                at: statement)
            instance.advertInterval = .seconds(rounded)
        }
    }

    static func name(_ family: IPAddress.Family) -> String { family == .ipv4 ? "IPv4" : "IPv6" }
}
