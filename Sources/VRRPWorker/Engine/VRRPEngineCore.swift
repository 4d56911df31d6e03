import Config
import Netlink
import Notifier
import WorkerIPC

/// What identifies an instance across a reload (keepalived matches the same way): VRID, family, interface and
/// unicast source.
struct VRRPInstanceKey: Hashable, Sendable {
    var virtualRouterID: Int
    var family: IPAddress.Family
    var interface: String
    var unicastSource: IPAddress?
    /// A changed VMAC is a different instance: the old one goes (with its macvlan), the new one starts.
    var virtualMAC: VRRPVirtualMAC?
    /// So is a changed `vrf` (its sockets are bound to another device).
    var vrf: String?
}

/// One running instance: its configuration, state machine, receive filter and counters.
struct VRRPRunningInstance<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var configuration: VRRPInstance
    /// The configured interface (tracked; its address is the default source).
    var interface: String
    /// Where adverts are sent and received: the VMAC, or `interface` (no VMAC, or `vmac_xmit_base`).
    var socketInterface: String
    /// `use_vmac`: the instance's VMAC.
    var virtualMAC: VRRPVirtualMAC?
    /// `use_vmac` on addresses, `use_vmac_addr`: VMACs for addresses on other interfaces or of the other family.
    var addressMACs: [VRRPVirtualMAC] = []
    /// Whether the VMACs are in place (created at start, deleted when the instance goes).
    var hasVirtualMACs = false
    var family: IPAddress.Family
    var machine: VRRPInstanceStateMachine<Instant>
    var filter: VRRPReceiveFilter
    var source: IPAddress
    /// The multicast group or the unicast peers.
    var destinations: [IPAddress]
    var held: [VRRPHeldAddress]
    var holdsAddresses = false
    var statistics = VRRPReceiveStatistics()
    var advertisementsSent: UInt64 = 0
    var priorityZeroSent: UInt64 = 0
    var sendErrors: UInt64 = 0
    var becameMaster: UInt64 = 0
    var releasedMaster: UInt64 = 0
    /// Adverts of a lower priority heard as master: a peer that thinks it is master (a split brain healing).
    var lowerPriorityHeard: UInt64 = 0
    var since: Instant
    var reason = "startup"
    /// The state last announced (the machine's own state has already moved on when its `notify` arrives).
    var announcedState = VRRPState.initialize
    /// Removed by a reload: its stop is notified as keepalived's DELETED (or FAULT without `notify_deleted`).
    var deletedByReload = false
    /// The effective priority last told to the FIFO (`notify_priority_changes`).
    var announcedPriority: UInt8?
    /// Whether the effective priority moved since it was last announced; records the new one as announced.
    mutating func takeMovedPriority() -> Bool {
        let priority = machine.effectivePriority
        guard let announced = announcedPriority, announced != priority else { return false }
        announcedPriority = priority
        return true
    }
    /// `auth_type AH`: the sequence number of the next advert sent, and the last one heard from each peer (with
    /// when): a replay is dropped, a peer silent for Master_Down_Interval may start again (a restart).
    var authenticationSequence: UInt32 = 0
    var peerSequences: [IPAddress: (sequence: UInt32, at: Instant)] = [:]
    /// The `track_file`s tracked, by name, with the weight and `reverse` that apply here.
    var trackFiles: [String: (weight: Int, reverse: Bool)] = [:]

    var key: VRRPInstanceKey {
        VRRPInstanceKey(
            virtualRouterID: configuration.virtualRouterID, family: family, interface: interface,
            unicastSource: configuration.unicastSourceIP, virtualMAC: virtualMAC, vrf: configuration.vrf)
    }

    /// The tracked-item name of an interface.
    static func trackName(interface: String) -> String { "interface \(interface)" }

    /// The tracked-item name of a `track_file`.
    static func trackName(file: String) -> String { "file \(file)" }

    /// The tracked-item name of a `vrrp_track_process`.
    static func trackName(process: String) -> String { "process \(process)" }

    /// The tracked-item name of a `vrrp_script`.
    static func trackName(script: String) -> String { "script \(script)" }

    /// `unicast_fault_no_peer` with no peers: an item that is never up.
    static var noUnicastPeer: String { "no unicast peer" }
    /// `track_src_ip`: the configured source address is on the interface.
    static var sourceAddress: String { "source address" }

    /// The socket the instance sends and receives on.
    var socketRequest: VRRPSocketRequest {
        VRRPSocketRequest(
            family: family, interface: socketInterface,
            group: configuration.isUnicast ? nil : destinations.first,
            authenticationHeader: filter.authenticationHeaderKey != nil,
            receiveBufferSize: configuration.kernelRxBufSize)
    }
    /// The tracked-item name of a `bfd_instance`.
    static func trackName(bfd: String) -> String { "bfd \(bfd)" }

    /// The counters of the reports and the `SIGUSR2` dump, keepalived's names where it has one.
    var counters: [String: UInt64] {
        var counters: [String: UInt64] = [
            "adverts_received": statistics.received,
            "adverts_accepted": statistics.accepted,
            "priority_zero_received": statistics.priorityZeroReceived,
            "adverts_sent": advertisementsSent,
            "priority_zero_sent": priorityZeroSent,
            "send_errors": sendErrors,
            "became_master": becameMaster,
            "released_master": releasedMaster,
            "lower_priority_heard": lowerPriorityHeard,
        ]
        for check in VRRPReceiveCheck.allCases {
            counters["dropped_\(check)"] = statistics.dropped[check] ?? 0
            if let warnings = statistics.warnings[check] { counters["warning_\(check)"] = warnings }
        }
        return counters
    }
}

/// What a rate-limited drop line is about: an instance's receive check, or an interface's malformed datagrams.
enum VRRPDropKind: Hashable, Sendable, CustomStringConvertible {
    case instance(String, VRRPReceiveCheck)
    case interface(String, VRRPReceiveCheck)

    var check: VRRPReceiveCheck {
        switch self {
        case .instance(_, let check), .interface(_, let check): check
        }
    }

    var description: String {
        switch self {
        case .instance(let name, _): name
        case .interface(let name, _): "interface \(name)"
        }
    }
}

/// The VRRP engine's logic over a `VRRPSystem`: maps the configuration onto state machines, demultiplexes
/// received packets by VRID through each instance's `VRRPReceiveFilter`, carries out the machines' actions
/// (adverts, VIPs, announcements, timers), keeps sync groups together, and reports every state change.
/// Single-threaded: the daemon calls it on the engine's event loop only (hence `@unchecked Sendable`: closures
/// that carry it to the loop are the only way it crosses threads).
final class VRRPEngineCore<System: VRRPSystem>: @unchecked Sendable {
    typealias Instant = System.Instant

    let system: System
    /// Called with the new report after every state change.
    var onReport: (WorkerState) -> Void = { _ in }
    /// Called with `VI_1: BACKUP -> MASTER (reason)` lines.
    var onEvent: (String) -> Void = { _ in }
    /// Called for each instance, and each sync group, entering a state (`.initialize` is keepalived's STOP).
    var onNotify: (VRRPNotice) -> Void = { _ in }
    /// Log lines (warnings about dropped packets, failed address changes).
    var onLog: (String) -> Void = { _ in }

    private(set) var instances: [String: VRRPRunningInstance<Instant>] = [:]
    /// Instance names in configuration order.
    private(set) var order: [String] = []
    private var syncGroups: [VRRPSyncGroup] = []
    private var syncGroupConfigs: [String: SyncGroup] = [:]
    /// The state each sync group last announced (`notify` with GROUP).
    private var groupStates: [String: VRRPState] = [:]
    private var globals = GlobalDefs()
    private var started = false
    /// The state of each link the instances act on (`interface_up_down_delays` hold changes back).
    private var links = LinkDebounce<Instant>()
    /// The last state the kernel reported of each link (a link coming back rejoins the groups at once).
    private var kernelLinkIsUp: [String: Bool] = [:]
    /// Dropped packets are always counted (the statistics) and logged through this: the first of each kind, then
    /// one line per interval (a flood from one LAN host wrote 427,967 lines in 20 s).
    private var dropLog = LogRateLimiter<VRRPDropKind, Instant>()
    /// A master hearing a lower priority logs the first advert of an episode (per instance), then once a minute:
    /// a split brain sends one a second for as long as it lasts.
    private var lowerPriorityLog = LogRateLimiter<String, Instant>(interval: .seconds(60))
    /// The BFD sessions `track_bfd` follows: the configuration's snapshot, then the BFD channel.
    private(set) var bfd = BFDSessionTable()
    private var bfdInstances = BFDConfig()

    init(system: System) {
        self.system = system
    }

    // MARK: Configuration

    /// Starts the configuration (`isReload` false, resuming instances a crashed worker left as MASTER) or
    /// applies the difference to a running one: unchanged instances run on, changed ones keep their state and
    /// get their new addresses, removed ones stop (releasing), new ones start.
    /// `static_ipaddress`, `static_routes`, `static_rules` as last applied.
    private var statics = VRRPConfig()

    /// Brings the static addresses, routes and rules to `wanted`: what a reload dropped goes (rules, routes, then
    /// addresses), what it added comes (addresses, routes, then rules). The first time everything is added (what an
    /// earlier run left is not an error).
    private func applyStatics(_ wanted: VRRPConfig) {
        let old = statics
        func held(_ address: VirtualAddress) -> VRRPHeldAddress {
            VRRPHeldAddress(address: address, interface: address.device ?? globals.defaultInterface)
        }
        for rule in old.staticRules.reversed() where !wanted.staticRules.contains(rule) { _ = system.removeRule(rule) }
        for route in old.staticRoutes.reversed() where !wanted.staticRoutes.contains(route) {
            _ = system.removeRoute(route)
        }
        for address in old.staticAddresses.reversed() where !wanted.staticAddresses.contains(address) {
            _ = system.removeAddress(held(address))
        }
        for address in wanted.staticAddresses where !old.staticAddresses.contains(address) {
            if !system.addAddress(held(address)) { onLog("static_ipaddress: cannot add \(held(address))") }
        }
        for route in wanted.staticRoutes where !old.staticRoutes.contains(route) && !system.addRoute(route) {
            onLog("static_routes: cannot add \(route.words.joined(separator: " "))")
        }
        for rule in wanted.staticRules where !old.staticRules.contains(rule) && !system.addRule(rule) {
            onLog("static_rules: cannot add \(rule.words.joined(separator: " "))")
        }
        statics.staticAddresses = wanted.staticAddresses
        statics.staticRoutes = wanted.staticRoutes
        statics.staticRules = wanted.staticRules
    }

    func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        globals = configuration.globalDefs
        applyStatics(configuration.vrrp ?? VRRPConfig())
        system.configureTrafficFilter(
            table: globals.nftablesTable ?? "keepalived", priority: Int32(clamping: globals.nftablesPriority),
            counters: globals.nftablesCounters)
        let vrrp = configuration.vrrp ?? VRRPConfig()
        bfdInstances = configuration.bfd ?? BFDConfig()
        _ = bfd.merge(configuration.bfdSessions ?? [])
        let now = system.now
        var running = instances
        instances = [:]
        let previousOrder = order
        order = []
        syncGroups = vrrp.syncGroups.map { VRRPSyncGroup(name: $0.name, memberNames: $0.members.map(\.name)) }
        syncGroupConfigs = Dictionary(vrrp.syncGroups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        groupStates = groupStates.filter { syncGroupConfigs[$0.key] != nil }
        var fresh: [String] = []
        var claimedNames: Set<String> = []
        for instance in vrrp.instances {
            guard var built = build(instance, vrrp: vrrp, now: now, claimedNames: &claimedNames) else { continue }
            order.append(instance.name)
            let match = running.first { $0.value.key == built.key }
            if let (oldName, old) = match {
                running[oldName] = nil
                instances[instance.name] = reconcile(old: old, new: built, now: now)
            } else {
                built.reason = isReload ? "added by reload" : "startup"
                instances[instance.name] = built
                fresh.append(instance.name)
            }
        }
        // Removed by a reload: resign and release.
        for name in previousOrder where running[name] != nil {
            if var gone = running[name] {
                gone.reason = "removed by reload"
                gone.deletedByReload = true
                let actions = gone.machine.shutdown(at: now)
                perform(actions, on: &gone, name: name)
                removeVirtualMACs(&gone)
                cancelAll(name)
            }
        }
        // keepalived's fifo_write_vrrp_states_on_reload: the instances a reload kept say their state again.
        if isReload && globals.fifoWriteVRRPStatesOnReload {
            for (name, state) in groupStates.sorted(by: { $0.key < $1.key }) {
                guard let group = syncGroupConfigs[name] else { continue }
                onNotify(
                    VRRPNotice(
                        subject: .group, name: name, state: state, priority: 0, scripts: group.notify,
                        smtpAlert: group.smtpAlert, event: .stateOnReload))
            }
            for name in order where !fresh.contains(name) {
                guard let instance = instances[name] else { continue }
                notify(instance, name: name, state: instance.machine.state, event: .stateOnReload)
            }
        }
        var bases: [String: String] = [:]
        for instance in instances.values {
            for mac in [instance.virtualMAC].compactMap({ $0 }) + instance.addressMACs { bases[mac.name] = mac.base }
        }
        system.setAnnouncementPacing(AnnouncementPacing(globals: globals, garpGroups: vrrp.garpGroups, bases: bases))
        // keepalived's vrrp_startup_delay: at the daemon's start only (not a reload, not a restarted worker).
        var delayedUntil: Instant?
        if !isReload && configuration.savedState == nil && globals.vrrpStartupDelay > .zero && !fresh.isEmpty {
            delayedUntil = now.advanced(by: globals.vrrpStartupDelay)
            onLog("delaying startup for \(globals.vrrpStartupDelay) (vrrp_startup_delay)")
        }
        applyLinkDelays(vrrp.interfaceUpDownDelays)
        for name in fresh {
            start(name, saved: isReload ? nil : configuration.savedState, delayedUntil: delayedUntil, now: now)
        }
        started = true
        report()
    }

    /// `interface_up_down_delays`, each held under what the instances on its interface allow (logged when cut).
    private func applyLinkDelays(_ configured: [InterfaceUpDownDelay]) {
        let users = order.compactMap { instances[$0] }.map {
            (
                interface: $0.interface, advertInterval: $0.machine.settings.advertisementInterval,
                downTimerAdverts: $0.machine.settings.downTimerAdverts
            )
        }
        let (delays, notes) = LinkDebounce<Instant>.effectiveDelays(configured, instances: users)
        for note in notes { onLog(note) }
        links.setDelays(delays)
    }

    private func build(
        _ instance: VRRPInstance, vrrp: VRRPConfig, now: Instant, claimedNames: inout Set<String>
    ) -> VRRPRunningInstance<Instant>? {
        // keepalived: a unicast instance may omit the interface; its addresses go on default_interface.
        guard let interface = instance.interface ?? (instance.isUnicast ? globals.defaultInterface : nil) else {
            onLog("\(instance.name): no interface; instance ignored")
            return nil
        }
        let family = instance.family
        let version: VRRPVersion = instance.effectiveVersion(globals) == 3 ? .v3 : .v2
        // keepalived: the ipvlan's address is the adverts' source unless one is configured.
        let ipvlanAddress: IPAddress? = instance.useIPVLAN?.address?.address
        let configuredSource: IPAddress? =
            instance.unicastSourceIP ?? instance.multicastSourceIP
            ?? (ipvlanAddress?.family == family ? ipvlanAddress : nil)
        let source =
            configuredSource
            ?? system.primaryAddress(interface: interface, family: family)
            ?? (family == .ipv4 ? .v4(0) : .v6(Array(repeating: 0, count: 16)))
        let group =
            instance.multicastDestinationIP ?? (family == .ipv4 ? globals.vrrpMcastGroup4 : globals.vrrpMcastGroup6)
        let destinations = instance.isUnicast ? instance.unicastPeers.map(\.address) : [group]
        var tracked: [VRRPTrackedItem] = []
        if !instance.dontTrackPrimary {
            tracked.append(VRRPTrackedItem(name: VRRPRunningInstance<Instant>.trackName(interface: interface)))
        }
        // The instance's own items, then its sync group's (keepalived adds those to every member, weights and
        // all); an item tracked twice counts once, the instance's own entry winning.
        let syncGroup = vrrp.syncGroups.first { $0.members.contains { $0.name == instance.name } }
        // track_group: the interfaces of the static lines naming a group of this instance, weight 0 (keepalived).
        let trackInterfaces =
            instance.trackInterfaces + (syncGroup?.trackInterfaces ?? [])
            + vrrp.trackGroupInterfaces(of: instance.name, defaultInterface: globals.defaultInterface).map {
                TrackedInterface(name: $0)
            }
        let trackScripts = instance.trackScripts + (syncGroup?.trackScripts ?? [])
        let trackFileReferences = instance.trackFiles + (syncGroup?.trackFiles ?? [])
        func add(_ item: VRRPTrackedItem) {
            if !tracked.contains(where: { $0.name == item.name }) { tracked.append(item) }
        }
        for item in trackInterfaces where item.name != interface || instance.dontTrackPrimary {
            add(
                VRRPTrackedItem(
                    name: VRRPRunningInstance<Instant>.trackName(interface: item.name), weight: item.weight,
                    reverse: item.reverse))
        }
        // track_script: a script without a command is dropped, as keepalived does. The reference's weight wins.
        for reference in trackScripts {
            guard let script = vrrp.script(named: reference.name), script.script != nil else { continue }
            add(
                VRRPTrackedItem(
                    name: VRRPRunningInstance<Instant>.trackName(script: reference.name),
                    weight: reference.weight ?? script.weight,
                    reverse: reference.weight == nil ? script.reverse : reference.reverse))
        }
        // track_process: keepalived takes the sync group's weight over the instance's, unless the instance's is 0.
        var processItems: [String: VRRPTrackedItem] = [:]
        var processOrder: [String] = []
        for (reference, fromGroup) in instance.trackProcesses.map({ ($0, false) })
            + (syncGroup?.trackProcesses ?? []).map({ ($0, true) })
        {
            guard let process = vrrp.trackProcess(named: reference.name), process.process != nil else { continue }
            let item = VRRPTrackedItem(
                name: VRRPRunningInstance<Instant>.trackName(process: reference.name),
                weight: reference.weight ?? process.weight,
                reverse: reference.weight == nil ? process.reverse : reference.reverse)
            if let own = processItems[reference.name] {
                if fromGroup && own.weight != 0 { processItems[reference.name]?.weight = item.weight }
            } else {
                processItems[reference.name] = item
                processOrder.append(reference.name)
            }
        }
        for name in processOrder { add(processItems[name]!) }
        // track_file: a weight-0 item for its FAULT half; the value itself arrives through `trackFileRead`.
        var trackFiles: [String: (weight: Int, reverse: Bool)] = [:]
        for reference in trackFileReferences where trackFiles[reference.name] == nil {
            guard let file = vrrp.trackFile(named: reference.name), file.file != nil else { continue }
            add(VRRPTrackedItem(name: VRRPRunningInstance<Instant>.trackName(file: reference.name)))
            trackFiles[reference.name] =
                reference.weight.map { ($0, reference.reverse) } ?? (file.weight, file.reverse)
        }
        // keepalived: unicast configured without peers goes to FAULT with unicast_fault_no_peer (the schema warns
        // about the multicast fallback otherwise); track_src_ip faults while the configured source is missing.
        if instance.unicastFaultNoPeer && instance.unicastPeers.isEmpty {
            tracked.append(VRRPTrackedItem(name: VRRPRunningInstance<Instant>.noUnicastPeer))
        }
        if instance.trackSourceIP && (instance.unicastSourceIP ?? instance.multicastSourceIP) != nil {
            tracked.append(VRRPTrackedItem(name: VRRPRunningInstance<Instant>.sourceAddress))
        }
        // track_bfd, the instance's own then its sync group's: a session that sends its state to the checker only
        // is ignored, as keepalived ignores it. The reference's weight wins over the bfd_instance's.
        for reference in instance.trackBFDs + (syncGroup?.trackBFDs ?? []) {
            let name = VRRPRunningInstance<Instant>.trackName(bfd: reference.name)
            guard let session = bfdInstances.instance(named: reference.name), session.notifiesVRRP,
                !tracked.contains(where: { $0.name == name })
            else { continue }
            tracked.append(
                VRRPTrackedItem(
                    name: name, weight: reference.weight ?? session.weight,
                    reverse: reference.weight == nil ? session.reverse : reference.reverse))
        }
        // vrrp_min_garp: one gratuitous ARP / NA and no second burst, unless the instance says otherwise.
        let minGarp = globals.vrrpMinGarp
        let strict = instance.strictMode ?? globals.vrrpStrict
        let garpRepeat = minGarp ? 1 : globals.vrrpGarpMasterRepeat
        let garpDelay = minGarp ? .zero : globals.vrrpGarpMasterDelay
        var settings = VRRPInstanceSettings(
            version: version,
            priority: UInt8(clamping: instance.priority),
            advertisementInterval: instance.advertInterval,
            primaryAddress: source,
            preempt: !instance.nopreempt,
            preemptDelay: instance.preemptDelay,
            downTimerAdverts: instance.downTimerAdverts ?? globals.vrrpDownTimerAdverts,
            lowerPriorityNoAdvert: instance.lowerPrioNoAdvert ?? globals.vrrpLowerPrioNoAdvert,
            higherPrioritySendAdvert: instance.higherPrioSendAdvert ?? globals.vrrpHigherPrioSendAdvert,
            garpMasterDelay: instance.garpMasterDelay ?? garpDelay,
            garpMasterRepeat: instance.garpMasterRepeat ?? garpRepeat,
            garpMasterRefresh: instance.garpMasterRefresh ?? globals.vrrpGarpMasterRefresh,
            garpMasterRefreshRepeat: instance.garpMasterRefreshRepeat ?? globals.vrrpGarpMasterRefreshRepeat,
            // keepalived: the global vrrp_garp_lower_prio_* default to vrrp_garp_master_*; strict mode sends none.
            garpLowerPriorityRepeat: instance.garpLowerPrioRepeat
                ?? (strict ? 0 : globals.vrrpGarpLowerPrioRepeat ?? garpRepeat),
            garpLowerPriorityDelay: instance.garpLowerPrioDelay
                ?? (strict ? .zero : globals.vrrpGarpLowerPrioDelay ?? garpDelay),
            startsAsMaster: instance.initialState == .master,
            trackedItems: tracked
        )
        let authentication: VRRPAuthentication =
            switch instance.authentication?.type {
            case .pass: .password(instance.authentication?.password ?? "")
            case .ah: .ipAuthenticationHeader
            case nil: .none
            }
        var filter = VRRPReceiveFilter(
            version: version,
            virtualRouterID: UInt8(clamping: instance.virtualRouterID),
            authentication: version == .v2 ? authentication : .none,
            advertisementInterval: instance.advertInterval,
            virtualAddresses: instance.virtualAddresses.map(\.prefix.address).filter { $0.family == family },
            isAddressOwner: instance.priority >= 255,
            unicastPeers: instance.unicastPeers.map(\.address),
            checkUnicastSource: instance.checkUnicastSource ?? globals.vrrpCheckUnicastSrc,
            skipCheckAdvertisementAddresses: instance.skipCheckAdvAddr ?? globals.vrrpSkipCheckAdvAddr,
            strict: instance.strictMode ?? globals.vrrpStrict
        )
        if case .ipAuthenticationHeader = filter.authentication {
            filter.authenticationHeaderKey = AuthenticationHeader.key(instance.authentication?.password ?? "")
        }
        switch instance.oldUnicastChecksum {
        case .always: filter.oldChecksumGroup = globals.vrrpMcastGroup4
        case .detect: filter.detectOldChecksumGroup = globals.vrrpMcastGroup4
        case .never: break
        }
        for peer in instance.unicastPeers where peer.minTTL != nil || peer.maxTTL != nil {
            filter.peerHopLimits[peer.address] = UInt8(clamping: peer.minTTL ?? 0)...UInt8(clamping: peer.maxTTL ?? 255)
        }
        let (virtualMAC, addressMACs, held) = virtualMACs(
            for: instance, interface: interface, source: source, claimedNames: &claimedNames)
        settings.garpExtraInterval = Self.extraInterfaceInterval(
            instance.garpExtraIf ?? globals.vrrpGarpExtraIf, held: held, own: virtualMAC?.name ?? interface,
            vmacs: Set(([virtualMAC].compactMap { $0 } + addressMACs).map(\.name)))
        var running = VRRPRunningInstance(
            configuration: instance, interface: interface,
            // `vrf` (unicast, no interface): keepalived binds the sockets to the VRF device.
            socketInterface: instance.vrf ?? (instance.vmacXmitBase ? interface : virtualMAC?.name ?? interface),
            virtualMAC: virtualMAC, addressMACs: addressMACs, family: family,
            machine: VRRPInstanceStateMachine(settings: settings), filter: filter, source: source,
            destinations: destinations, held: held, since: now)
        running.trackFiles = trackFiles
        return running
    }

    // MARK: Virtual MACs

    /// The instance's VMAC (`use_vmac`) or ipvlan (`use_ipvlan`), the VMACs of its addresses (`use_vmac` on an
    /// address with `dev`, `use_vmac_addr`), and where each address goes, as keepalived places them: the VIPs and
    /// eVIPs of the instance's family without another `dev` go on the instance's VMAC (on the interface with an
    /// ipvlan, which only carries the adverts); an address on another interface, or of
    /// the other family, gets a VMAC of its own on that interface when it asks for one (one per interface and
    /// family).
    private func virtualMACs(
        for instance: VRRPInstance, interface: String, source: IPAddress, claimedNames: inout Set<String>
    ) -> (VRRPVirtualMAC?, [VRRPVirtualMAC], [VRRPHeldAddress]) {
        let family = instance.family
        let vrid = instance.virtualRouterID
        let configuredMAC = VRRPVirtualMAC.configuredMAC(instance.useVMAC?.address, virtualRouterID: vrid)
        var instanceMAC: VRRPVirtualMAC?
        if let ipvlan = instance.useIPVLAN {
            var link = VRRPVirtualMAC.ipvlan(
                name: "", base: interface, mode: ipvlan.mode, family: family, address: ipvlan.address)
            link.name = virtualMACName(
                configured: ipvlan.interfaceName, prefix: globals.vmacPrefix ?? "vrrp", vrid: vrid, link: link,
                instance: instance.name, claimedNames: &claimedNames)
            instanceMAC = link
        } else if let vmac = instance.useVMAC {
            let hardware = configuredMAC ?? VRRPVirtualMAC.virtualRouterMAC(family: family, virtualRouterID: vrid)
            var link = VRRPVirtualMAC(
                name: "", base: interface, hardwareAddress: hardware, family: family,
                linkLocal: family == .ipv6 && !instance.vmacXmitBase ? source : nil)
            link.name = virtualMACName(
                configured: vmac.interfaceName, prefix: globals.vmacPrefix ?? "vrrp", vrid: vrid, link: link,
                instance: instance.name, claimedNames: &claimedNames)
            instanceMAC = link
        }
        var addressMACs: [VRRPVirtualMAC] = []
        let held = (instance.virtualAddresses + instance.excludedVirtualAddresses).map { address -> VRRPHeldAddress in
            let device = address.device ?? interface
            let addressFamily = address.prefix.address.family
            let onBase = device == interface
            // keepalived 2.2.7: only a VMAC carries the instance's addresses; with an ipvlan they stay on the
            // interface and the ipvlan carries the adverts.
            if let instanceMAC, instanceMAC.kind == .macvlan, onBase, addressFamily == family {
                return VRRPHeldAddress(address: address, interface: instanceMAC.name)
            }
            let wantsOwn =
                onBase
                ? address.useVMAC || (instance.useVMACAddr && addressFamily != family)
                : address.useVMAC || instance.useVMACAddr
            guard wantsOwn else { return VRRPHeldAddress(address: address, interface: device) }
            if let existing = addressMACs.first(where: { $0.base == device && $0.family == addressFamily }) {
                return VRRPHeldAddress(address: address, interface: existing.name)
            }
            let hardware =
                configuredMAC ?? VRRPVirtualMAC.virtualRouterMAC(family: addressFamily, virtualRouterID: vrid)
            var link = VRRPVirtualMAC(name: "", base: device, hardwareAddress: hardware, family: addressFamily)
            link.name = virtualMACName(
                configured: address.vmacName, prefix: globals.vmacAddrPrefix ?? globals.vmacPrefix ?? "vrrp",
                vrid: vrid, link: link, instance: instance.name, claimedNames: &claimedNames)
            addressMACs.append(link)
            return VRRPHeldAddress(address: address, interface: link.name)
        }
        return (instanceMAC, addressMACs, held)
    }

    /// A configured name when no other instance claims it and it is free or a link of `link`'s type (a macvlan,
    /// an ipvlan; then taken over); else the first of keepalived's generated names that is free, or is already this
    /// link (left by an earlier run of this instance).
    private func virtualMACName(
        configured: String?, prefix: String, vrid: Int, link: VRRPVirtualMAC, instance: String,
        claimedNames: inout Set<String>
    ) -> String {
        if let configured {
            let facts = system.linkFacts(named: configured)
            let sameType = facts.map { link.kind == .macvlan ? $0.isMacvlan : $0.isIPVLAN } ?? true
            if !claimedNames.contains(configured), sameType {
                claimedNames.insert(configured)
                return configured
            }
            onLog(
                "\(instance): VMAC name \(configured) is "
                    + (claimedNames.contains(configured)
                        ? "used by another instance" : "an existing interface that is not a \(link.linkKind)")
                    + "; using a generated name")
        }
        let candidates = VRRPVirtualMAC.candidateNames(prefix: prefix, virtualRouterID: vrid, family: link.family)
        let name =
            candidates.first { name in
                guard !claimedNames.contains(name) else { return false }
                guard let facts = system.linkFacts(named: name) else { return true }
                return link.matches(facts)
            } ?? candidates[0]
        claimedNames.insert(name)
        return name
    }

    /// Creates the instance's VMACs (before its socket opens on one); false when one cannot be made.
    private func addVirtualMACs(_ instance: inout VRRPRunningInstance<Instant>) -> Bool {
        let links = [instance.virtualMAC].compactMap { $0 } + instance.addressMACs
        guard !links.isEmpty else { return true }
        instance.hasVirtualMACs = true
        var added = true
        for link in links {
            if case .ipvlan = link.kind, link.family == .ipv4, link.address == nil {
                // keepalived: "IPv4 ipvlan requires a source ip address"; the instance stays in FAULT.
                onLog("\(instance.configuration.name): IPv4 ipvlan \(link) has no address (use_ipvlan ADDRESS)")
                added = false
            } else if !system.addVirtualMAC(link) {
                onLog("\(instance.configuration.name): cannot set up VMAC \(link)")
                added = false
            }
        }
        return added
    }

    /// Deletes the instance's VMACs (after its addresses are gone).
    private func removeVirtualMACs(_ instance: inout VRRPRunningInstance<Instant>) {
        guard instance.hasVirtualMACs else { return }
        for link in instance.addressMACs.reversed() { system.removeVirtualMAC(link) }
        if let link = instance.virtualMAC { system.removeVirtualMAC(link) }
        instance.hasVirtualMACs = false
    }

    /// Whether a reload changed what the running state machine or receive filter cannot take in place:
    /// advert_int, version, preempt/nopreempt, preempt_delay, garp settings, authentication, …
    /// (priority and tracked items it can).
    static func needsRestart(old: VRRPRunningInstance<Instant>, new: VRRPRunningInstance<Instant>) -> Bool {
        var settings = old.machine.settings
        settings.priority = new.machine.settings.priority
        settings.trackedItems = new.machine.settings.trackedItems
        return settings != new.machine.settings || old.filter.authentication != new.filter.authentication
            || old.source != new.source
    }

    /// A reloaded instance keeps its state machine; a changed priority goes through `priorityChanged`, and a
    /// master swaps its addresses for the new list. Settings the machine cannot change in place restart it
    /// (`restart`), a master resuming as master without dropping its addresses.
    private func reconcile(
        old: VRRPRunningInstance<Instant>, new: VRRPRunningInstance<Instant>, now: Instant
    ) -> VRRPRunningInstance<Instant> {
        var instance = old
        let name = new.configuration.name
        // New address VMACs before the addresses that go on them; old ones after their addresses left (below).
        let goneMACs = old.hasVirtualMACs ? old.addressMACs.filter { !new.addressMACs.contains($0) } : []
        if old.hasVirtualMACs {
            for link in new.addressMACs where !old.addressMACs.contains(link) && !system.addVirtualMAC(link) {
                onLog("\(name): cannot set up VMAC \(link)")
            }
        }
        instance.addressMACs = new.addressMACs
        defer {
            for link in goneMACs.reversed() { system.removeVirtualMAC(link) }
        }
        if instance.holdsAddresses {
            // The no-accept filter follows the addresses (and a changed accept / no_accept).
            let oldBlocked = Self.dropsTraffic(old) ? old.held.map(\.address.prefix.address) : []
            let newBlocked = Self.dropsTraffic(new) ? new.held.map(\.address.prefix.address) : []
            let toBlock = newBlocked.filter { !oldBlocked.contains($0) }
            if !toBlock.isEmpty {
                if system.blockTraffic(to: toBlock) { usedTrafficFilter = true }
            }
            defer {
                let toUnblock = oldBlocked.filter { !newBlocked.contains($0) }
                if !toUnblock.isEmpty { system.unblockTraffic(to: toUnblock) }
            }
            for address in old.held where !new.held.contains(address) {
                _ = system.removeAddress(address)
            }
            let added = new.held.filter { !old.held.contains($0) }
            for address in added where !system.addAddress(address) {
                onLog("\(name): cannot add \(address)")
            }
            if !added.isEmpty {
                system.announce(added, count: max(new.machine.settings.garpMasterRepeat, 1))
            }
            let (oldRoutes, newRoutes) = (old.configuration.virtualRoutes, new.configuration.virtualRoutes)
            for route in oldRoutes where !newRoutes.contains(route) { removeRoute(route, of: name) }
            for route in newRoutes where !oldRoutes.contains(route) && !system.addRoute(route) {
                onLog("\(name): cannot add route \(route.words.joined(separator: " "))")
            }
            let (oldRules, newRules) = (old.configuration.virtualRules, new.configuration.virtualRules)
            for rule in oldRules where !newRules.contains(rule) { removeRule(rule, of: name) }
            for rule in newRules where !oldRules.contains(rule) && !system.addRule(rule) {
                onLog("\(name): cannot add rule \(rule.words.joined(separator: " "))")
            }
        }
        instance.configuration = new.configuration
        instance.filter = new.filter
        instance.held = new.held
        instance.destinations = new.destinations
        if Self.needsRestart(old: old, new: new) {
            restart(&instance, into: new, name: name, now: now)
        } else if new.configuration.priority != old.configuration.priority {
            instance.reason = "priority changed by reload"
            let actions = instance.machine.priorityChanged(
                to: UInt8(clamping: new.configuration.priority), at: now)
            perform(actions, on: &instance, name: name)
        }
        return instance
    }

    /// Replaces the machine with the reloaded one, carrying the tracked items over: a MASTER (not faulted)
    /// resumes as MASTER at once — its addresses stay, the new adverts go out now — anything else starts again.
    private func restart(
        _ instance: inout VRRPRunningInstance<Instant>, into new: VRRPRunningInstance<Instant>, name: String,
        now: Instant
    ) {
        cancelAll(name)
        let wasMaster = instance.machine.state == .master
        var machine = new.machine
        machine.carryTracking(from: instance.machine)
        instance.machine = machine
        instance.source = new.source
        instance.reason = "restarted by reload"
        let actions =
            wasMaster
            ? instance.machine.resumeAsMaster(lastAdvertisement: now, at: now) : instance.machine.start(at: now)
        // Still MASTER: the addresses are in place; only a machine that did not resume gives them up.
        if instance.machine.state != .master { removeAddresses(&instance, name: name) }
        perform(actions, on: &instance, name: name)
    }

    private func start(_ name: String, saved: WorkerState?, delayedUntil: Instant? = nil, now: Instant) {
        guard var instance = instances[name] else { return }
        // keepalived: with promote_secondaries a secondary address survives the removal of the primary one.
        if instance.configuration.promoteSecondaries { system.setPromoteSecondaries(interface: instance.interface) }
        let macsAdded = addVirtualMACs(&instance)
        let groupOpened =
            macsAdded
            && system.openSocket(instance.socketRequest)
        var actions: [VRRPAction<Instant>] = []
        let names = Set(instance.machine.settings.trackedItems.map(\.name))
        if names.contains(VRRPRunningInstance<Instant>.noUnicastPeer) {
            instance.reason = "unicast without any peer (unicast_fault_no_peer)"
            actions += instance.machine.trackingChanged(
                VRRPRunningInstance<Instant>.noUnicastPeer, isUp: false, at: now)
        }
        if names.contains(VRRPRunningInstance<Instant>.sourceAddress),
            !system.hasAddress(instance.source, interface: instance.interface)
        {
            instance.reason = "source address \(instance.source) missing (track_src_ip)"
            actions += instance.machine.trackingChanged(
                VRRPRunningInstance<Instant>.sourceAddress, isUp: false, at: now)
        }
        if instance.filter.authenticationHeaderKey != nil {
            instance.authenticationSequence = system.initialAuthenticationSequence()
        }
        for item in instance.machine.settings.trackedItems where item.name.hasPrefix("interface ") {
            let interface = String(item.name.dropFirst("interface ".count))
            let isUp = linkState(interface) && (interface != instance.interface || groupOpened)
            if !isUp {
                // The link is up but the instance cannot run on it: say why, not "down".
                let cause =
                    !macsAdded
                    ? "cannot set up \(instance.virtualMAC?.name ?? "a VMAC") (see the log)"
                    : "cannot open the VRRP socket on \(instance.socketInterface) (see the log)"
                instance.reason = linkState(interface) ? cause : "interface \(interface) down"
                actions += instance.machine.trackingChanged(item.name, isUp: false, at: now)
            }
        }
        // A tracked BFD session starts down until the BFD worker has said it is up (keepalived).
        for item in instance.machine.settings.trackedItems where item.name.hasPrefix("bfd ") {
            let session = String(item.name.dropFirst("bfd ".count))
            if bfd.isUp(session) != true {
                actions += instance.machine.trackingChanged(item.name, isUp: false, at: now)
            }
        }
        if let report = saved?.vrrpInstances.first(where: { $0.name == name }), report.state == .master,
            let since = report.since
        {
            instance.reason = "resumed as master after a worker restart"
            // The old worker advertised until it died: the watchdog's `aliveAt`, not when it became MASTER.
            actions += instance.machine.resumeAsMaster(
                lastAdvertisement: system.instant(monotonicNanoseconds: saved?.aliveAt ?? since), at: now)
        } else {
            actions += instance.machine.start(at: now, delayedUntil: delayedUntil)
        }
        perform(actions, on: &instance, name: name)
        instances[name] = instance
        followSyncGroup(of: name, now: now)
    }

    // MARK: Events

    /// A received VRRP message (IPv4: after the IP header) on `interface`; `packet` has the IP facts.
    func receive(_ message: ArraySlice<UInt8>, packet: VRRPPacketInfo, interface: String) {
        let candidates = order.filter {
            instances[$0]?.socketInterface == interface && instances[$0]?.family == packet.family
        }
        guard !candidates.isEmpty else { return }
        let vrid = message.count >= 2 ? Int(message[message.startIndex + 1]) : -1
        let targets = candidates.filter { instances[$0]?.configuration.virtualRouterID == vrid }
        // A packet no instance claims is checked (and counted) by every instance on the interface.
        for name in targets.isEmpty ? candidates : targets {
            guard var instance = instances[name] else { continue }
            let result = instance.filter.check(message, packet: packet, currentMaster: instance.machine.masterAddress)
            instance.statistics.record(result)
            var verdict = result
            if case .accepted = result, let sequence = packet.authenticationHeader?.sequence,
                let replay = Self.authenticationReplay(
                    &instance, sequence: sequence, from: packet.source, at: system.now)
            {
                // Counted as a drop of the AH check, not an accepted advert.
                instance.statistics.accepted -= 1
                instance.statistics.dropped[.authenticationHeader, default: 0] += 1
                verdict = .dropped(replay)
            }
            switch verdict {
            case .dropped(let failure):
                // keepalived logs adverts of VRIDs nobody here has only with log_unknown_vrids; counted always.
                if !targets.isEmpty || globals.logUnknownVRIDs {
                    logDrop(.instance(name, failure.check), "\(name): dropped: \(failure)")
                }
                instances[name] = instance
            case .accepted(let advertisement, let warnings):
                if warnings.contains(where: { $0.check == .checksum }) {
                    // keepalived: from now on the old checksum, both ways.
                    instance.filter.oldChecksumGroup = instance.filter.detectOldChecksumGroup
                    onLog("\(name): \(packet.source) uses the old VRRPv3 unicast checksum; using it too")
                }
                let now = system.now
                instance.reason =
                    advertisement.priority == 0
                    ? "master \(packet.source) resigned"
                    : "advert with priority \(advertisement.priority) from \(packet.source)"
                let actions = instance.machine.receive(advertisement, from: packet.source, at: now)
                perform(actions, on: &instance, name: name)
                instances[name] = instance
                followSyncGroup(of: name, now: now)
            }
        }
        reportIfChanged()
    }

    /// A datagram on `interface` that is not a VRRP packet at all (its IP header failed), for no instance.
    func dropMalformed(_ failure: VRRPReceiveFailure, interface: String) {
        logDrop(.interface(interface, failure.check), "dropped on \(interface): \(failure)")
    }

    /// Logs a dropped packet unless its kind was logged within the interval; due summaries go out too.
    private func logDrop(_ kind: VRRPDropKind, _ line: @autoclosure () -> String) {
        let now = system.now
        if case .log(let suppressed) = dropLog.record(kind, at: now) {
            onLog(line() + dropLog.heldBackText(suppressed))
        }
        logDropSummaries(at: now)
    }

    /// One line per kind of drop held back for a whole interval (called on packets and timers, so the count of a
    /// burst that stopped is logged too).
    private func logDropSummaries(at now: Instant) {
        for summary in dropLog.summaries(at: now) {
            onLog(
                "\(summary.kind): dropped \(summary.count) more packets (\(summary.kind.check)) since the last such line"
            )
        }
    }

    /// keepalived's AH replay check: a sequence number not above the last one from that peer is dropped, unless
    /// the peer was silent for Master_Down_Interval (it restarted, and counts from where it starts again).
    static func authenticationReplay(
        _ instance: inout VRRPRunningInstance<Instant>, sequence: UInt32, from source: IPAddress, at now: Instant
    ) -> VRRPReceiveFailure? {
        if let last = instance.peerSequences[source], sequence <= last.sequence,
            last.at.duration(to: now) < instance.machine.masterDownTimer.interval
        {
            return VRRPReceiveFailure(
                .authenticationHeader, "AH sequence \(sequence) from \(source) replayed (last \(last.sequence))")
        }
        instance.peerSequences[source] = (sequence, now)
        return nil
    }

    /// An armed timer fired.
    func timerFired(_ timer: VRRPTimer, instance name: String) {
        if timer == .linkDelay {
            let interface = String(name.dropFirst("interface ".count))
            if let isUp = links.fire(interface) { linkActedOn(interface, isUp: isUp) }
            return
        }
        guard var instance = instances[name] else { return }
        let now = system.now
        logDropSummaries(at: now)
        // After a priority-0 advert the down timer runs only Skew_Time; keep "master … resigned" as the reason.
        if timer == .masterDown && !instance.reason.hasSuffix("resigned") {
            instance.reason = "no advert for Master_Down_Interval"
        }
        let actions = instance.machine.timerFired(timer, at: now)
        perform(actions, on: &instance, name: name)
        instances[name] = instance
        followSyncGroup(of: name, now: now)
        reportIfChanged()
    }

    /// The state of `interface` the instances act on: known from earlier, else read now.
    private func linkState(_ interface: String) -> Bool {
        if let known = links.isUp(interface) { return known }
        let isUp = system.isLinkUp(interface: interface)
        kernelLinkIsUp[interface] = isUp
        _ = links.observe(interface, isUp: isUp, at: system.now)
        return isUp
    }

    /// A link went up or down: acted on now, or after its `interface_up_down_delays` delay if it lasts that long.
    func linkChanged(interface: String, isUp: Bool) {
        // The link monitor repeats a link's state on unrelated changes; only a change counts.
        guard kernelLinkIsUp[interface] != isUp else { return }
        kernelLinkIsUp[interface] = isUp
        // The interface came back: rejoin the group (the kernel drops memberships of a downed link).
        for name in order where isUp {
            guard let instance = instances[name], instance.interface == interface else { continue }
            _ = system.openSocket(instance.socketRequest)
        }
        let item = VRRPRunningInstance<Instant>.trackName(interface: interface)
        switch links.observe(interface, isUp: isUp, at: system.now) {
        case .none: return
        case .act(let isUp): linkActedOn(interface, isUp: isUp)
        case .wait(let deadline):
            system.schedule(.linkDelay, instance: item, at: deadline)
            onLog(
                "interface \(interface) \(isUp ? "up" : "down"): acted on in \(system.now.duration(to: deadline)) if it "
                    + "lasts (interface_up_down_delays)")
        case .cancel:
            system.cancel(.linkDelay, instance: item)
            onLog(
                "interface \(interface) \(isUp ? "up" : "down") again within its delay: the change is not acted on "
                    + "(interface_up_down_delays)")
        }
    }

    /// The instances see `interface` go up or down.
    private func linkActedOn(_ interface: String, isUp: Bool) {
        let item = VRRPRunningInstance<Instant>.trackName(interface: interface)
        trackedItemChanged(item, isUp: isUp, reason: "interface \(interface) \(isUp ? "up" : "down")")
    }

    /// An address appeared on or left an interface: instances with `track_src_ip` whose source it is go to
    /// FAULT while it is missing; a master that lost one of its addresses (someone ran `ip addr del`) goes to
    /// BACKUP, from where it takes over again and puts it back, unless the address has `no_track` (keepalived).
    func addressChanged(_ address: IPAddress, interface: String, present: Bool) {
        if !present { virtualAddressDeleted(address, interface: interface) }
        let item = VRRPRunningInstance<Instant>.sourceAddress
        for name in order {
            guard var instance = instances[name], instance.source == address, instance.interface == interface,
                instance.machine.settings.trackedItems.contains(where: { $0.name == item })
            else { continue }
            let now = system.now
            instance.reason = "source address \(address) \(present ? "back" : "removed") (track_src_ip)"
            let previousPriority = instance.machine.effectivePriority
            perform(instance.machine.trackingChanged(item, isUp: present, at: now), on: &instance, name: name)
            if instance.machine.effectivePriority != previousPriority { changed = true }
            instances[name] = instance
            followSyncGroup(of: name, now: now)
        }
        reportIfChanged()
    }

    /// A master's address (VIP or eVIP) left its interface: BACKUP, unless `no_track`. The kernel is asked again, as
    /// the notification of a removal of Vigil's own may arrive after the address was added back.
    private func virtualAddressDeleted(_ address: IPAddress, interface: String) {
        let now = system.now
        for name in order {
            guard var instance = instances[name], instance.machine.state == .master, instance.holdsAddresses,
                let held = instance.held.first(where: {
                    $0.address.prefix.address == address && $0.interface == interface
                }),
                !held.address.noTrack, !system.hasAddress(address, interface: interface)
            else { continue }
            instance.reason = "\(held) was deleted (no_track not set)"
            perform(instance.machine.apply(.becomeBackup, at: now), on: &instance, name: name)
            instances[name] = instance
            followSyncGroup(of: name, now: now)
        }
    }

    /// Whether some instance has a tracked route or rule (no `no_track`): the worker then hears route and rule
    /// deletions.
    var tracksRoutesOrRules: Bool {
        instances.values.contains {
            $0.configuration.virtualRoutes.contains { !$0.noTrack }
                || $0.configuration.virtualRules.contains { !$0.noTrack }
        }
    }

    /// A route of protocol keepalived was deleted: a master holding it as a tracked `virtual_routes` line goes to
    /// BACKUP, from where it takes over again and puts it back; with `no_track` it stays MASTER without it
    /// (keepalived).
    func routeDeleted(_ deletion: RouteDeletion, interface: String?) {
        trackedLineDeleted("route") { configuration in
            configuration.virtualRoutes.first {
                !$0.noTrack && KernelObjects.route($0, matches: deletion, interface: interface)
            }?.words
        }
    }

    /// A rule of protocol keepalived was deleted: as `routeDeleted`, for `virtual_rules`.
    func ruleDeleted(_ deletion: RuleDeletion) {
        trackedLineDeleted("rule") { configuration in
            configuration.virtualRules.first { !$0.noTrack && KernelObjects.rule($0, matches: deletion) }?.words
        }
    }

    /// The instances whose tracked line `find` names lost it: the notice of a deletion this worker made is counted
    /// off `ownRemovals`; any other takes a master to BACKUP.
    private func trackedLineDeleted(_ what: String, find: (VRRPInstance) -> [String]?) {
        let now = system.now
        for name in order {
            guard var instance = instances[name], let words = find(instance.configuration) else { continue }
            let key = Self.removalKey(name, what, words)
            if let pending = ownRemovals[key] {
                ownRemovals[key] = pending > 1 ? pending - 1 : nil
                continue
            }
            guard instance.machine.state == .master, instance.holdsAddresses else { continue }
            instance.reason = "\(what) '\(words.joined(separator: " "))' was deleted (no_track not set)"
            perform(instance.machine.apply(.becomeBackup, at: now), on: &instance, name: name)
            instances[name] = instance
            followSyncGroup(of: name, now: now)
        }
        reportIfChanged()
    }

    /// Routes and rules this worker deleted itself (tracked lines only), by instance and line: their deletion
    /// notices are still to come and are not someone else's `ip route del`.
    private var ownRemovals: [String: Int] = [:]

    private static func removalKey(_ name: String, _ what: String, _ words: [String]) -> String {
        "\(name)/\(what)/\(words.joined(separator: " "))"
    }

    /// Deletes an instance's route, remembering the notice to come when the line is tracked.
    private func removeRoute(_ route: VirtualRoute, of name: String) {
        if system.removeRoute(route) && !route.noTrack {
            ownRemovals[Self.removalKey(name, "route", route.words), default: 0] += 1
        }
    }

    /// Deletes an instance's rule, remembering the notice to come when the line is tracked.
    private func removeRule(_ rule: VirtualRule, of name: String) {
        if system.removeRule(rule) && !rule.noTrack {
            ownRemovals[Self.removalKey(name, "rule", rule.words), default: 0] += 1
        }
    }

    /// A tracked item (`interface NAME`, `script NAME`) went up or down: FAULT or a new effective priority
    /// for the instances tracking it.
    func trackedItemChanged(_ item: String, isUp: Bool, reason: String) {
        let now = system.now
        for name in order {
            guard var instance = instances[name] else { continue }
            let previousReason = instance.reason
            let previousPriority = instance.machine.effectivePriority
            instance.reason = reason
            let actions = instance.machine.trackingChanged(item, isUp: isUp, at: now)
            if actions.isEmpty { instance.reason = previousReason }
            // A new effective priority is news for the watchdog even without a state change.
            if instance.machine.effectivePriority != previousPriority { changed = true }
            perform(actions, on: &instance, name: name)
            instances[name] = instance
            followSyncGroup(of: name, now: now)
        }
        reportIfChanged()
    }

    /// A message from the BFD worker: each session whose state trackers follow changed is a tracked item going up
    /// or down. A session that went down to the master a BACKUP follows (its `neighbor_ip` is the address the
    /// master's adverts come from) is the master's failure, seen within the BFD detection time: the backup takes
    /// over at once instead of waiting for Master_Down_Interval (Vigil; keepalived only changes the priority).
    /// - Returns: the sessions whose state trackers follow changed.
    @discardableResult
    func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64) -> [BFDSessionReport] {
        let changed = bfd.receive(message, at: receivedAt)
        for report in changed {
            let item = VRRPRunningInstance<Instant>.trackName(bfd: report.name)
            let reason = "bfd_instance \(report.name) \(report.up ? "up" : "down")"
            trackedItemChanged(item, isUp: report.up, reason: reason)
            guard !report.up, let neighbor = IPAddress(report.neighbor) else { continue }
            let now = system.now
            for name in order {
                guard var instance = instances[name], instance.machine.state == .backup,
                    instance.machine.masterAddress == neighbor,
                    instance.machine.settings.trackedItems.contains(where: { $0.name == item })
                else { continue }
                instance.reason = "bfd_instance \(report.name) to the master \(neighbor) down"
                perform(instance.machine.masterFailed(at: now), on: &instance, name: name)
                instances[name] = instance
                followSyncGroup(of: name, now: now)
            }
            reportIfChanged()
        }
        return changed
    }

    /// A `track_file`'s contents were read (`nil`: missing or unreadable): each tracking instance applies the
    /// value under its weight (`TrackFile.weight`), a new effective priority or FAULT.
    func trackFileRead(_ name: String, contents: String?) {
        let now = system.now
        let item = VRRPRunningInstance<Instant>.trackName(file: name)
        for instanceName in order {
            guard var instance = instances[instanceName], let tracking = instance.trackFiles[name] else { continue }
            let value = Notifier.TrackFile.weight(
                fromContents: contents, weight: tracking.weight, reverse: tracking.reverse)
            let offset: Int? =
                switch value {
                case .weight(let weight): weight
                case .fault: nil
                }
            let previousReason = instance.reason
            let previousPriority = instance.machine.effectivePriority
            instance.reason = offset.map { "track_file \(name) adds \($0)" } ?? "track_file \(name) fault"
            let actions = instance.machine.trackedValueChanged(item, offset: offset, at: now)
            if actions.isEmpty && instance.machine.effectivePriority == previousPriority {
                instance.reason = previousReason
            }
            if instance.machine.effectivePriority != previousPriority { changed = true }
            perform(actions, on: &instance, name: instanceName)
            instances[instanceName] = instance
            followSyncGroup(of: instanceName, now: now)
        }
        reportIfChanged()
    }

    /// Stops every instance: masters resign with a priority-0 advert and remove their addresses when `release`,
    /// else they stop quietly and leave the addresses in place.
    func stop(release: Bool) {
        let now = system.now
        for name in order {
            guard var instance = instances[name] else { continue }
            instance.reason = "stopping"
            if release {
                perform(instance.machine.shutdown(at: now), on: &instance, name: name)
                removeVirtualMACs(&instance)
            } else {
                let actions = instance.machine.shutdown(at: now).filter {
                    if case .sendAdvertisement = $0 { return false }
                    if case .stop = $0 { return false }
                    return true
                }
                perform(actions, on: &instance, name: name)
            }
            cancelAll(name)
            instances[name] = instance
        }
        // keepalived removes the static addresses, routes and rules when it stops.
        applyStatics(VRRPConfig())
        if release && usedTrafficFilter {
            system.removeTrafficFilter()
            usedTrafficFilter = false
        }
        report()
    }

    // MARK: Actions

    private var changed = false

    private func perform(
        _ actions: [VRRPAction<Instant>], on instance: inout VRRPRunningInstance<Instant>, name: String
    ) {
        for action in actions {
            switch action {
            case .sendAdvertisement(let priority):
                sendAdvertisement(priority: priority, instance: &instance)
            case .becomeMaster:
                addAddresses(&instance, name: name)
            case .becomeBackup, .enterFault, .stop:
                removeAddresses(&instance, name: name)
            case .sendGratuitousAnnouncements(let count):
                system.announce(instance.held, count: count)
            case .sendExtraInterfaceAnnouncements:
                system.announce(extraInterfaceAnnouncements(instance), count: 1)
            case .scheduleTimer(let timer, let deadline):
                system.schedule(timer, instance: name, at: deadline)
            case .cancelTimer(let timer):
                system.cancel(timer, instance: name)
            case .notify(let state):
                transitioned(&instance, to: state, name: name)
            case .heardLowerPriority(let source, let priority):
                instance.lowerPriorityHeard += 1
                logLowerPriority(instance, name: name, from: source, priority: priority)
                lowerPriorityHeard.append(name)
                notify(instance, name: name, state: .master, event: .masterReceivedLowerPriority)
            }
        }
    }

    /// The line a master writes when it hears a lower priority: what it heard and what it does about it.
    private func logLowerPriority(
        _ instance: VRRPRunningInstance<Instant>, name: String, from source: IPAddress, priority: UInt8
    ) {
        guard case .log(let suppressed) = lowerPriorityLog.record(name, at: system.now) else { return }
        let settings = instance.machine.settings
        let answer =
            settings.garpLowerPriorityRepeat > 0
            ? "re-announcing \(instance.held.count) address\(instance.held.count == 1 ? "" : "es") "
                + "\(settings.garpLowerPriorityRepeat) times (garp_lower_prio_repeat)"
            : "not re-announcing (garp_lower_prio_repeat 0)"
        onLog(
            "\(name): MASTER heard priority \(priority) from \(source), lower than its own "
                + "\(instance.machine.effectivePriority): a peer that thinks it is master (split brain); \(answer)"
                + lowerPriorityLog.heldBackText(suppressed))
    }

    private func sendAdvertisement(priority: UInt8, instance: inout VRRPRunningInstance<Instant>) {
        // An interface that did not exist at start (dynamic_interfaces) had no address to send from: look again.
        if instance.source.bytes.allSatisfy({ $0 == 0 }),
            (instance.configuration.unicastSourceIP ?? instance.configuration.multicastSourceIP) == nil,
            let found = system.primaryAddress(interface: instance.interface, family: instance.family)
        {
            instance.source = found
            instance.machine.primaryAddressFound(found)
        }
        let settings = instance.machine.settings
        let advertisement = VRRPAdvertisement(
            version: settings.version,
            virtualRouterID: UInt8(clamping: instance.configuration.virtualRouterID),
            priority: priority,
            advertisementInterval: settings.advertisementInterval,
            authentication: instance.filter.authentication,
            addresses: instance.filter.virtualAddresses
        )
        // keepalived: one AH sequence number per advert, whatever the number of unicast peers.
        if instance.filter.authenticationHeaderKey != nil { instance.authenticationSequence &+= 1 }
        let options = VRRPSendOptions(
            hopLimit: instance.configuration.isUnicast
                ? UInt8(clamping: instance.configuration.unicastTTL ?? Int(vrrpHopLimit)) : vrrpHopLimit,
            authenticationKey: instance.filter.authenticationHeaderKey,
            authenticationSequence: instance.authenticationSequence)
        for destination in instance.destinations {
            do {
                // old_unicast_checksum: IPv4 VRRPv3 unicast sums the multicast group instead of the peer.
                let summed = destination.family == .ipv4 ? instance.filter.oldChecksumGroup ?? destination : destination
                let message = try advertisement.encoded(source: instance.source, destination: summed)
                if system.send(
                    message, from: instance.source, to: destination, interface: instance.socketInterface,
                    options: options)
                {
                    instance.advertisementsSent += 1
                    if priority == 0 { instance.priorityZeroSent += 1 }
                } else {
                    instance.sendErrors += 1
                }
            } catch {
                instance.sendErrors += 1
                onLog("\(instance.configuration.name): cannot encode an advert: \(error)")
            }
        }
    }

    /// RFC 5798 §6.1 Accept_Mode false (`no_accept`, strict mode): a master that does not own its addresses drops
    /// the traffic addressed to them (keepalived's nftables filter).
    static func dropsTraffic(_ instance: VRRPRunningInstance<Instant>) -> Bool {
        instance.configuration.accept == false && instance.configuration.priority != 255
    }

    /// The no-accept filter first (no packet reaches an address before it is filtered), the addresses, then
    /// `virtual_routes` (a route may use a VIP as `src`).
    private func addAddresses(_ instance: inout VRRPRunningInstance<Instant>, name: String) {
        if Self.dropsTraffic(instance) {
            if system.blockTraffic(to: instance.held.map(\.address.prefix.address)) {
                usedTrafficFilter = true
            } else {
                onLog("\(name): cannot set up the no-accept filter")
            }
        }
        for address in instance.held where !system.addAddress(address) {
            onLog("\(name): cannot add \(address)")
        }
        for route in instance.configuration.virtualRoutes where !system.addRoute(route) {
            onLog("\(name): cannot add route \(route.words.joined(separator: " "))")
        }
        for rule in instance.configuration.virtualRules where !system.addRule(rule) {
            onLog("\(name): cannot add rule \(rule.words.joined(separator: " "))")
        }
        instance.holdsAddresses = true
    }

    /// The routes, then the addresses: the reverse of `addAddresses`.
    private func removeAddresses(_ instance: inout VRRPRunningInstance<Instant>, name: String) {
        guard instance.holdsAddresses else { return }
        for rule in instance.configuration.virtualRules.reversed() { removeRule(rule, of: name) }
        for route in instance.configuration.virtualRoutes.reversed() { removeRoute(route, of: name) }
        for address in instance.held.reversed() {
            _ = system.removeAddress(address)
        }
        if Self.dropsTraffic(instance) {
            system.unblockTraffic(to: instance.held.map(\.address.prefix.address))
        }
        instance.holdsAddresses = false
    }

    /// Whether an instance blocked traffic this run (the tables go when the daemon stops releasing).
    private var usedTrafficFilter = false

    private func transitioned(_ instance: inout VRRPRunningInstance<Instant>, to state: VRRPState, name: String) {
        let old = Self.reportState(instance.announcedState).rawValue
        if instance.announcedState == .master && state != .master { instance.releasedMaster += 1 }
        instance.announcedState = state
        instance.since = system.now
        if state == .master { instance.becameMaster += 1 }
        onEvent("\(name): \(old) -> \(Self.reportState(state).rawValue) (\(instance.reason))")
        notify(
            instance, name: name, state: state,
            event: state == .initialize && instance.deletedByReload ? .deleted : .transition)
        instance.announcedPriority = instance.machine.effectivePriority
        changed = true
    }

    private func notify(
        _ instance: VRRPRunningInstance<Instant>, name: String, state: VRRPState, event: VRRPNotice.Event
    ) {
        let configuration = instance.configuration
        onNotify(
            VRRPNotice(
                subject: .instance, name: name, state: state, priority: Int(instance.machine.effectivePriority),
                scripts: configuration.notify, smtpAlert: configuration.smtpAlert, event: event))
    }

    /// `notify_priority_changes` (the instance's, else its sync group's, else `vrrp_notify_priority_changes`):
    /// keepalived's MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines when an effective priority moves.
    private func notifyPriorityChanges() {
        // Each instance is looked at in place (not copied); only one whose priority moved is read.
        for name in order where instances[name]?.takeMovedPriority() == true {
            guard let instance = instances[name] else { continue }
            let group = syncGroupConfigs.values.first { $0.members.contains { $0.name == name } }
            let enabled =
                instance.configuration.notifyPriorityChanges ?? group?.notifyPriorityChanges
                ?? globals.vrrpNotifyPriorityChanges
            if enabled { notify(instance, name: name, state: instance.machine.state, event: .priorityChanged) }
        }
    }

    private func cancelAll(_ name: String) {
        for timer in VRRPTimer.allCases { system.cancel(timer, instance: name) }
    }

    // MARK: Sync groups

    /// Instances that heard a lower priority as master since the last `followSyncGroup`.
    private var lowerPriorityHeard: [String] = []

    private func followSyncGroup(of name: String, now: Instant) {
        // keepalived: the other masters of the group re-announce their addresses too.
        let heard = lowerPriorityHeard
        lowerPriorityHeard = []
        if let group = syncGroups.first(where: { $0.memberNames.contains(name) }), heard.contains(name) {
            for member in group.memberNames where member != name {
                guard var other = instances[member] else { continue }
                perform(other.machine.groupHeardLowerPriority(at: now), on: &other, name: member)
                instances[member] = other
            }
        }
        guard let group = syncGroups.first(where: { $0.memberNames.contains(name) }),
            let state = instances[name]?.machine.state
        else { return }
        let members = group.memberNames.compactMap { member in
            instances[member].map { VRRPSyncGroup.Member(name: member, machine: $0.machine) }
        }
        for command in group.commands(members: members, transition: (name, state)) {
            guard var other = instances[command.member] else { continue }
            other.reason = "sync group \(group.name) follows \(name)"
            let actions = other.machine.apply(command.command, at: now)
            perform(actions, on: &other, name: command.member)
            instances[command.member] = other
        }
    }

    // MARK: Reports

    static func reportState(_ state: VRRPState) -> VRRPInstanceReport.State {
        switch state {
        case .initialize: .stopped
        case .backup: .backup
        case .master: .master
        case .fault: .fault
        }
    }

    /// When the last report went out: counters alone (packets received, dropped, adverts sent) are reported
    /// at most once a second, with the next packet or timer.
    private var lastReportAt: Instant?

    private func reportIfChanged() {
        let countersDue = lastReportAt.map { $0.duration(to: system.now) >= .seconds(1) } ?? true
        if changed || (started && countersDue) { report() }
    }

    /// The state report of every instance.
    var state: WorkerState {
        WorkerState(
            vrrpInstances: order.compactMap { name in
                guard let instance = instances[name] else { return nil }
                let machine = instance.machine
                return VRRPInstanceReport(
                    name: name,
                    state: started ? Self.reportState(machine.state) : .initializing,
                    heldAddresses: instance.holdsAddresses ? instance.held.map { "\($0.address.prefix)" } : [],
                    priority: Int(machine.settings.priority),
                    effectivePriority: Int(machine.effectivePriority),
                    reason: instance.reason,
                    since: system.monotonicNanoseconds(instance.since),
                    masterAdvertIntervalCentiseconds: Int(
                        machine.masterAdvertisementInterval.wholeMicroseconds / 10_000),
                    counters: instance.counters
                )
            })
    }

    /// Also where moved priorities are told (`notify_priority_changes`), as the groups' states are: every path that
    /// moves a priority marks the state changed, and the counters' report each second is a backstop. Looking after
    /// every advert and timer instead was a tenth of an idle worker's CPU with 20 instances.
    private func report() {
        changed = false
        lastReportAt = system.now
        notifyPriorityChanges()
        announceGroups()
        onReport(state)
    }

    /// A sync group is in FAULT when a member is, else in the state all its members share (keepalived notifies
    /// the group when the last member arrives); a new group state is announced once.
    private func announceGroups() {
        for group in syncGroups {
            let states = group.memberNames.compactMap { instances[$0]?.machine.state }
            guard let first = states.first, states.count == group.memberNames.count else { continue }
            let state: VRRPState
            if states.contains(.fault) {
                state = .fault
            } else if states.allSatisfy({ $0 == first }) {
                state = first
            } else {
                continue
            }
            // A group starts in INIT like its members: nothing to say until it leaves it.
            guard groupStates[group.name, default: .initialize] != state,
                let configuration = syncGroupConfigs[group.name]
            else { continue }
            groupStates[group.name] = state
            onEvent("sync group \(group.name): \(Self.reportState(state).rawValue)")
            onNotify(
                VRRPNotice(
                    subject: .group, name: group.name, state: state, priority: 0, scripts: configuration.notify,
                    smtpAlert: configuration.smtpAlert))
        }
    }

    /// The `SIGUSR1` text: one block per instance.
    var dumpText: String {
        let instanceBlocks = order.compactMap { name -> String? in
            guard let instance = instances[name] else { return nil }
            let machine = instance.machine
            var lines = [
                "VRRP Instance = \(name)",
                "  State = \(Self.reportState(machine.state).rawValue) (\(instance.reason))",
                "  Interface = \(instance.interface)"
                    + (instance.configuration.vrf.map { " (sockets in VRF \($0))" } ?? "")
                    + ", VRID = \(instance.configuration.virtualRouterID), "
                    + "version = \(machine.settings.version.rawValue)",
                "  Priority = \(machine.settings.priority), effective = \(machine.effectivePriority)",
                "  Source = \(instance.source), destinations = "
                    + instance.destinations.map(\.description).joined(separator: " "),
                "  Master = \(machine.masterAddress.map(\.description) ?? "none")"
                    + (machine.masterPriority.map { " priority \($0)" } ?? ""),
                "  Master_Adver_Interval = \(machine.masterAdvertisementInterval)",
                "  Virtual addresses (\(instance.holdsAddresses ? "held" : "not held")) = "
                    + instance.held.map(\.description).joined(separator: ", "),
            ]
            for link in [instance.virtualMAC].compactMap({ $0 }) + instance.addressMACs {
                let label = link.kind == .macvlan ? "VMAC" : "IPVLAN"
                lines.append(
                    "  \(label) = \(link)\(link.name == instance.socketInterface ? ", adverts sent here" : "")")
            }
            lines += instance.machine.settings.trackedItems.map { "  Tracking \($0.name) weight \($0.weight)" }
            return lines.joined(separator: "\n")
        }
        // keepalived's data dump lists the sync groups too, with how they treat tracking weights.
        let groups = syncGroups.compactMap { group -> String? in
            guard let configuration = syncGroupConfigs[group.name] else { return nil }
            let weights = configuration.syncGroupTrackingWeight || configuration.globalTracking
            return [
                "VRRP Sync Group = \(group.name), \(Self.reportState(groupStates[group.name] ?? .initialize).rawValue)",
                "  Members = " + group.memberNames.joined(separator: ", "),
                "  Tracking weights = " + (weights ? "kept (sync_group_tracking_weight)" : "ignored"),
            ].joined(separator: "\n")
        }
        return (instanceBlocks + groups).joined(separator: "\n")
    }

    /// The `SIGUSR2` text: `instance.counter value` lines.
    var statisticsText: String {
        order.flatMap { name -> [String] in
            guard let counters = instances[name]?.counters else { return [] }
            return counters.keys.sorted().map { "\(name).\($0) \(counters[$0] ?? 0)" }
        }.joined(separator: "\n")
    }
}

extension VRRPEngineCore {
    /// `garp_extra_if` (keepalived's vrrp_send_vmac_update): one address per interface, among the held addresses on
    /// a VMAC (any interface with `all`) other than the interface the adverts carry the instance's MAC on (that one
    /// too with `vmac_xmit_base`, where adverts leave from the base).
    func extraInterfaceAnnouncements(_ instance: VRRPRunningInstance<Instant>) -> [VRRPHeldAddress] {
        let extra = instance.configuration.garpExtraIf ?? globals.vrrpGarpExtraIf
        let own = instance.virtualMAC?.name ?? instance.interface
        let vmacs = Set(([instance.virtualMAC].compactMap { $0 } + instance.addressMACs).map(\.name))
        var seen: Set<String> = []
        return instance.held.filter { held in
            guard vmacs.contains(held.interface) || extra?.all == true else { return false }
            guard held.interface != own || instance.configuration.vmacXmitBase else { return false }
            return seen.insert(held.interface).inserted
        }
    }

    /// The `garp_extra_if` interval, 0 when there is nothing to send it for: no address on another interface than
    /// the instance's, or (without `all`) none on a VMAC of another interface (keepalived).
    static func extraInterfaceInterval(
        _ extra: GARPExtraInterfaces?, held: [VRRPHeldAddress], own: String, vmacs: Set<String>
    ) -> Duration {
        guard let extra, extra.interval > .zero else { return .zero }
        let others = held.filter { $0.interface != own }
        let onVMAC = others.contains { vmacs.contains($0.interface) }
        return onVMAC || (extra.all && !others.isEmpty) ? extra.interval : .zero
    }
}
