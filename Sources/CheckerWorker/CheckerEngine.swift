import Config
import IPVSShim
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Netlink
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The checker worker's engine: runs every health checker on one event loop, keeps the real servers' health
/// (`HealthScheduler`), programs IPVS from it (`IPVSDesiredState` through `IPVSConfigApplier`, only the
/// difference reaches the kernel) and reports every change to the watchdog.
///
/// All state lives on `loop`; every entry point is called through `execute`. A kernel without IPVS is logged
/// once and tried again every `ipvsRetryInterval`; checks and reports go on meanwhile.
public final class CheckerEngine: WorkerEngine, @unchecked Sendable {
    /// Builds the probe of one checker of one real server; MISC_CHECK programs run through the script runner.
    typealias ProbeFactory = (Checker, RealServer, VirtualServer, ProbeContext) -> any HealthProbe
    /// What every probe of one configuration shares: `track_file`s, the script runner, SSL_GET's TLS context
    /// (built once per configuration from the `SSL { }` block).
    struct ProbeContext {
        var trackFiles: [Config.TrackFile]
        var scripts: ScriptRunner
        var sslContext: NIOSSLContext?
    }
    /// Where reports and events go (the watchdog in production, a recorder in tests).
    struct Sink {
        var report: (WorkerState) -> Void
        var event: (String) -> Void
        /// Marks progress during long work on the loop (a large configuration), for the watchdog's liveness check.
        var progress: () -> Void = {}
    }

    /// One real server under check: which virtual/real server it is and its probes.
    private struct Entry {
        var virtualServer: Int
        var realServer: Int
        /// `vsName|rsAddress` — how a reload or a saved state recognises the same real server.
        var identity: String
        /// What its probes were built from: a reload keeps the entry (timing, in-flight probes) while it is equal.
        var signature: Signature
        /// Names this entry across reloads: a probe's result finds its real server's current index through it.
        var token: Int
        var probes: [any HealthProbe]
    }

    /// The configuration one real server's probes depend on: the real server and its virtual server (without
    /// the other real servers).
    private struct Signature: Equatable {
        var realServer: RealServer
        var virtualServer: VirtualServer

        init(_ real: RealServer, of server: VirtualServer) {
            realServer = real
            virtualServer = server
            virtualServer.realServers = []
        }
    }

    /// What all probes of a configuration share; a reload that changes it rebuilds every probe.
    private struct SharedSignature: Equatable {
        var trackFiles: [Config.TrackFile]
        var ssl: SSLSettings?
        var scriptIdentity: ScriptIdentity
    }

    /// How long `stop` waits for the `omega` scripts before it reports done.
    static let omegaWait = TimeAmount.seconds(2)

    static let ipvsRetryInterval = TimeAmount.seconds(5)

    private let group: MultiThreadedEventLoopGroup?
    private let loop: any EventLoop
    private let sink: Sink
    private let logger: Logger
    private let makeProbe: ProbeFactory
    private let makeIPVSClient: () throws -> any IPVSClient

    private var configuration: WorkerConfiguration?
    private var config = KeepalivedConfig()
    private var scheduler = HealthScheduler()
    private var entries: [Entry] = []
    /// The next `Entry.token`.
    private var nextToken = 0
    /// `Entry.token` → index in `entries` (and `scheduler.servers`).
    private var tokenIndex: [Int: Int] = [:]
    private var sharedSignature: SharedSignature?
    private var timer: Scheduled<Void>?
    private var wakeup: Duration?
    private var client: (any IPVSClient)?
    private var ipvsRetry: Scheduled<Void>?
    private var ipvsUnavailableReported = false
    private var quorumMet: [Int: Bool] = [:]
    private var masterInstances: Set<String> = []
    /// Addresses (without prefix length) that a MASTER VRRP instance holds now.
    private var masterAddresses: Set<String> = []
    private var peerInstancesKnown = false
    private var stopped = false
    /// IPVS services (descriptions) put in the kernel for a configuration that no longer names them: by this
    /// worker before a reload, or by the worker it replaces. Deleted by the next sync.
    private var retiredServices: Set<String> = []
    /// The services of the last plan, reported so a successor knows what it owns.
    private var ownedServices: [String] = []
    /// The rest of the current plan, written a slice per turn of the loop.
    private var pendingOperations: ArraySlice<IPVSOperation> = []
    private var resyncAfterPending = false
    private var writesInPlan = 0
    /// Operations written per turn of the loop (about as many netlink round trips).
    public static let operationsPerSlice = 256
    private var random = SystemRandomNumberGenerator()
    private var scripts: ScriptRunner?
    private var fifo: Notifier.NotifyFIFO?
    private var alerter: SMTPAlerter?
    private var counters = EngineCounters()

    public convenience init(reporter: WorkerReporter, logger: Logger) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.init(
            group: group, loop: group.next(),
            sink: Sink(
                report: { reporter.report($0) }, event: { reporter.event($0) },
                progress: { reporter.progress.mark() }),
            logger: logger,
            makeProbe: { checker, real, virtual, context in
                HealthProbes.make(
                    checker: checker, realServer: real, virtualServer: virtual, group: group,
                    scripts: context.scripts, sslContext: context.sslContext, trackFiles: context.trackFiles)
            },
            makeIPVSClient: { try IPVSNetlinkClient() })
    }

    init(
        group: MultiThreadedEventLoopGroup?, loop: any EventLoop, sink: Sink, logger: Logger,
        makeProbe: @escaping ProbeFactory, makeIPVSClient: @escaping () throws -> any IPVSClient
    ) {
        self.group = group
        self.loop = loop
        self.sink = sink
        self.logger = logger
        self.makeProbe = makeProbe
        self.makeIPVSClient = makeIPVSClient
    }

    public func execute(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    private var now: Duration { .nanoseconds(Int64(loop.now.uptimeNanoseconds)) }

    // MARK: Configuration

    public func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        let lvs = configuration.lvs ?? LVSConfig()
        var kept: [String: (up: Bool, weight: Int?)] = [:]
        var previous: [String: (entry: Entry, state: HealthScheduler.ServerState)] = [:]
        retiredServices.formUnion(isReload ? ownedServices : configuration.savedState?.ipvsServices ?? [])
        if isReload {
            for (index, entry) in entries.enumerated() {
                kept[entry.identity] = (scheduler.servers[index].isUp, scheduler.servers[index].dynamicWeight)
                previous[entry.identity] = (entry, scheduler.servers[index])
            }
        } else {
            for server in configuration.savedState?.virtualServers ?? [] {
                for real in server.realServers where real.health != .unknown {
                    kept["\(server.name)|\(real.address)"] = (real.health == .up, nil)
                }
            }
        }
        self.configuration = configuration
        config = KeepalivedConfig()
        config.globalDefs = configuration.globalDefs
        config.lvs = lvs
        scheduler = HealthScheduler()
        entries = []
        tokenIndex = [:]
        let trackFiles = configuration.vrrp?.trackFiles ?? []
        let scriptUser = configuration.globalDefs.scriptUser
        let identity: ScriptIdentity
        do {
            identity = try ScriptIdentity.resolve(user: scriptUser?.user, group: scriptUser?.group)
        } catch {
            logger.error("\(error.message); MISC_CHECK programs run as root")
            identity = .root
        }
        let fifoPath = (configuration.globalDefs.lvsNotifyFIFO ?? configuration.globalDefs.notifyFIFO)?.path
        if fifo?.path != fifoPath { fifo = fifoPath.map { Notifier.NotifyFIFO(path: $0, logger: logger) } }
        alerter =
            configuration.globalDefs.smtpServer == nil
            ? nil : SMTPAlerter(settings: configuration.globalDefs, hostName: Self.hostName, logger: logger)
        let shared = SharedSignature(trackFiles: trackFiles, ssl: lvs.ssl, scriptIdentity: identity)
        // Real servers whose probes would be built the same keep their state and in-flight probes; the script
        // runner (and the MISC_CHECK programs it runs) too, unless its identity changed.
        if shared != sharedSignature { previous = [:] }
        let scripts: ScriptRunner
        if let current = self.scripts, sharedSignature?.scriptIdentity == identity {
            scripts = current
        } else {
            self.scripts?.shutdown()
            scripts = ScriptRunner(identity: identity, logger: logger)
        }
        self.scripts = scripts
        sharedSignature = shared
        var sslContext: NIOSSLContext?
        if lvs.virtualServers.contains(where: { $0.realServers.contains { $0.checkers.contains(where: \.isSSL) } }) {
            do {
                sslContext = try HTTPProbe.sslContext(lvs.ssl)
            } catch {
                logger.error("SSL { } block unusable (\(error)); SSL_GET uses the default context")
                sink.event("SSL { } block unusable: \(error)")
            }
        }
        let probeContext = ProbeContext(trackFiles: trackFiles, scripts: scripts, sslContext: sslContext)
        let start = now
        for (virtualIndex, virtualServer) in lvs.virtualServers.enumerated() {
            let name = VirtualServerNames.name(virtualServer.address)
            sink.progress()
            for (realIndex, real) in virtualServer.realServers.enumerated() {
                let identity = "\(name)|\(real.configName)"
                let signature = Signature(real, of: virtualServer)
                if var same = previous.removeValue(forKey: identity), same.entry.signature == signature {
                    same.entry.virtualServer = virtualIndex
                    same.entry.realServer = realIndex
                    tokenIndex[same.entry.token] = scheduler.adoptServer(same.state)
                    entries.append(same.entry)
                    continue
                }
                let kept = kept[identity]
                let index = scheduler.addServer(
                    real.checkers.map { HealthScheduler.CheckPlan(checker: $0, realServer: real) },
                    initiallyUp: kept?.up, dynamicWeight: kept?.weight, now: start, using: &random)
                nextToken += 1
                tokenIndex[nextToken] = index
                entries.append(
                    Entry(
                        virtualServer: virtualIndex, realServer: realIndex, identity: identity, signature: signature,
                        token: nextToken,
                        probes: real.checkers.map { makeProbe($0, real, virtualServer, probeContext) }))
            }
        }
        quorumMet = quorumMet.filter { $0.key < lvs.virtualServers.count }
        updateSuspension()
        logger.info(
            "\(isReload ? "reloaded" : "configured"): \(lvs.virtualServers.count) virtual servers, \(entries.count) real servers, \(scheduler.servers.map(\.checks.count).reduce(0, +)) checkers"
        )
        updateQuorums(announce: isReload)
        connectIPVS()
        syncIPVS()
        report()
        runDueChecks()
    }

    // MARK: Checks

    private func runDueChecks() {
        guard !stopped else { return }
        for id in scheduler.due(now: now) {
            let entry = entries[id.server]
            let token = entry.token
            counters.started(scheduler.servers[id.server].checks[id.checker].plan.keyword)
            entry.probes[id.checker].run(on: loop).hop(to: loop).whenComplete { [self] result in
                // A reload may have moved the real server (its index) or dropped it (its token).
                guard !stopped, let server = tokenIndex[token] else { return }
                let outcome: ProbeOutcome
                switch result {
                case .success(let value): outcome = value
                case .failure(let error): outcome = .failure("\(error)")
                }
                completed(HealthScheduler.CheckID(server: server, checker: id.checker), outcome)
            }
        }
        scheduleWakeup()
    }

    private func completed(_ id: HealthScheduler.CheckID, _ outcome: ProbeOutcome) {
        let keyword = scheduler.servers[id.server].checks[id.checker].plan.keyword
        if case .failure(let reason) = outcome {
            counters.failed(keyword)
            logger.debug("check failed: \(reason)")
        }
        let change = scheduler.record(outcome, for: id, now: now)
        if change.healthChanged || change.weightChanged {
            if change.healthChanged {
                let entry = entries[id.server]
                let virtualServer = config.lvs.virtualServers[entry.virtualServer]
                let real = virtualServer.realServers[entry.realServer]
                let text =
                    "RS \(Self.endpoint(real)) of \(Self.endpoint(virtualServer)) \(change.isUp ? "UP" : "DOWN")"
                    + (change.isUp ? "" : " (\(scheduler.servers[id.server].detail ?? change.reason ?? "failed"))")
                logger.notice("\(text)")
                sink.event(text)
                runScript(change.isUp ? real.notifyUp : real.notifyDown)
                let rs = Self.fifoEndpoint(real, of: virtualServer)
                let vs = Self.fifoEndpoint(virtualServer)
                fifo?.write(NotifyFIFOLine.realServer(rs, of: vs, up: change.isUp))
                let globals = config.globalDefs
                if let alerter,
                    real.smtpAlert ?? virtualServer.smtpAlert ?? globals.smtpAlertChecker ?? globals.smtpAlert ?? false
                {
                    let state = change.isUp ? "UP" : "DOWN"
                    _ = alerter.send(
                        subject:
                            "[\(globals.routerID ?? Self.hostName)] Realserver \(rs) of virtual server \(vs) - \(state)",
                        body: "=> \(text) <=", on: loop)
                }
            }
            updateQuorums(announce: true)
            syncIPVS()
            report()
        }
        runDueChecks()
    }

    private func scheduleWakeup() {
        guard let next = scheduler.nextWakeup else {
            timer?.cancel()
            timer = nil
            wakeup = nil
            return
        }
        if wakeup == next, timer != nil { return }
        timer?.cancel()
        wakeup = next
        let deadline = NIODeadline.uptimeNanoseconds(UInt64(max(0, HealthScheduler.nanoseconds(next))))
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            wakeup = nil
            runDueChecks()
        }
    }

    // MARK: ha_suspend

    public func peerStateChanged(_ state: WorkerState) {
        let masters = state.vrrpInstances.filter { $0.state == .master }
        masterInstances = Set(masters.map(\.name))
        masterAddresses = Set(masters.flatMap(\.heldAddresses).map { String($0.prefix { $0 != "/" }) })
        peerInstancesKnown = !state.vrrpInstances.isEmpty
        guard configuration != nil, !stopped else { return }
        updateSuspension()
        syncIPVS()
        runDueChecks()
    }

    /// `ha_suspend`: keepalived pauses a virtual server's checks while its address is not on this host. A
    /// virtual server whose address is a VRRP `virtual_ipaddress` checks only while a MASTER instance holds
    /// it; one whose address no VRRP instance manages is always on the host and checks. A firewall-mark or group
    /// virtual server has no single address: it checks while some VRRP instance is MASTER (or no VRRP runs).
    private func updateSuspension() {
        let managed = Set(
            (configuration?.vrrp?.instances ?? []).flatMap(\.virtualAddresses).map { "\($0.prefix.address)" })
        for (index, entry) in entries.enumerated() {
            let server = config.lvs.virtualServers[entry.virtualServer]
            var wanted = false
            if server.haSuspend {
                if case .endpoint(let address, _) = server.address {
                    let text = "\(address)"
                    wanted = managed.contains(text) && !masterAddresses.contains(text)
                } else {
                    wanted = peerInstancesKnown && masterInstances.isEmpty
                }
            }
            if scheduler.servers[index].suspended != wanted {
                scheduler.setSuspended(wanted, server: index)
                logger.info(
                    "checks of \(entry.identity) \(wanted ? "suspended (address not held by a VRRP MASTER)" : "resumed")"
                )
            }
        }
    }

    // MARK: Quorum

    private func liveWeight(ofVirtualServer index: Int) -> Int {
        entries.indices.filter { entries[$0].virtualServer == index && scheduler.servers[$0].isUp }
            .map { weight(ofServer: $0) }.reduce(0, +)
    }

    private func weight(ofServer index: Int) -> Int {
        let entry = entries[index]
        return scheduler.servers[index].dynamicWeight
            ?? config.lvs.virtualServers[entry.virtualServer].realServers[entry.realServer].weight
    }

    /// Every virtual server's live weight, in one pass over the real servers.
    private func liveWeights() -> [Int] {
        var weights = [Int](repeating: 0, count: config.lvs.virtualServers.count)
        for index in entries.indices where scheduler.servers[index].isUp {
            weights[entries[index].virtualServer] += weight(ofServer: index)
        }
        return weights
    }

    private func updateQuorums(announce: Bool) {
        let weights = liveWeights()
        for (index, server) in config.lvs.virtualServers.enumerated() {
            let live = weights[index]
            let was = quorumMet[index]
            let met = QuorumRule.isMet(
                liveWeight: live, quorum: server.quorum, hysteresis: server.hysteresis, wasMet: was)
            quorumMet[index] = met
            guard announce, let was, was != met else { continue }
            let text =
                "VS \(Self.endpoint(server)) quorum \(met ? "gained" : "lost") (live weight \(live), quorum \(server.quorum), hysteresis \(server.hysteresis))"
            logger.notice("\(text)")
            sink.event(text)
            runScript(met ? server.quorumUp : server.quorumDown)
            fifo?.write(NotifyFIFOLine.virtualServer(Self.fifoEndpoint(server), up: met))
        }
    }

    /// Runs a `notify_up`/`notify_down`/`quorum_up`/`quorum_down` script as its user (else `script_user`),
    /// without waiting for it; failures are logged.
    /// - Returns: completes when the script has ended (nil when none was started).
    @discardableResult
    private func runScript(_ command: Config.ScriptCommand?) -> EventLoopFuture<Void>? {
        guard let command, let scripts, let configuration else { return nil }
        let logger = logger
        do {
            let runnable = try Notifier.ScriptCommand(command)
            let identity = try ScriptIdentity.resolve(for: command, scriptUser: configuration.globalDefs.scriptUser)
            return scripts.run(runnable, as: identity, timeout: .seconds(30), on: loop).map { result in
                if case .exited(0) = result { return }
                logger.warning("script '\(command.text)' ended with \(result)")
            }
        } catch {
            logger.error("cannot run '\(command.text)': \(error.message)")
            return nil
        }
    }

    // MARK: IPVS

    private func connectIPVS() {
        guard client == nil, !stopped else { return }
        do {
            client = try makeIPVSClient()
            if ipvsUnavailableReported { logger.notice("IPVS is available now") }
            ipvsUnavailableReported = false
            ipvsRetry?.cancel()
            ipvsRetry = nil
        } catch {
            if !ipvsUnavailableReported {
                logger.error("IPVS is not available: modprobe ip_vs (\(error)); checking goes on, retrying every 5 s")
                sink.event("IPVS is not available: modprobe ip_vs")
                ipvsUnavailableReported = true
            }
            guard ipvsRetry == nil else { return }
            ipvsRetry = loop.scheduleTask(in: Self.ipvsRetryInterval) { [self] in
                ipvsRetry = nil
                connectIPVS()
                syncIPVS()
            }
        }
    }

    /// What the kernel should hold now.
    private func desiredState() -> IPVSDesiredState {
        var health: [IPVSRealServerID: Bool] = [:]
        var weighted = config
        for (index, entry) in entries.enumerated() {
            health[IPVSRealServerID(virtualServer: entry.virtualServer, realServer: entry.realServer)] =
                scheduler.servers[index].isUp
            if let weight = scheduler.servers[index].dynamicWeight {
                weighted.lvs.virtualServers[entry.virtualServer].realServers[entry.realServer].weight = weight
            }
        }
        return IPVSDesiredState.from(
            weighted, health: health, masterInstances: masterInstances, quorumMet: quorumMet)
    }

    private func syncIPVS() {
        guard let client, !stopped else { return }
        // One plan at a time: a sync asked for while slices are still going out runs after them.
        guard pendingOperations.isEmpty else {
            resyncAfterPending = true
            return
        }
        do {
            let desired = desiredState()
            let keys = desired.table.virtualServers.map(\.service.key)
            let retired = retiredServices
            let operations = try IPVSConfigApplier(client: client).plan(
                desired, isRetired: { retired.contains($0.description) })
            retiredServices = []
            ownedServices = keys.map(\.description)
            pendingOperations = operations[...]
            writeSlice()
        } catch {
            logger.error("cannot read the kernel's IPVS state: \(error); reconnecting")
            self.client = nil
            connectIPVS()
        }
    }

    /// Writes the next slice of the plan; the rest follows on a later turn of the loop, so a plan of thousands of
    /// operations (a first start with 1,000 services) never keeps heartbeats or checks waiting.
    private func writeSlice() {
        guard let client, !stopped else {
            pendingOperations = []
            return
        }
        let slice = Array(pendingOperations.prefix(Self.operationsPerSlice))
        pendingOperations = pendingOperations.dropFirst(slice.count)
        for failure in client.apply(slice) { logger.error("IPVS refused: \(failure)") }
        counters.ipvsWrites += slice.count
        writesInPlan += slice.count
        guard pendingOperations.isEmpty else {
            loop.execute { [self] in writeSlice() }
            return
        }
        if writesInPlan > 0 { logger.info("applied \(writesInPlan) IPVS changes") }
        writesInPlan = 0
        if resyncAfterPending {
            resyncAfterPending = false
            syncIPVS()
        }
    }

    // MARK: Reports

    private func report() {
        var servers: [VirtualServerReport] = []
        var realsOf = [[RealServerReport]](repeating: [], count: config.lvs.virtualServers.count)
        for (serverIndex, entry) in entries.enumerated() {
            let state = scheduler.servers[serverIndex]
            let real = config.lvs.virtualServers[entry.virtualServer].realServers[entry.realServer]
            realsOf[entry.virtualServer].append(
                RealServerReport(
                    address: real.configName, health: state.isUp ? .up : .down,
                    weight: weight(ofServer: serverIndex), detail: state.detail))
        }
        for (index, server) in config.lvs.virtualServers.enumerated() {
            let reals = realsOf[index]
            servers.append(
                VirtualServerReport(
                    name: VirtualServerNames.name(server.address), health: quorumMet[index] == true ? .up : .down,
                    realServers: reals))
        }
        sink.report(WorkerState(virtualServers: servers, ipvsServices: ownedServices))
    }

    /// `198.51.100.11:80`, `[2001:db8::1]:80`, `fwmark 5`, `group web`.
    static func endpoint(_ real: RealServer) -> String { endpointText(real.address, port: real.port) }

    static func endpoint(_ server: VirtualServer) -> String {
        if case .endpoint(let address, let port) = server.address { return endpointText(address, port: port) }
        return VirtualServerNames.name(server.address)
    }

    /// keepalived's `[ADDRESS]:tcp:PORT`, `FWM N`, `[GROUP]:0` for `notify_fifo` lines and alerts.
    static func fifoEndpoint(_ server: VirtualServer) -> String {
        switch server.address {
        case .endpoint(let address, let port):
            NotifyFIFOLine.endpoint(address: "\(address)", protocol: server.protocol.rawValue, port: port)
        case .fwmark(let mark): NotifyFIFOLine.firewallMark(mark)
        case .group(let name): NotifyFIFOLine.virtualServerGroup(name, port: 0)
        }
    }

    static func fifoEndpoint(_ real: RealServer, of server: VirtualServer) -> String {
        var port = real.port ?? 0
        if real.port == nil, case .endpoint(_, let servicePort) = server.address { port = servicePort }
        return NotifyFIFOLine.endpoint(address: "\(real.address)", protocol: server.protocol.rawValue, port: port)
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    public func dump() -> String {
        var lines: [String] = ["ipvs \(client == nil ? "unavailable" : "available")"]
        for (index, server) in config.lvs.virtualServers.enumerated() {
            lines.append(
                "virtual_server \(VirtualServerNames.name(server.address)) quorum \(quorumMet[index] == true ? "up" : "down") live_weight \(liveWeight(ofVirtualServer: index))"
            )
            for serverIndex in entries.indices where entries[serverIndex].virtualServer == index {
                let state = scheduler.servers[serverIndex]
                let real = server.realServers[entries[serverIndex].realServer]
                lines.append(
                    "  real_server \(real.configName) \(state.isUp ? "up" : "down") weight \(weight(ofServer: serverIndex))\(state.suspended ? " suspended" : "")"
                )
                for check in state.checks {
                    lines.append(
                        "    \(check.plan.keyword) \(check.passing ? "passing" : "failing") runs \(check.runs) failures \(check.failures)\(check.lastFailure.map { " last_failure \"\($0)\"" } ?? "")"
                    )
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    public func statistics() -> String { counters.text }

    /// `omega`: at shutdown, the `notify_down` of every real server that is up and the `quorum_down` of a
    /// virtual server whose quorum is met, as keepalived runs them.
    /// - Returns: the scripts' completions.
    private func runOmegaScripts() -> [EventLoopFuture<Void>] {
        guard !stopped else { return [] }
        var running: [EventLoopFuture<Void>] = []
        for (index, server) in config.lvs.virtualServers.enumerated() where server.omega {
            for serverIndex in entries.indices
            where entries[serverIndex].virtualServer == index && scheduler.servers[serverIndex].isUp {
                running += [runScript(server.realServers[entries[serverIndex].realServer].notifyDown)].compactMap { $0 }
            }
            if quorumMet[index] == true { running += [runScript(server.quorumDown)].compactMap { $0 } }
        }
        return running
    }

    /// Stops checking, removes the rules when `release`, and calls `done` once the `omega` scripts ended (at most
    /// `omegaWait` later).
    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        let omega = runOmegaScripts()
        stopped = true
        timer?.cancel()
        ipvsRetry?.cancel()
        if release, let client {
            do {
                let outcome = try IPVSConfigApplier(client: client).remove(desiredState())
                for failure in outcome.failures { logger.error("IPVS refused on stop: \(failure)") }
            } catch {
                logger.error("cannot remove the IPVS rules: \(error)")
            }
        }
        guard !omega.isEmpty else { return done() }
        // Both run on `loop`: whichever comes first reports done.
        let reported = NIOLoopBoundBox(false, eventLoop: loop)
        let finish: @Sendable () -> Void = {
            guard !reported.value else { return }
            reported.value = true
            done()
        }
        let deadline = loop.scheduleTask(in: Self.omegaWait) { finish() }
        EventLoopFuture.andAllComplete(omega, on: loop).whenComplete { _ in
            deadline.cancel()
            finish()
        }
    }
}

extension Checker {
    var isSSL: Bool { kind.keyword == "SSL_GET" }
}

/// `SIGUSR2` counters: checks run and failed, in all and per checker type.
struct EngineCounters {
    var checksRun = 0
    var checksFailed = 0
    var ipvsWrites = 0
    var perKind: [String: (run: Int, failed: Int)] = [:]

    mutating func started(_ keyword: String) {
        checksRun += 1
        perKind[keyword, default: (0, 0)].run += 1
    }

    mutating func failed(_ keyword: String) {
        checksFailed += 1
        perKind[keyword, default: (0, 0)].failed += 1
    }

    var text: String {
        var lines = ["checks_run \(checksRun)", "checks_failed \(checksFailed)", "ipvs_writes \(ipvsWrites)"]
        for (kind, count) in perKind.sorted(by: { $0.key < $1.key }) {
            lines.append("checks_run_\(kind) \(count.run)")
            lines.append("checks_failed_\(kind) \(count.failed)")
        }
        return lines.joined(separator: "\n")
    }
}
