import Config

/// Which real server of which virtual server: indexes into `config.lvs.virtualServers` and its `realServers`, the
/// way a checker names the server it watches.
public struct IPVSRealServerID: Hashable, Sendable {
    public var virtualServer: Int
    public var realServer: Int

    public init(virtualServer: Int, realServer: Int) {
        self.virtualServer = virtualServer
        self.realServer = realServer
    }
}

/// Everything the configuration wants in the kernel's IPVS: the rules, the sync daemons and the timeouts.
public struct IPVSDesiredState: Hashable, Sendable {
    public var table: IPVSTable
    /// From `lvs_sync_daemon`; empty without it.
    public var syncDaemons: [IPVSSyncDaemon]
    /// From `lvs_timeouts`; nil leaves the kernel's values.
    public var timeouts: IPVSTimeouts?

    public init(table: IPVSTable = IPVSTable(), syncDaemons: [IPVSSyncDaemon] = [], timeouts: IPVSTimeouts? = nil) {
        self.table = table
        self.syncDaemons = syncDaemons
        self.timeouts = timeouts
    }

    /// Maps a configuration to the IPVS state it asks for, as keepalived's check process programs it. Pure.
    ///
    /// - A real server is up unless `health` says otherwise; with no entry it is up, except when one of its checkers
    ///   has `alpha` (it starts down until a check succeeds). A down real server is left out, or kept with weight 0
    ///   under `inhibit_on_failure`.
    /// - The `sorry_server` is added (weight 1) when the quorum is lost: the weights of the real servers that are up
    ///   add up to less than `quorum` (default 1, so: no real server up). With `sorry_server_inhibit` it stays in
    ///   with weight 0 otherwise. `hysteresis` needs the previous verdict: the checker passes its verdicts in
    ///   `quorumMet`, which then decides instead of the bare comparison.
    /// - `virtual_server group NAME` expands to one service per address of each range and per firewall mark.
    /// - Parameters:
    ///   - health: checker verdicts, true for up.
    ///   - masterInstances: VRRP instances in MASTER state; `lvs_sync_daemon … inst NAME` runs the master sync
    ///     daemon when NAME is among them, else the backup one. Without an instance both run.
    ///   - quorumMet: per virtual server index, whether its quorum is met (the checker's verdict with
    ///     `hysteresis`); a virtual server without an entry compares its live weight with `quorum`.
    public static func from(
        _ config: KeepalivedConfig, health: [IPVSRealServerID: Bool] = [:], masterInstances: Set<String> = [],
        quorumMet: [Int: Bool] = [:]
    ) -> IPVSDesiredState {
        from(
            config, health: { health[$0] }, weight: { _ in nil }, masterInstances: masterInstances,
            quorumMet: { quorumMet[$0] })
    }

    /// The same, asking the checker for each real server's verdict and weight.
    /// - Parameters:
    ///   - health: a real server's verdict (true up), nil for none.
    ///   - weight: a real server's weight in effect (`misc_dynamic`, FILE_CHECK), nil for the configured one.
    ///   - quorumMet: a virtual server's quorum verdict, nil for the bare comparison.
    public static func from(
        _ config: KeepalivedConfig, health: (IPVSRealServerID) -> Bool?, weight: (IPVSRealServerID) -> Int?,
        masterInstances: Set<String>, quorumMet: (Int) -> Bool?
    ) -> IPVSDesiredState {
        var table = IPVSTable()
        var position: [IPVSServiceKey: Int] = [:]
        for index in config.lvs.virtualServers.indices {
            for server in services(
                of: index, in: config.lvs, health: { health(IPVSRealServerID(virtualServer: index, realServer: $0)) },
                weight: { weight(IPVSRealServerID(virtualServer: index, realServer: $0)) }, quorumMet: quorumMet(index))
            {
                // The same service twice (overlapping groups) merges into the first, as the kernel would refuse it.
                if let existing = position[server.service.key] {
                    for destination in server.destinations
                    where table.virtualServers[existing].destination(at: destination.address, port: destination.port)
                        == nil
                    {
                        table.virtualServers[existing].destinations.append(destination)
                    }
                } else {
                    position[server.service.key] = table.virtualServers.count
                    table.virtualServers.append(server)
                }
            }
        }
        let globals = config.globalDefs
        return IPVSDesiredState(
            table: table, syncDaemons: syncDaemons(config, masterInstances: masterInstances),
            timeouts: globals.lvsTimeouts.map {
                IPVSTimeouts(tcp: seconds($0.tcp), tcpFin: seconds($0.tcpFin), udp: seconds($0.udp))
            })
    }

    /// The services one virtual server asks for (several for a group), with their real servers: what the checker
    /// writes when a real server of it changes, without computing the rest of the table.
    public static func services(
        of index: Int, in lvs: LVSConfig, health: (Int) -> Bool?, weight: (Int) -> Int?, quorumMet: Bool?
    ) -> [IPVSVirtualServer] {
        let virtualServer = lvs.virtualServers[index]
        return serviceEndpoints(virtualServer, groups: lvs).map { endpoint in
            IPVSVirtualServer(
                service: service(virtualServer, key: endpoint.key),
                destinations: destinations(
                    of: virtualServer, servicePort: endpoint.port, health: health, weight: weight,
                    quorumMet: quorumMet))
        }
    }

    /// The service keys of one virtual server (several for a group).
    public static func serviceKeys(of virtualServer: VirtualServer, in lvs: LVSConfig) -> [IPVSServiceKey] {
        serviceEndpoints(virtualServer, groups: lvs).map(\.key)
    }

    // MARK: Services

    private struct ServiceEndpoint {
        var key: IPVSServiceKey
        /// The port real servers without one of their own inherit: the service's, 0 for firewall marks.
        var port: UInt16
    }

    private static func serviceEndpoints(_ server: VirtualServer, groups: LVSConfig) -> [ServiceEndpoint] {
        let proto = protocolNumber(server.protocol)
        switch server.address {
        case .endpoint(let address, let port):
            return [ServiceEndpoint(key: .address(address, port: UInt16(port), protocol: proto), port: UInt16(port))]
        case .fwmark(let mark):
            return [ServiceEndpoint(key: .firewallMark(mark, family: markFamily(server)), port: 0)]
        case .group(let name):
            guard let group = groups.group(named: name) else { return [] }
            return group.entries.flatMap { entry -> [ServiceEndpoint] in
                switch entry.target {
                case .addresses(let first, let last, let port):
                    return addresses(from: first, to: last).map {
                        ServiceEndpoint(key: .address($0, port: UInt16(port), protocol: proto), port: UInt16(port))
                    }
                case .fwmark(let mark, let family):
                    return [ServiceEndpoint(key: .firewallMark(mark, family: family ?? markFamily(server)), port: 0)]
                }
            }
        }
    }

    /// A firewall-mark service's family: `ip_family`, else its first non-tunnelled real server's, else IPv4.
    private static func markFamily(_ server: VirtualServer) -> IPAddress.Family {
        if let family = server.ipFamily { return family }
        let direct = server.realServers.first { !server.forwarding(of: $0).isTunnel }
        return (direct ?? server.realServers.first)?.address.family ?? .ipv4
    }

    /// Every address from `first` to `last` inclusive (a `virtual_server_group` range such as 192.0.2.1-10).
    static func addresses(from first: IPAddress, to last: IPAddress) -> [IPAddress] {
        guard first.family == last.family else { return [first] }
        var result: [IPAddress] = []
        var bytes = first.bytes
        let end = last.bytes
        // Ranges vary only the last byte (IPv4) or 16-bit group (IPv6); the schema caps them, this guards anyway.
        while bytes.lexicographicallyPrecedes(end) || bytes == end, result.count < 65536 {
            if let address = IPAddress(bytes: bytes) { result.append(address) }
            guard increment(&bytes) else { break }
        }
        return result
    }

    private static func increment(_ bytes: inout [UInt8]) -> Bool {
        for index in bytes.indices.reversed() {
            if bytes[index] == 255 {
                bytes[index] = 0
            } else {
                bytes[index] += 1
                return true
            }
        }
        return false
    }

    private static func service(_ server: VirtualServer, key: IPVSServiceKey) -> IPVSService {
        var flags = IPVSServiceFlags(rawValue: server.flags.rawValue).configurable
        var timeout: UInt32 = 0
        var netmask: UInt32?
        if server.isPersistent {
            flags.insert(.persistent)
            timeout = UInt32(server.persistenceTimeout ?? VirtualServer.defaultPersistenceTimeout)
            if let prefix = server.persistenceGranularity {
                netmask = key.family == .ipv4 ? ipv4Netmask(prefixLength: prefix) : UInt32(prefix)
            }
        }
        return IPVSService(
            key: key, scheduler: server.scheduler.rawValue, flags: flags, timeout: timeout, netmask: netmask,
            persistenceEngine: server.isPersistent ? server.persistenceEngine : nil)
    }

    /// 24 → 0xffffff00.
    static func ipv4Netmask(prefixLength: Int) -> UInt32 {
        let length = min(max(prefixLength, 0), 32)
        return length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    private static func protocolNumber(_ proto: Config.IPVSProtocol) -> IPVSProtocol {
        switch proto {
        case .tcp: .tcp
        case .udp: .udp
        case .sctp: .sctp
        }
    }

    // MARK: Real servers

    private static func destinations(
        of server: VirtualServer, servicePort: UInt16, health: (Int) -> Bool?, weight: (Int) -> Int?,
        quorumMet: Bool?
    ) -> [IPVSDestination] {
        var result: [IPVSDestination] = []
        var present: Set<IPVSEndpoint> = []
        var liveWeight = 0
        for (realIndex, real) in server.realServers.enumerated() {
            let isUp = health(realIndex) ?? !real.checkers.contains { $0.timing.alpha }
            let inEffect = weight(realIndex) ?? real.weight
            var destination = destination(
                address: real.address, port: real.port.map(UInt16.init) ?? servicePort,
                forwarding: server.forwarding(of: real), weight: inEffect)
            destination.upperThreshold = UInt32(real.upperThreshold)
            destination.lowerThreshold = UInt32(real.lowerThreshold)
            if isUp {
                liveWeight += inEffect
            } else if server.inhibitsOnFailure(real) {
                destination.weight = 0
            } else {
                continue
            }
            if present.insert(IPVSEndpoint(address: destination.address, port: destination.port)).inserted {
                result.append(destination)
            }
        }
        let quorumLost = quorumMet.map { !$0 } ?? (liveWeight < server.quorum)
        if let sorry = server.sorryServer, quorumLost || sorry.inhibit {
            let destination = destination(
                address: sorry.address, port: sorry.port.map(UInt16.init) ?? servicePort,
                forwarding: sorry.forwarding ?? server.forwarding, weight: quorumLost ? 1 : 0)
            if present.insert(IPVSEndpoint(address: destination.address, port: destination.port)).inserted {
                result.append(destination)
            }
        }
        return result
    }

    /// A real server's address and port: what the kernel keys it by within a service.
    struct IPVSEndpoint: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    private static func destination(address: IPAddress, port: UInt16, forwarding: ForwardingMethod, weight: Int)
        -> IPVSDestination
    {
        switch forwarding {
        case .nat:
            return IPVSDestination(address: address, port: port, forwarding: .nat, weight: UInt32(weight))
        case .directRouting:
            return IPVSDestination(address: address, port: port, forwarding: .directRouting, weight: UInt32(weight))
        case .tunnel(let options):
            return IPVSDestination(
                address: address, port: port, forwarding: .tunnel, weight: UInt32(weight), tunnel: tunnel(options))
        }
    }

    static func tunnel(_ options: TunnelOptions) -> IPVSTunnel {
        let flags: IPVSTunnelFlags =
            switch options.checksum {
            case nil, .noChecksum?: .noChecksum
            case .checksum?: .checksum
            case .remoteChecksum?: .remoteChecksum
            }
        switch options.encapsulation {
        case .ipip: return IPVSTunnel(type: .ipip, port: 0, flags: flags)
        case .gue(let port): return IPVSTunnel(type: .gue, port: UInt16(port), flags: flags)
        case .gre: return IPVSTunnel(type: .gre, port: 0, flags: flags)
        }
    }

    // MARK: Globals

    /// The sync daemons `lvs_sync_daemon` asks for, given the VRRP instances in MASTER state.
    public static func syncDaemons(_ config: KeepalivedConfig, masterInstances: Set<String>) -> [IPVSSyncDaemon] {
        guard let sync = config.globalDefs.lvsSyncDaemon else { return [] }
        let instance = sync.instance.flatMap { name in config.vrrp.instances.first { $0.name == name } }
        let syncID = UInt32(sync.syncID ?? instance?.virtualRouterID ?? 0)
        let states: [IPVSSyncDaemon.State] =
            if let name = sync.instance {
                [masterInstances.contains(name) ? .master : .backup]
            } else {
                [.master, .backup]
            }
        return states.map {
            IPVSSyncDaemon(
                state: $0, interface: sync.interface, syncID: syncID, maximumLength: sync.maxLength.map(UInt16.init),
                group: sync.group, port: sync.port.map(UInt16.init), ttl: sync.ttl.map(UInt8.init))
        }
    }

    private static func seconds(_ duration: Duration?) -> UInt32 {
        guard let duration else { return 0 }
        return UInt32(clamping: duration.components.seconds)
    }
}

extension IPVSOwnership {
    /// Without a record of what a previous run added, treats the kernel's rules that the configuration names as
    /// Vigil's: each configured service present in `current`, and every real server in it. Rules of services the
    /// configuration does not name stay foreign.
    public static func adopting(_ desired: IPVSTable, current: IPVSTable) -> IPVSOwnership {
        var ownership = IPVSOwnership()
        let wanted = Set(desired.virtualServers.map(\.service.key))
        for server in current.virtualServers where wanted.contains(server.service.key) {
            ownership.services.insert(server.service.key)
            for destination in server.destinations {
                ownership.destinations.insert(IPVSDestinationKey(service: server.service.key, destination: destination))
            }
        }
        return ownership
    }
}

extension IPVSDesiredState {
    /// The operations bringing the kernel to this state: the reconciler's rule changes, then sync daemons that are
    /// missing or differ (stopped first), then the timeouts when a configured one differs.
    public func plan(
        current: IPVSTable, currentSyncDaemons: [IPVSSyncDaemon], currentTimeouts: IPVSTimeouts,
        ownership: IPVSOwnership, foreignRules: IPVSForeignRulePolicy = .leave, progress: () -> Void = {}
    ) -> IPVSPlan {
        var plan = IPVSReconciler.plan(
            desired: table, current: current, ownership: ownership, foreignRules: foreignRules, progress: progress)
        plan.operations += IPVSSyncDaemon.operations(wanted: syncDaemons, current: currentSyncDaemons)
        if let timeouts {
            let merged = IPVSTimeouts(
                tcp: timeouts.tcp == 0 ? currentTimeouts.tcp : timeouts.tcp,
                tcpFin: timeouts.tcpFin == 0 ? currentTimeouts.tcpFin : timeouts.tcpFin,
                udp: timeouts.udp == 0 ? currentTimeouts.udp : timeouts.udp)
            if merged != currentTimeouts { plan.operations.append(.setTimeouts(timeouts)) }
        }
        return plan
    }
}

extension IPVSSyncDaemon {
    /// What brings the kernel's sync daemons from `current` to `wanted`: a daemon that differs is stopped and started
    /// again; with sync daemons configured, one whose state is not wanted (the backup daemon of an instance that
    /// became MASTER) is stopped first, as keepalived's ipvs_syncd_master/ipvs_syncd_backup do.
    public static func operations(wanted: [IPVSSyncDaemon], current: [IPVSSyncDaemon]) -> [IPVSOperation] {
        var operations: [IPVSOperation] = []
        if !wanted.isEmpty {
            for daemon in current where !wanted.contains(where: { $0.state == daemon.state }) {
                operations.append(.stopSyncDaemon(daemon.state))
            }
        }
        for daemon in wanted where !current.contains(where: { $0.matches(daemon) }) {
            if current.contains(where: { $0.state == daemon.state }) {
                operations.append(.stopSyncDaemon(daemon.state))
            }
            operations.append(.startSyncDaemon(daemon))
        }
        return operations
    }

    /// Whether a daemon the kernel reports runs as `wanted` asks; settings left to the kernel's default (nil) match
    /// whatever the kernel reports.
    public func matches(_ wanted: IPVSSyncDaemon) -> Bool {
        state == wanted.state && interface == wanted.interface && syncID == wanted.syncID
            && (wanted.maximumLength == nil || wanted.maximumLength == maximumLength)
            && (wanted.group == nil || wanted.group == group) && (wanted.port == nil || wanted.port == port)
            && (wanted.ttl == nil || wanted.ttl == ttl)
    }
}
