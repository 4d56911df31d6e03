import Config
import IPVSShim
import WorkerIPC

/// The checker worker's pure core: what the configuration asks for, when each check runs, what its outcome means
/// for its real server, its virtual server's quorum and the IPVS rules. No clock, no sockets: the shell passes
/// `now`, the configuration and the probes' outcomes in, and acts on what comes back — start these checks, these
/// real servers and quorums changed (notify), these virtual servers' rules changed (write them), report.
///
/// Real servers are the scheduler's servers, in configuration order; each has a token that names it across
/// reloads (a probe's outcome finds its real server through it, or is dropped when a reload removed it).
public struct CheckerCore: Sendable {
    /// One real server under check: where it is in `lvs` and its token. Nothing of its configuration is copied
    /// here (with 10,000 real servers a copy each was 8 MiB): its identity and signature are worked out from `lvs`
    /// when needed, and a reload works out the old ones from the configuration it replaces.
    public struct Entry: Sendable {
        public var virtualServer: Int
        public var realServer: Int
        public var token: Int
    }

    /// `vsName|rsAddress` of an entry: how a reload or a saved state recognises the same real server.
    public func identity(ofEntry index: Int) -> String {
        Self.identity(of: entries[index], in: lvs)
    }

    static func identity(of entry: Entry, in lvs: LVSConfig) -> String {
        let server = lvs.virtualServers[entry.virtualServer]
        return identity(server.realServers[entry.realServer], of: VirtualServerNames.name(server.address))
    }

    /// `vsName|rsAddress` of a real server of the virtual server named `name`.
    static func identity(_ real: RealServer, of name: String) -> String { "\(name)|\(real.configName)" }

    /// The configuration one real server's probes depend on: the real server and its virtual server (without the
    /// other real servers). A reload keeps an entry (timing, in-flight checks) while its signature is equal.
    struct Signature: Equatable, Sendable {
        var realServer: RealServer
        var virtualServer: VirtualServer

        init(_ real: RealServer, of server: VirtualServer) {
            realServer = real
            virtualServer = server
            virtualServer.realServers = []
        }
    }

    static func signature(of entry: Entry, in lvs: LVSConfig) -> Signature {
        let server = lvs.virtualServers[entry.virtualServer]
        return Signature(server.realServers[entry.realServer], of: server)
    }

    /// What the shell must do after a (re)configuration.
    public struct Reconfiguration: Sendable {
        /// Entries (by token) whose probes must be built.
        public var build: [Int] = []
        /// Tokens whose probes are no longer used (in-flight outcomes for them are dropped).
        public var dropped: [Int] = []
        /// On a reload, the virtual servers whose IPVS rules may differ from before: new ones, changed ones, ones
        /// with real servers new to checking.
        public var changed: [Int] = []
        /// Entries new to checking, with no health kept or saved, that start up (`rs_init_notifies` announces them).
        public var startedUp: [Int] = []
    }

    /// Something the shell tells the world about: log, event, notify scripts, FIFO, mail.
    public enum Event: Hashable, Sendable {
        /// A real server went up or down; `reason` is the failing checkers' reasons when down.
        case realServer(virtualServer: Int, realServer: Int, up: Bool, reason: String?)
        /// A virtual server's quorum was gained or lost.
        case quorum(virtualServer: Int, met: Bool, liveWeight: Int)
        /// `ha_suspend`: a real server's checks paused or resumed.
        case suspension(entry: Int, suspended: Bool)
        /// One checker passed or failed while its real server's health stayed the same (another checker fails):
        /// keepalived mails it unless `no_checker_emails`.
        case checker(entry: Int, checker: Int, passing: Bool)
        /// `log_all_failures` / `checker_log_all_failures`: an attempt of a passing checker failed (keepalived logs
        /// each one while the checker is up, not only the one that fails it); `attempt` of `fall` in a row.
        case checkFailed(entry: Int, checker: Int, reason: String, attempt: Int, fall: Int)
    }

    /// What one outcome (or a change of the VRRP worker's state) changed.
    public struct Update: Sendable {
        public var events: [Event] = []
        /// Virtual servers whose IPVS rules changed (a real server up/down, a weight, a quorum with sorry server).
        public var dirty: Set<Int> = []
        /// The sync daemons' wanted state may have changed (a VRRP instance's state).
        public var syncDaemonsChanged = false
        /// The worker's report changed.
        public var report = false
        /// The virtual servers whose report changed (a report asked for without any: the whole report).
        public var reported: Set<Int> = []
    }

    public private(set) var lvs = LVSConfig()
    public private(set) var globals = GlobalDefs()
    public private(set) var vrrp = VRRPConfig()
    public private(set) var scheduler = HealthScheduler()
    public private(set) var entries: [Entry] = []
    /// The entries of each virtual server.
    public private(set) var entriesOf: [[Int]] = []
    private var tokenIndex: [Int: Int] = [:]
    private var nextToken = 0
    public private(set) var quorumMet: [Bool?] = []
    /// VRRP instances in MASTER state, and the addresses they hold, from the VRRP worker's last report.
    public private(set) var masterInstances: Set<String> = []
    private var masterAddresses: Set<IPAddress> = []
    private var peerKnown = false
    /// Addresses some VRRP instance manages (`ha_suspend` looks for a virtual server's address among them).
    private var managedAddresses: Set<IPAddress> = []
    /// The BFD sessions `BFD_CHECK`s follow: the configuration's snapshot, then the BFD channel.
    public private(set) var bfd = BFDSessionTable()
    private var bfdInstances = BFDConfig()
    public var lateness = LatencyHistogram()
    public var durations = LatencyHistogram()
    public private(set) var counters = CheckerCounters()

    public init() {}

    // MARK: Configuration

    /// Takes a configuration: a first one (`savedState` seeds the health a previous worker reported) or a reload
    /// (real servers whose probes would be built the same keep their state and in-flight checks).
    /// - Parameter rebuildAll: a reload that changed what every probe shares (`SSL { }`, `track_file`s, the script
    ///   user): every real server gets new probes, keeping its health.
    public mutating func configure(
        _ configuration: WorkerConfiguration, isReload: Bool, rebuildAll: Bool = false, now: Duration,
        using random: inout some RandomNumberGenerator, progress: () -> Void = {}
    ) -> Reconfiguration {
        let newLVS = configuration.lvs ?? LVSConfig()
        // What a restart resumes from: the previous incarnation's verdicts, by identity.
        var saved: [String: Bool] = [:]
        if !isReload {
            for server in configuration.savedState?.virtualServers ?? [] {
                for real in server.realServers where real.health != .unknown {
                    saved["\(server.name)|\(real.address)"] = real.health == .up
                }
            }
        }
        let oldLVS = lvs
        let oldEntries = entries
        let oldEntriesOf = entriesOf
        let oldScheduler = scheduler
        // Virtual servers are matched by address (equal addresses, equal names), not by their names: formatting
        // 1,000 names took a third of a reload's work here.
        let oldAddresses = oldLVS.virtualServers.map(\.address)
        var oldIndexOf: [VirtualServerAddress: Int] = [:]
        if isReload {
            oldIndexOf.reserveCapacity(oldAddresses.count)
            for (index, address) in oldAddresses.enumerated() where oldIndexOf[address] == nil {
                oldIndexOf[address] = index
            }
        }
        var consumed = Array(repeating: false, count: oldLVS.virtualServers.count)
        let previousQuorum = Dictionary(zip(oldAddresses, quorumMet), uniquingKeysWith: { first, _ in first })
        lvs = newLVS
        globals = configuration.globalDefs
        vrrp = configuration.vrrp ?? VRRPConfig()
        bfdInstances = configuration.bfd ?? BFDConfig()
        _ = bfd.merge(configuration.bfdSessions ?? [])
        managedAddresses = Set(vrrp.instances.flatMap(\.virtualAddresses).map(\.prefix.address))
        scheduler = HealthScheduler()
        entries = []
        entries.reserveCapacity(oldEntries.count)
        entriesOf = Array(repeating: [], count: lvs.virtualServers.count)
        tokenIndex = [:]
        tokenIndex.reserveCapacity(oldEntries.count)
        var result = Reconfiguration()
        /// Keeps an old entry, and its check state, at its new place.
        func adopt(_ entryIndex: Int, virtualServer: Int, realServer: Int) {
            var same = oldEntries[entryIndex]
            same.virtualServer = virtualServer
            same.realServer = realServer
            tokenIndex[same.token] = scheduler.adoptServer(oldScheduler.servers[entryIndex])
            entries.append(same)
        }
        for (virtualIndex, virtualServer) in lvs.virtualServers.enumerated() {
            progress()
            var oldIndex = oldIndexOf[virtualServer.address]
            if let index = oldIndex, consumed[index] { oldIndex = nil }
            let unchanged = oldIndex.map { oldLVS.virtualServers[$0] == virtualServer } ?? false
            if !unchanged { result.changed.append(virtualIndex) }
            if let oldIndex { consumed[oldIndex] = true }
            // An unchanged virtual server (most of a reload) keeps its entries and check state as they are: no
            // identity strings, no signatures, one comparison for all its real servers.
            if unchanged, !rebuildAll, let oldIndex {
                for (realIndex, entryIndex) in oldEntriesOf[oldIndex].enumerated() {
                    entriesOf[virtualIndex].append(entries.count)
                    adopt(entryIndex, virtualServer: virtualIndex, realServer: realIndex)
                }
                continue
            }
            // A changed or new one: its real servers matched by identity among the old one's of the same name.
            var previous: [String: Int] = [:]
            for entryIndex in oldIndex.map({ oldEntriesOf[$0] }) ?? [] {
                previous[Self.identity(of: oldEntries[entryIndex], in: oldLVS)] = entryIndex
            }
            // A real server's identity is a string of its addresses: built only when there is something to match it
            // with (a first start of 10,000 real servers built 10,000 of them for nothing).
            let matchable = !previous.isEmpty || !saved.isEmpty
            let name = matchable ? VirtualServerNames.name(virtualServer.address) : ""
            entriesOf[virtualIndex].reserveCapacity(virtualServer.realServers.count)
            for (realIndex, real) in virtualServer.realServers.enumerated() {
                let identity = matchable ? Self.identity(real, of: name) : nil
                entriesOf[virtualIndex].append(entries.count)
                let match = identity.flatMap { previous.removeValue(forKey: $0) }
                if !rebuildAll, let match,
                    Self.signature(of: oldEntries[match], in: oldLVS) == Signature(real, of: virtualServer)
                {
                    adopt(match, virtualServer: virtualIndex, realServer: realIndex)
                    continue
                }
                var keep: (up: Bool?, weight: Int?) = (identity.flatMap { saved[$0] }, nil)
                if let match {
                    result.dropped.append(oldEntries[match].token)
                    keep = (oldScheduler.servers[match].isUp, oldScheduler.servers[match].dynamicWeight)
                }
                let index = scheduler.addServer(
                    real.checkers.map { HealthScheduler.CheckPlan(checker: $0, realServer: real) },
                    initiallyUp: keep.up, dynamicWeight: keep.weight, now: now, using: &random)
                if keep.up == nil, scheduler.servers[index].isUp { result.startedUp.append(index) }
                nextToken += 1
                tokenIndex[nextToken] = index
                entries.append(
                    Entry(
                        virtualServer: virtualIndex, realServer: realIndex, token: nextToken))
                result.build.append(nextToken)
            }
            result.dropped += previous.values.map { oldEntries[$0].token }
        }
        for (oldIndex, used) in consumed.enumerated() where !used {
            result.dropped += oldEntriesOf[oldIndex].map { oldEntries[$0].token }
        }
        // BFD_CHECKs start from what the BFD worker last said of their sessions.
        for index in entries.indices {
            for (checker, name) in bfdChecks(ofEntry: index) {
                guard let up = bfdVerdict(name) else { continue }
                _ = scheduler.set(
                    passing: up, for: .init(server: index, checker: checker),
                    failure: "BFD_CHECK: bfd_instance \(name) is down")
            }
        }
        // A reload keeps the quorum verdicts of the virtual servers it keeps (hysteresis needs them).
        quorumMet = lvs.virtualServers.map { previousQuorum[$0.address] ?? nil }
        _ = updateSuspension()
        for index in lvs.virtualServers.indices { _ = updateQuorum(index, announce: false) }
        return result
    }

    /// The entry index of a token, nil when a reload dropped it.
    public func entry(token: Int) -> Int? { tokenIndex[token] }

    // MARK: Checks

    /// The checks due by `now` (plus `slack`: checks due within it start in the same turn), at most `limit` of
    /// them; the lateness of each is recorded.
    public mutating func due(now: Duration, slack: Duration = .zero, limit: Int = .max) -> [(
        ticket: CheckTicket, entry: Int
    )] {
        let due = scheduler.due(now: now + slack, started: now, limit: limit)
        return due.map { check in
            lateness.record(check.lateness, now: now)
            counters.started += 1
            return (CheckTicket(token: entries[check.id.server].token, checker: check.id.checker), check.id.server)
        }
    }

    public var nextWakeup: Duration? { scheduler.nextWakeup }

    /// Moves every waiting check `delay` later (`HealthScheduler.shift`): the checks were held meanwhile.
    public mutating func shiftChecks(by delay: Duration) { scheduler.shift(by: delay) }

    /// Records one check's outcome; its duration runs from its start (`due`) to `now`.
    public mutating func completed(_ ticket: CheckTicket, _ outcome: ProbeOutcome, now: Duration) -> Update {
        var update = Update()
        guard let index = tokenIndex[ticket.token] else { return update }
        let check = scheduler.servers[index].checks[ticket.checker]
        if check.inFlight { durations.record(now - check.startedAt, now: now) }
        switch outcome {
        case .success: counters.succeeded += 1
        case .failure: counters.failed += 1
        case .notRun: counters.notRun += 1
        }
        counters.count(check.plan.kind, outcome)
        let change = scheduler.record(
            outcome, for: HealthScheduler.CheckID(server: index, checker: ticket.checker), now: now)
        // Only a failure of a passing checker, or a verdict that flipped, costs more than these two comparisons.
        if case .failure(let reason) = outcome, check.passing, logsAllFailures(entry: index, checker: ticket.checker) {
            update.events.append(
                .checkFailed(
                    entry: index, checker: ticket.checker, reason: reason,
                    attempt: scheduler.servers[index].checks[ticket.checker].consecutiveFailures, fall: check.plan.fall)
            )
        }
        if !change.healthChanged, scheduler.servers[index].checks[ticket.checker].passing != check.passing {
            update.events.append(.checker(entry: index, checker: ticket.checker, passing: !check.passing))
        }
        note(change, ofEntry: index, into: &update)
        return update
    }

    /// What a changed real server means: an event when its health changed, its virtual server's rules to write, a
    /// report, and its quorum again.
    private mutating func note(_ change: HealthScheduler.Change, ofEntry index: Int, into update: inout Update) {
        guard change.healthChanged || change.weightChanged else { return }
        let entry = entries[index]
        if change.healthChanged {
            update.events.append(
                .realServer(
                    virtualServer: entry.virtualServer, realServer: entry.realServer, up: change.isUp,
                    reason: change.isUp ? nil : scheduler.servers[index].detail ?? change.reason))
        }
        update.dirty.insert(entry.virtualServer)
        update.report = true
        update.reported.insert(entry.virtualServer)
        if let quorum = updateQuorum(entry.virtualServer, announce: true) { update.events.append(quorum) }
    }

    // MARK: BFD_CHECK

    /// The `BFD_CHECK`s of an entry's real server: the checker's index and the `bfd_instance` it names.
    func bfdChecks(ofEntry index: Int) -> [(checker: Int, name: String)] {
        let entry = entries[index]
        return lvs.virtualServers[entry.virtualServer].realServers[entry.realServer].checkers.enumerated()
            .compactMap { checker, check in
                if case .bfd(let bfd) = check.kind { return (checker, bfd.name) }
                return nil
            }
    }

    /// Whether a `BFD_CHECK` of session `name` passes; nil while nothing is known of the session. A session that
    /// sends its state to the VRRP process only passes, as keepalived drops such a checker.
    func bfdVerdict(_ name: String) -> Bool? { Self.bfdVerdict(name, instances: bfdInstances, sessions: bfd) }

    static func bfdVerdict(_ name: String, instances: BFDConfig, sessions: BFDSessionTable) -> Bool? {
        if let instance = instances.instance(named: name), !instance.notifiesChecker { return true }
        return sessions.isUp(name)
    }

    /// A message from the BFD worker: the `BFD_CHECK`s of every session whose state changed pass or fail now.
    public mutating func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64) -> Update {
        var update = Update()
        let changed = Set(bfd.receive(message, at: receivedAt).map(\.name))
        guard !changed.isEmpty else { return update }
        for index in entries.indices {
            for (checker, name) in bfdChecks(ofEntry: index) where changed.contains(name) {
                guard let up = bfdVerdict(name) else { continue }
                let id = HealthScheduler.CheckID(server: index, checker: checker)
                let check = scheduler.servers[index].checks[checker]
                guard check.passing != up else { continue }
                counters.count(check.plan.kind, up ? .success() : .failure(""))
                let change = scheduler.set(passing: up, for: id, failure: "BFD_CHECK: bfd_instance \(name) is down")
                note(change, ofEntry: index, into: &update)
                // The check's own record changed even when the server's health did not: report it.
                update.report = true
                update.reported.insert(entries[index].virtualServer)
            }
        }
        return update
    }

    /// Whether every failed attempt of this checker is logged: `checker_log_all_failures` or its `log_all_failures`.
    private func logsAllFailures(entry index: Int, checker: Int) -> Bool {
        guard !globals.checkerLogAllFailures else { return true }
        let (virtualServer, realServer) = (entries[index].virtualServer, entries[index].realServer)
        return lvs.virtualServers[virtualServer].realServers[realServer].checkers[checker].logAllFailures
    }

    // MARK: Weights and quorum

    /// A real server's weight in effect: a `misc_dynamic` / FILE_CHECK weight, else the configured one.
    public func weight(ofEntry index: Int) -> Int {
        let entry = entries[index]
        return scheduler.servers[index].dynamicWeight
            ?? lvs.virtualServers[entry.virtualServer].realServers[entry.realServer].weight
    }

    /// The weights of a virtual server's real servers that are up.
    public func liveWeight(ofVirtualServer index: Int) -> Int {
        var live = 0
        for entry in entriesOf[index] where scheduler.servers[entry].isUp { live += weight(ofEntry: entry) }
        return live
    }

    /// Recomputes one virtual server's quorum (with `hysteresis`); the event when it changed and `announce`.
    private mutating func updateQuorum(_ index: Int, announce: Bool) -> Event? {
        let server = lvs.virtualServers[index]
        let live = liveWeight(ofVirtualServer: index)
        let was = quorumMet[index]
        let met = QuorumRule.isMet(liveWeight: live, quorum: server.quorum, hysteresis: server.hysteresis, wasMet: was)
        quorumMet[index] = met
        guard announce, let was, was != met else { return nil }
        return .quorum(virtualServer: index, met: met, liveWeight: live)
    }

    // MARK: The VRRP worker's state

    /// The VRRP worker's last report: `ha_suspend` and `lvs_sync_daemon … inst` follow its MASTER instances.
    public mutating func peerStateChanged(_ state: WorkerState) -> Update {
        var update = Update()
        let masters = state.vrrpInstances.filter { $0.state == .master }
        let instances = Set(masters.map(\.name))
        update.syncDaemonsChanged = instances != masterInstances
        masterInstances = instances
        masterAddresses = Set(
            masters.flatMap(\.heldAddresses).compactMap { IPAddress($0.prefix { $0 != "/" }) })
        peerKnown = !state.vrrpInstances.isEmpty
        update.events = updateSuspension()
        return update
    }

    /// `ha_suspend`: keepalived pauses a virtual server's checks while its address is not on this host. A virtual
    /// server whose address is a VRRP `virtual_ipaddress` checks only while a MASTER instance holds it; one whose
    /// address no VRRP instance manages is always on the host and checks. A firewall-mark or group virtual server
    /// has no single address: it checks while some VRRP instance is MASTER (or no VRRP runs).
    private mutating func updateSuspension() -> [Event] {
        var events: [Event] = []
        for (index, entry) in entries.enumerated() {
            let server = lvs.virtualServers[entry.virtualServer]
            var wanted = false
            if server.haSuspend {
                if case .endpoint(let address, _) = server.address {
                    wanted = managedAddresses.contains(address) && !masterAddresses.contains(address)
                } else {
                    wanted = peerKnown && masterInstances.isEmpty
                }
            }
            if scheduler.servers[index].suspended != wanted {
                scheduler.setSuspended(wanted, server: index)
                events.append(.suspension(entry: index, suspended: wanted))
            }
        }
        return events
    }

    // MARK: IPVS

    /// What the kernel should hold for one virtual server (several services for a group).
    public func desiredServices(of index: Int) -> [IPVSVirtualServer] {
        let entries = entriesOf[index]
        return IPVSDesiredState.services(
            of: index, in: lvs, health: { scheduler.servers[entries[$0]].isUp },
            weight: { scheduler.servers[entries[$0]].dynamicWeight }, quorumMet: quorumMet[index])
    }

    /// The services and real servers a daemon's first configuration starts with, before any check has run: what
    /// `configure` (no saved state) then `desiredState()` give, worked out without building the schedule. The watchdog
    /// writes them while the worker starts (`StartRules`); `CheckerCoreTests.initialTable` holds the two equal.
    ///
    /// A real server starts up when each of its checkers does: a `BFD_CHECK` as its session was last reported (or as
    /// a session that does not notify checkers: passing), any other checker passing unless it has `alpha`.
    public static func initialTable(_ configuration: WorkerConfiguration) -> IPVSTable {
        var config = KeepalivedConfig()
        config.globalDefs = configuration.globalDefs
        config.lvs = configuration.lvs ?? LVSConfig()
        let instances = configuration.bfd ?? BFDConfig()
        var sessions = BFDSessionTable()
        _ = sessions.merge(configuration.bfdSessions ?? [])
        let servers = config.lvs.virtualServers
        return IPVSDesiredState.from(
            config,
            health: { id in
                servers[id.virtualServer].realServers[id.realServer].checkers.allSatisfy { checker in
                    if case .bfd(let bfd) = checker.kind,
                        let verdict = bfdVerdict(bfd.name, instances: instances, sessions: sessions)
                    {
                        return verdict
                    }
                    return !checker.timing.alpha
                }
            }, weight: { _ in nil }, masterInstances: [], quorumMet: { _ in nil }
        ).table
    }

    /// What the kernel should hold: every service, the sync daemons, the timeouts.
    public func desiredState() -> IPVSDesiredState {
        var config = KeepalivedConfig()
        config.globalDefs = globals
        config.lvs = lvs
        config.vrrp = vrrp
        return IPVSDesiredState.from(
            config,
            health: { id in
                entriesOf.indices.contains(id.virtualServer)
                    ? scheduler.servers[entriesOf[id.virtualServer][id.realServer]].isUp : nil
            },
            weight: { id in
                entriesOf.indices.contains(id.virtualServer)
                    ? scheduler.servers[entriesOf[id.virtualServer][id.realServer]].dynamicWeight : nil
            },
            masterInstances: masterInstances, quorumMet: { quorumMet.indices.contains($0) ? quorumMet[$0] : nil })
    }

    // MARK: Reports

    /// Everything the watchdog keeps: each virtual server's quorum and real servers' health and weight.
    /// - Parameter progress: called every few virtual servers (a report of 10,000 real servers is long work).
    public func report(ipvsServices: [String], progress: () -> Void = {}) -> WorkerState {
        let servers = lvs.virtualServers.indices.map { index in
            if index % 16 == 15 { progress() }
            return report(virtualServer: index)
        }
        return WorkerState(virtualServers: servers, ipvsServices: ipvsServices)
    }

    /// What changed since a whole report: the reports of `virtualServers` (indices into it), in order.
    public func reportChange(virtualServers: Set<Int>, ipvsServices: [String]?) -> WorkerStateChange {
        let indices = virtualServers.sorted().filter(lvs.virtualServers.indices.contains)
        return WorkerStateChange(
            virtualServerCount: lvs.virtualServers.count, indices: indices,
            virtualServers: indices.map { report(virtualServer: $0) }, ipvsServices: ipvsServices)
    }

    /// One virtual server's report: its quorum, and its real servers' health, weight and failing checks.
    func report(virtualServer index: Int) -> VirtualServerReport {
        let server = lvs.virtualServers[index]
        return VirtualServerReport(
            name: VirtualServerNames.name(server.address), health: quorumMet[index] == true ? .up : .down,
            realServers: entriesOf[index].map { entryIndex in
                let state = scheduler.servers[entryIndex]
                let real = server.realServers[entries[entryIndex].realServer]
                return RealServerReport(
                    server: ServerAddress(real), health: state.isUp ? .up : .down,
                    weight: weight(ofEntry: entryIndex),
                    detail: state.detail)
            })
    }
}

/// Checks counted where the checker sees them: started, and their outcomes, in all and per checker type.
public struct CheckerCounters: Sendable, Hashable {
    public var started: UInt64 = 0
    public var succeeded: UInt64 = 0
    public var failed: UInt64 = 0
    public var notRun: UInt64 = 0
    /// Per checker keyword, in `HealthScheduler.keywords`' order.
    public var perKind = [Kind](repeating: Kind(), count: HealthScheduler.keywords.count)

    public struct Kind: Sendable, Hashable {
        public var run: UInt64 = 0
        public var failed: UInt64 = 0
        public var notRun: UInt64 = 0
    }

    mutating func count(_ kind: Int, _ outcome: ProbeOutcome) {
        switch outcome {
        case .success: perKind[kind].run += 1
        case .failure:
            perKind[kind].run += 1
            perKind[kind].failed += 1
        case .notRun: perKind[kind].notRun += 1
        }
    }
}

/// Which check of which real server an outcome belongs to: the engine's token for the real server (stable across
/// reloads) and the checker's index.
public struct CheckTicket: Hashable, Sendable {
    public var token: Int
    public var checker: Int

    public init(token: Int, checker: Int) {
        self.token = token
        self.checker = checker
    }
}
