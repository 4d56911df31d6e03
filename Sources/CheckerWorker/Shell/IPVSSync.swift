import Config
import IPVSShim
import Logging
import Netlink
import Notifier

/// Keeps the kernel's IPVS rules as the checker's core wants them, on the check loop.
///
/// - **Full sync** (start, reload, after a failed write): reads the kernel's table a slice of services per turn of
///   the loop, plans the whole difference (adopting rules already there), and writes it a slice per turn, many
///   operations per netlink system call. Counted in `fullReads`.
/// - **Incremental** (a real server up or down, a weight, a quorum): the one virtual server's rules are planned
///   against the rules this worker holds — what its own writes put there, no read of the kernel — and written.
/// - **Drift repair** (`ipvs_repair_interval`): each service's real servers are read once per interval, a few every
///   second (all of them in three quarters of the interval's ticks, so the time the checks themselves take does not
///   stretch a round past the interval), and the services list is compared whenever a new one is there: the traffic
///   counters' reader lists the services every 5 s and hands its list over (`listed(_:)`), and the drift check reads
///   one itself only when none came for `servicesMaxAge` (or the interval, if shorter), or when a service's real
///   servers differ from what it holds (a flush empties them all: every rule is back within a tick). Anything changed
///   behind Vigil's back (`ipvsadm -C`, `-d`, `-E`, another tool) is put back and counted. When nothing drifted,
///   nothing is written. Each read of a service's real servers also goes to `observed` (the traffic counters' reader
///   takes it as its own). Listing 1,000 services every second was 30 % of an idle checker loop's CPU under
///   emulation (BENCHMARKS.md, 2026-12-04 night).
final class IPVSSync {
    struct Counters: Sendable, Hashable {
        /// Operations written, and those the kernel refused.
        var writes: UInt64 = 0
        var failures: UInt64 = 0
        /// Whole-table reads (start, reload, recovery after an error).
        var fullReads: UInt64 = 0
        /// Netlink dump requests of the drift checks (the services list each second, a few services' real servers).
        var verifyDumps: UInt64 = 0
        /// Operations written to put back rules that were changed behind Vigil's back.
        var repairs: UInt64 = 0
    }

    /// What the sync asks of the engine.
    struct Desire {
        /// Everything: every service, the sync daemons, the timeouts (full syncs).
        var state: () -> IPVSDesiredState
        /// One virtual server's services (incremental updates).
        var services: (Int) -> [IPVSVirtualServer]
        /// The sync daemons wanted now.
        var syncDaemons: () -> [IPVSSyncDaemon]
    }

    /// Services whose real servers are read per turn of a full read.
    static let servicesPerSlice = 64
    /// Operations written per turn of the loop (each a few netlink batches).
    static let operationsPerSlice = 512
    static let retryInterval: Duration = .seconds(5)
    static let verifyTick: Duration = .seconds(1)
    /// The oldest services list the drift check compares before it reads one itself (the traffic counters' reader
    /// hands over one every 5 s and a little more).
    static let servicesMaxAge: Duration = .seconds(10)

    private let loop: CheckLoop
    private let logger: Logger
    /// Events for the watchdog's log (IPVS unavailable, drift repaired).
    private let event: (String) -> Void
    private let makeClient: () throws(NetlinkError) -> any IPVSClient
    private let desire: Desire
    private let progress: () -> Void
    private var client: (any IPVSClient)?
    private var unavailableReported = false
    private(set) var counters = Counters()

    /// `lvs_sloppy_tcp` / `lvs_sloppy_sctp`: IPVS's settings by sysctl name (`sloppy_tcp`), written once IPVS is
    /// there (its sysctls exist only then) and again at each configuration.
    var sysctls: [String: Bool] = [:] {
        didSet { if client != nil { writeSysctls() } }
    }

    private func writeSysctls() {
        for (name, on) in sysctls.sorted(by: { $0.key < $1.key }) {
            let path = "/proc/sys/net/ipv4/vs/\(name)"
            if FileContents.read(path, limit: 8)?.hasPrefix(on ? "1" : "0") == true { continue }
            if FileContents.write(on ? "1\n" : "0\n", to: path) {
                logger.info("net.ipv4.vs.\(name) set to \(on ? 1 : 0)")
            } else {
                logger.error("cannot write \(path) (lvs_\(name))")
                event("cannot write \(path) (lvs_\(name))")
            }
        }
    }

    /// The rules of the services this worker manages, as the kernel holds them after this worker's writes.
    private var held: [IPVSServiceKey: IPVSVirtualServer] = [:]
    /// Which virtual server each service belongs to, and the services of each virtual server.
    private var ownerOf: [IPVSServiceKey: Int] = [:]
    private var keysOf: [[IPVSServiceKey]] = []
    /// Every service of the configuration once, in its order: the drift check's round.
    private var verifyOrder: [IPVSServiceKey] = []
    private var heldDaemons: [IPVSSyncDaemon] = []
    /// `counters.writes` after the last write about each service, and after the last about none (a flush, counters
    /// zeroed): `writeMark(of:)`.
    private var lastWrite: [IPVSServiceKey: UInt64] = [:]
    private var lastUnkeyedWrite: UInt64 = 0
    /// Services put in the kernel for a configuration that no longer names them: deleted by the next full sync.
    private var retired: Set<String> = []
    /// A full sync under way (reading, then writing), and the virtual servers that changed meanwhile.
    private var syncing = false
    private var deferred: Set<Int> = []
    private var resyncWanted = false
    /// What `afterSync` holds until the full sync under way ends.
    private var waitingForSync: [() -> Void] = []
    /// A full sync succeeded and every write since did too: `held` is what the kernel has (drift aside).
    private var trusted = false
    private var retryTimer: TimerID?
    private var verifyTimer: TimerID?
    private var verifyCursor = 0
    /// The last services list (this worker's or the traffic counters' reader's), when it was read (the loop's clock),
    /// and whether the drift check has compared it with what it holds.
    private var listedServices: [IPVSServiceKey: IPVSService] = [:]
    private var listedAt: UInt64?
    private var listCompared = true
    /// `counters.writes` when the list was read: a service this worker wrote since is as it wrote it, not as listed.
    private var listedWrites: UInt64 = 0
    /// Gets every read the drift check makes of a service's real servers, with the service (its counters) from the
    /// last services list, at most `servicesMaxAge` old.
    var observed: (IPVSService, [IPVSDestination]) -> Void = { _, _ in }
    private(set) var repairInterval: Duration?
    private var stopped = false
    /// `lvs_flush`: the next full sync removes every rule the configuration does not name (then this is cleared).
    private var removeForeignRules = false

    init(
        loop: CheckLoop, logger: Logger, event: @escaping (String) -> Void,
        makeClient: @escaping () throws(NetlinkError) -> any IPVSClient, desire: Desire, progress: @escaping () -> Void
    ) {
        self.loop = loop
        self.logger = logger
        self.event = event
        self.makeClient = makeClient
        self.desire = desire
        self.progress = progress
    }

    var isAvailable: Bool { client != nil }

    /// Changes whenever this worker writes a rule of `key`'s service (or one about every service, a flush): a reading
    /// of its real servers from before may differ from the kernel's with no counter moved (a weight, a real server
    /// removed). Other services' writes leave it as it was.
    func writeMark(of key: IPVSServiceKey) -> UInt64 {
        max(lastWrite[key] ?? 0, lastUnkeyedWrite)
    }

    /// The services this worker manages, as `TCP 192.0.2.1:80` (reported, so a successor knows what it owns).
    var ownedServices: [String] { keysOf.flatMap { $0 }.map(\.description) }

    // MARK: Configuration

    /// A new configuration: `keys` are each virtual server's services; `retiring` services a previous
    /// configuration (or worker) put in the kernel.
    /// - Parameter changed: on a reload, the virtual servers whose rules may differ from the last ones (new, changed,
    ///   or moved); nil for a first configuration. With a table this worker holds and trusts, a reload writes only
    ///   those and deletes the services the file dropped, without reading the kernel's table; otherwise (a first
    ///   start, a failed write, IPVS coming back) it starts a full sync.
    func configure(keys: [[IPVSServiceKey]], retiring: [String], repairInterval: Duration?, changed: [Int]?) {
        // A reload that keeps every service where it was (a weight, a checker changed) keeps the maps: rebuilding them
        // hashed every key of a large farm on the way to its one write.
        if keys != keysOf {
            keysOf = keys
            ownerOf = [:]
            ownerOf.reserveCapacity(keys.count)
            for (index, serviceKeys) in keys.enumerated() {
                for key in serviceKeys where ownerOf[key] == nil { ownerOf[key] = index }
            }
            verifyOrder = keys.enumerated().flatMap { index, serviceKeys in
                serviceKeys.filter { ownerOf[$0] == index }
            }
            // A service no longer managed gets a mark of 0 (unlike any a reading holds), and a later write a new one.
            lastWrite = lastWrite.filter { ownerOf[$0.key] != nil }
        }
        self.repairInterval = repairInterval.flatMap { $0 > .zero ? $0 : nil }
        scheduleVerify()
        guard let changed, trusted, client != nil, !syncing else {
            if changed != nil {
                let why =
                    client == nil
                    ? "IPVS was not reachable" : syncing ? "a full sync is under way" : "a write failed since"
                logger.info("reload: reading the kernel's IPVS table again (\(why))")
            }
            retired.formUnion(retiring)
            deferred = []
            resync(reason: changed == nil ? "configuration" : "reload")
            return
        }
        let before = counters.writes
        // The services the file dropped: this worker holds every service it manages.
        let dropped = held.keys.filter { ownerOf[$0] == nil }.sorted()
        if !dropped.isEmpty {
            var table = IPVSTable(dropped.compactMap { held[$0] })
            let failed = writeNow(dropped.map { .deleteService($0) }, into: &table)
            for key in dropped where !table.virtualServers.contains(where: { $0.service.key == key }) {
                held[key] = nil
            }
            if failed > 0 { scheduleRetry() }
        }
        for index in changed { update(virtualServer: index) }
        updateSyncDaemons()
        let written = counters.writes - before
        if written > 0 {
            logger.info("applied \(written) IPVS changes (reload, \(changed.count) virtual servers changed)")
        }
    }

    /// `lvs_flush`: the next full sync (the first, at start) leaves IPVS holding the configuration's rules and
    /// nothing else, as keepalived's flush before it adds its own; Vigil's services already there are kept, not
    /// deleted and added again.
    func removeForeignRulesAtNextSync() {
        removeForeignRules = true
    }

    // MARK: Full sync

    /// Runs `body` once no full sync is under way: at once when none is (IPVS unreachable included), else when the
    /// current one ends, whether its writes succeeded or not.
    func afterSync(_ body: @escaping () -> Void) {
        if syncing { waitingForSync.append(body) } else { body() }
    }

    /// Reads the kernel's table (sliced), plans the whole difference and writes it (sliced).
    func resync(reason: String) {
        guard !stopped else { return }
        guard !syncing else {
            resyncWanted = true
            return
        }
        guard connect() else { return }
        syncing = true
        resyncWanted = false
        read { [self] result in
            switch result {
            case .failure(let error):
                finishSync(failedWith: error)
            case .success(let current):
                counters.fullReads += 1
                // For a large table the desired state, the plan and the writes each start a turn of their own: with
                // tens of thousands of real servers on a slow machine each is long, and the watchdog must see
                // progress between them. A small one is planned at once.
                let large = current.table.virtualServers.count + keysOf.count > Self.servicesPerSlice
                func step(_ body: @escaping () -> Void) {
                    guard large else { return body() }
                    loop.later { [self] in
                        guard !stopped else {
                            syncing = false
                            return
                        }
                        progress()
                        body()
                    }
                }
                step { [self] in
                    let desired = desire.state()
                    step { [self] in
                        apply(plan(desired, current: current), desired: desired, current: current, reason: reason)
                    }
                }
            }
        }
    }

    /// The second half of a full sync: writes the plan, then holds what the kernel has.
    private func apply(_ operations: [IPVSOperation], desired: IPVSDesiredState, current: KernelState, reason: String) {
        held = [:]
        heldDaemons = current.daemons
        write(operations[...], into: current.table) { [self] table, failed in
            let wanted = Set(desired.table.virtualServers.map(\.service.key))
            // Without the counters and connection counts the read brought: nothing here compares them, and counters
            // would cost each real server a box (`IPVSDestination.statistics`).
            held = Dictionary(
                table.virtualServers.filter { wanted.contains($0.service.key) }.map { ($0.service.key, $0.settings) },
                uniquingKeysWith: { first, _ in first })
            heldDaemons = desired.syncDaemons
            if operations.count > 0 {
                logger.info("applied \(operations.count - failed) IPVS changes (\(reason))")
            } else if reason == "configuration" {
                // A start whose rules the watchdog wrote (`StartRules`), or a restarted worker's: all there already.
                logger.info("IPVS already as configured: \(held.count) services adopted, nothing written")
            }
            retired = []
            if failed == 0 { removeForeignRules = false }
            finishSync(failedWith: nil, failedWrites: failed)
        }
    }

    private func plan(_ desired: IPVSDesiredState, current: KernelState) -> [IPVSOperation] {
        let plan = desired.plan(
            current: current.table, currentSyncDaemons: current.daemons, currentTimeouts: current.timeouts,
            ownership: .adopting(desired.table, current: current.table),
            foreignRules: removeForeignRules ? .remove : .leave, progress: progress)
        let wanted = Set(desired.table.virtualServers.map(\.service.key))
        let deletions = current.table.virtualServers.map(\.service.key)
            .filter { retired.contains($0.description) && !wanted.contains($0) }
            .map { IPVSOperation.deleteService($0) }
        return deletions + plan.operations
    }

    private func finishSync(failedWith error: NetlinkError?, failedWrites: Int = 0) {
        syncing = false
        trusted = error == nil && failedWrites == 0
        defer {
            let waiting = waitingForSync
            waitingForSync = []
            for body in waiting { body() }
        }
        if let error {
            logger.error("cannot read the kernel's IPVS state: \(error); reconnecting")
            client = nil
            scheduleRetry()
            return
        }
        if failedWrites > 0 { scheduleRetry() }
        let changed = deferred
        deferred = []
        for index in changed.sorted() { update(virtualServer: index) }
        if resyncWanted { resync(reason: "changes during the last one") }
    }

    // MARK: Incremental

    /// One virtual server's rules changed: plan them against what this worker holds and write the difference.
    func update(virtualServer index: Int) {
        guard !stopped, keysOf.indices.contains(index) else { return }
        guard client != nil, !syncing else {
            deferred.insert(index)
            return
        }
        let desired = IPVSTable(desire.services(index))
        let keys = Set(keysOf[index] + desired.virtualServers.map(\.service.key))
        var current = IPVSTable(keys.sorted().compactMap { held[$0] })
        let plan = IPVSReconciler.plan(
            desired: desired, current: current, ownership: .adopting(desired, current: current))
        guard !plan.operations.isEmpty else { return }
        let failed = writeNow(plan.operations, into: &current)
        for server in current.virtualServers where keys.contains(server.service.key) {
            held[server.service.key] = server
        }
        if failed > 0 { scheduleRetry() }
    }

    /// The VRRP instances' states changed: start or stop sync daemons as `lvs_sync_daemon … inst` asks.
    func updateSyncDaemons() {
        guard !stopped, client != nil, !syncing else { return }
        let wanted = desire.syncDaemons()
        let operations = IPVSSyncDaemon.operations(wanted: wanted, current: heldDaemons)
        guard !operations.isEmpty else { return }
        var table = IPVSTable()
        if writeNow(operations, into: &table) == 0 { heldDaemons = wanted } else { scheduleRetry() }
    }

    // MARK: Drift repair

    /// The next drift tick, a whole tick after the last one ended: however long a check takes on a loaded machine,
    /// the loop is free at least a tick between two. (A fixed rate would leave the loop little else when the checks
    /// take most of a tick, as a debug build's 1,000-service ones can under emulation.)
    private func scheduleVerify() {
        if let verifyTimer { loop.cancel(verifyTimer) }
        verifyTimer = nil
        guard repairInterval != nil, !stopped else { return }
        verifyTimer = loop.at(deadline(after: Self.verifyTick)) { [self] in
            verifyTimer = nil
            verify()
            scheduleVerify()
        }
    }

    /// A services list read by someone else (the traffic counters' reader) on this loop: the drift check compares it
    /// at its next tick instead of reading one.
    func listed(_ services: [IPVSService]) {
        listedServices = Dictionary(services.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        listedAt = loop.now.uptimeNanoseconds
        listedWrites = counters.writes
        listCompared = false
    }

    /// The list tells what the kernel holds of `key`'s service: this worker wrote none of its rules since.
    private func listCurrent(_ key: IPVSServiceKey) -> Bool {
        writeMark(of: key) <= listedWrites
    }

    /// Reads the services list now (a drift check's own read).
    private func listServices(_ client: any IPVSClient) throws(NetlinkError) {
        let services = try client.services()
        counters.verifyDumps += 1
        listed(services)
    }

    /// One drift check: the real servers of the next few services, and the services list when there is a new one (or
    /// the last is too old), against what is held.
    private func verify() {
        guard let interval = repairInterval, let client, !syncing, !held.isEmpty else { return }
        var drifted: Set<Int> = []
        let maxAge = UInt64(HealthScheduler.nanoseconds(min(interval, Self.servicesMaxAge)))
        // A list of this tick (the drift check's own) is not read again when a service's real servers differ.
        var ownList = false
        do {
            if listedAt.map({ loop.now.uptimeNanoseconds - $0 >= maxAge }) ?? true {
                try listServices(client)
                ownList = true
            }
        } catch {
            return resync(reason: "the services list could not be read: \(error)")
        }
        compareList(into: &drifted)
        // Each service's real servers once per interval, spread over three quarters of the interval's ticks (a tick
        // comes a second after the last check ended, so a round of 30 ticks took 30 s and more), in the
        // configuration's order: sorting the held keys at every tick took over a second per tick for 1,000 services
        // (debug build, under emulation).
        let keys = verifyOrder
        let ticks = max(1, Int(interval / Self.verifyTick) * 3 / 4)
        let perTick = max(1, (keys.count + ticks - 1) / ticks)
        for _ in 0..<min(perTick, keys.count) {
            verifyCursor = verifyCursor % keys.count
            let key = keys[verifyCursor]
            verifyCursor += 1
            guard let service = listedServices[key], let owner = ownerOf[key], let server = held[key] else { continue }
            do {
                let destinations = try client.destinations(of: key)
                counters.verifyDumps += 1
                // The service's counters as listed, maybe a few seconds before: the reader reads its real servers again
                // when the service's counters moved since, so an older listing costs a dump, never a wrong figure.
                observed(service, destinations)
                if !Self.sameDestinations(destinations, server.destinations) {
                    held[key]?.destinations = destinations
                    drifted.insert(owner)
                    // The service itself may be gone (a flush lists no real server): a list of this tick says so for
                    // every service at once.
                    if !ownList {
                        try listServices(client)
                        ownList = true
                        compareList(into: &drifted)
                    }
                }
            } catch {
                return resync(reason: "real servers of \(key) could not be read: \(error)")
            }
        }
        guard !drifted.isEmpty else { return }
        for key in held.keys where drifted.contains(ownerOf[key] ?? -1) && listCurrent(key) {
            if let listed = listedServices[key], held[key]?.service.hasSameSettings(as: listed) == false {
                held[key]?.service = listed
            }
        }
        let before = counters.writes
        for index in drifted.sorted() { update(virtualServer: index) }
        let written = counters.writes - before
        counters.repairs += written
        if written > 0 {
            let text =
                "IPVS rules of \(drifted.count) virtual servers were changed behind Vigil's back; \(written) changes put them back"
            logger.warning("\(text)")
            event(text)
        }
    }

    /// Compares a services list not compared yet with the services held: a service missing or with other settings
    /// marks its virtual server drifted (a missing one is no longer held, so its update adds it again). A service
    /// this worker wrote after the list was read is left to the next list.
    private func compareList(into drifted: inout Set<Int>) {
        guard !listCompared else { return }
        listCompared = true
        for (key, server) in held {
            guard let owner = ownerOf[key], listCurrent(key) else { continue }
            if let service = listedServices[key] {
                if !server.service.hasSameSettings(as: service) { drifted.insert(owner) }
            } else {
                held[key] = nil
                drifted.insert(owner)
            }
        }
    }

    /// A real server's place in a service, as a key (formatting addresses as text for it was 6 % of an idle checker's
    /// CPU with 10,000 real servers).
    private struct Endpoint: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    private static func sameDestinations(_ kernel: [IPVSDestination], _ held: [IPVSDestination]) -> Bool {
        guard kernel.count == held.count else { return false }
        let byEndpoint = Dictionary(
            held.map { (Endpoint(address: $0.address, port: $0.port), $0) }, uniquingKeysWith: { first, _ in first })
        return kernel.allSatisfy { destination in
            byEndpoint[Endpoint(address: destination.address, port: destination.port)].map {
                destination.hasSameSettings(as: $0)
            } ?? false
        }
    }

    // MARK: Stop

    /// Removes the rules of the configured services (and nothing else), as keepalived does at stop; with `flush`
    /// (`lvs_flush_on_stop` without `VS`), every rule in IPVS, Vigil's or not, in one `IPVS_CMD_FLUSH`.
    func removeAll(flush: Bool) {
        stopped = true
        if let verifyTimer { loop.cancel(verifyTimer) }
        if let retryTimer { loop.cancel(retryTimer) }
        guard let client else { return }
        do {
            let outcome = try IPVSConfigApplier(client: client).remove(
                desire.state(), foreignRules: flush ? .remove : .leave)
            for failure in outcome.failures { logger.error("IPVS refused on stop: \(failure)") }
        } catch {
            logger.error("cannot remove the IPVS rules: \(error)")
        }
    }

    func stop() {
        stopped = true
        if let verifyTimer { loop.cancel(verifyTimer) }
        if let retryTimer { loop.cancel(retryTimer) }
    }

    // MARK: The kernel

    private func connect() -> Bool {
        if client != nil { return true }
        do {
            client = try makeClient()
            if unavailableReported { logger.notice("IPVS is available now") }
            unavailableReported = false
            writeSysctls()
            return true
        } catch {
            if !unavailableReported {
                logger.error("IPVS is not available: modprobe ip_vs (\(error)); checking goes on, retrying every 5 s")
                event("IPVS is not available: modprobe ip_vs")
                unavailableReported = true
            }
            scheduleRetry()
            return false
        }
    }

    private func scheduleRetry() {
        trusted = false
        guard retryTimer == nil, !stopped else { return }
        retryTimer = loop.at(deadline(after: Self.retryInterval)) { [self] in
            retryTimer = nil
            resync(reason: "retry")
        }
    }

    private func deadline(after delay: Duration) -> UInt64 {
        loop.now.uptimeNanoseconds + UInt64(HealthScheduler.nanoseconds(delay))
    }

    struct KernelState {
        var table: IPVSTable
        var daemons: [IPVSSyncDaemon]
        var timeouts: IPVSTimeouts
    }

    /// Reads the whole table, `servicesPerSlice` services' real servers per turn of the loop.
    private func read(_ done: @escaping (Result<KernelState, NetlinkError>) -> Void) {
        guard let client else { return done(.failure(NetlinkError(kernelErrno: LinuxErrno.ENOENT, operation: "IPVS"))) }
        let services: [IPVSService]
        let daemons: [IPVSSyncDaemon]
        let timeouts: IPVSTimeouts
        do {
            services = try client.services()
            // A dump of thousands of services is long on a slow machine: the slices below mark progress too.
            progress()
            daemons = try client.syncDaemons()
            timeouts = try client.timeouts()
        } catch {
            return done(.failure(error))
        }
        var table = IPVSTable()
        table.virtualServers.reserveCapacity(services.count)
        func slice(from start: Int) {
            progress()
            let end = min(services.count, start + Self.servicesPerSlice)
            for service in services[start..<end] {
                do {
                    // Without the counters as it goes (what a plan compares, and what is held after): a start that
                    // adopts 10,000 real servers kept a box of counters for each until the end of the read, and the
                    // loop's other work between the slices left the freed boxes scattered over the heap.
                    table.virtualServers.append(
                        IPVSVirtualServer(service: service, destinations: try client.destinations(of: service.key))
                            .settings)
                } catch {
                    return done(.failure(error))
                }
            }
            guard end < services.count else {
                return done(.success(KernelState(table: table, daemons: daemons, timeouts: timeouts)))
            }
            loop.later { slice(from: end) }
        }
        slice(from: 0)
    }

    /// Writes a plan `operationsPerSlice` per turn of the loop, following it in `table`; then calls `done` with the
    /// table and the number of refused operations.
    private func write(
        _ operations: ArraySlice<IPVSOperation>, into table: IPVSTable, _ done: @escaping (IPVSTable, Int) -> Void
    ) {
        var table = table
        var failed = 0
        func slice(_ rest: ArraySlice<IPVSOperation>) {
            progress()
            let now = rest.prefix(Self.operationsPerSlice)
            failed += writeNow(Array(now), into: &table)
            let remaining = rest.dropFirst(now.count)
            guard !remaining.isEmpty, !stopped else { return done(table, failed) }
            loop.later { slice(remaining) }
        }
        slice(operations)
    }

    /// Writes operations now (several netlink batches), following the successful ones in `table`.
    /// - Returns: how many the kernel refused (each logged).
    @discardableResult
    private func writeNow(_ operations: [IPVSOperation], into table: inout IPVSTable) -> Int {
        guard let client, !operations.isEmpty else { return 0 }
        let results = client.applyEach(operations)
        var failed = 0
        var succeeded: [IPVSOperation] = []
        succeeded.reserveCapacity(operations.count)
        for (operation, failure) in zip(operations, results) {
            if let failure {
                failed += 1
                if failed <= 10 { logger.error("IPVS refused: \(failure)") }
            } else {
                succeeded.append(operation)
            }
        }
        table.apply(succeeded)
        if failed > 10 { logger.error("IPVS refused \(failed - 10) more operations") }
        counters.writes += UInt64(operations.count)
        counters.failures += UInt64(failed)
        for operation in operations {
            if let key = operation.serviceKey {
                lastWrite[key] = counters.writes
            } else {
                lastUnkeyedWrite = counters.writes
            }
        }
        return failed
    }
}
