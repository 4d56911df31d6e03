import Config
import IPVSShim
import Logging
import NIOCore
import NIOPosix
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
    typealias ProbeFactory = (Checker, RealServer, VirtualServer, [Config.TrackFile], ScriptRunner) -> any HealthProbe
    /// Where reports and events go (the watchdog in production, a recorder in tests).
    struct Sink {
        var report: (WorkerState) -> Void
        var event: (String) -> Void
    }

    /// One real server under check: which virtual/real server it is and its probes.
    private struct Entry {
        var virtualServer: Int
        var realServer: Int
        /// `vsName|rsAddress` — how a reload or a saved state recognises the same real server.
        var identity: String
        var probes: [any HealthProbe]
    }

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
    /// Bumped on reload and stop: results of probes started before are dropped.
    private var generation = 0
    private var timer: Scheduled<Void>?
    private var wakeup: Duration?
    private var client: (any IPVSClient)?
    private var ipvsRetry: Scheduled<Void>?
    private var ipvsUnavailableReported = false
    private var quorumMet: [Int: Bool] = [:]
    private var masterInstances: Set<String> = []
    private var peerInstancesKnown = false
    private var stopped = false
    private var random = SystemRandomNumberGenerator()
    private var scripts: ScriptRunner?
    private var fifo: Notifier.NotifyFIFO?
    private var alerter: SMTPAlerter?
    private var counters = EngineCounters()

    public convenience init(reporter: WorkerReporter, logger: Logger) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.init(
            group: group, loop: group.next(),
            sink: Sink(report: { reporter.report($0) }, event: { reporter.event($0) }), logger: logger,
            makeProbe: { checker, real, virtual, trackFiles, scripts in
                HealthProbes.make(
                    checker: checker, realServer: real, virtualServer: virtual, group: group, scripts: scripts,
                    sslContext: nil, trackFiles: trackFiles)
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
        if isReload {
            for (index, entry) in entries.enumerated() {
                kept[entry.identity] = (scheduler.servers[index].isUp, scheduler.servers[index].dynamicWeight)
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
        generation += 1
        scheduler = HealthScheduler()
        entries = []
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
        scripts?.shutdown()
        let scripts = ScriptRunner(identity: identity, logger: logger)
        self.scripts = scripts
        let start = now
        for (virtualIndex, virtualServer) in lvs.virtualServers.enumerated() {
            let name = VirtualServerNames.name(virtualServer.address)
            for (realIndex, real) in virtualServer.realServers.enumerated() {
                let identity = "\(name)|\(Self.configName(real))"
                let previous = kept[identity]
                scheduler.addServer(
                    real.checkers.map { HealthScheduler.CheckPlan(checker: $0, realServer: real) },
                    initiallyUp: previous?.up, dynamicWeight: previous?.weight, now: start, using: &random)
                entries.append(
                    Entry(
                        virtualServer: virtualIndex, realServer: realIndex, identity: identity,
                        probes: real.checkers.map { makeProbe($0, real, virtualServer, trackFiles, scripts) }))
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

    /// `ADDRESS PORT` as the configuration and the reports write a real server.
    static func configName(_ real: RealServer) -> String {
        "\(real.address)\(real.port.map { " \($0)" } ?? "")"
    }

    // MARK: Checks

    private func runDueChecks() {
        guard !stopped else { return }
        for id in scheduler.due(now: now) {
            let entry = entries[id.server]
            let generation = generation
            counters.started(scheduler.servers[id.server].checks[id.checker].plan.keyword)
            entry.probes[id.checker].run(on: loop).hop(to: loop).whenComplete { [self] result in
                guard generation == self.generation, !stopped else { return }
                let outcome: ProbeOutcome
                switch result {
                case .success(let value): outcome = value
                case .failure(let error): outcome = .failure("\(error)")
                }
                completed(id, outcome)
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
        masterInstances = Set(state.vrrpInstances.filter { $0.state == .master }.map(\.name))
        peerInstancesKnown = !state.vrrpInstances.isEmpty
        guard configuration != nil, !stopped else { return }
        updateSuspension()
        syncIPVS()
        runDueChecks()
    }

    /// `ha_suspend` virtual servers check only while some VRRP instance is MASTER (or no VRRP runs at all).
    private func updateSuspension() {
        let suspend = peerInstancesKnown && masterInstances.isEmpty
        for (index, entry) in entries.enumerated() {
            let wanted = suspend && config.lvs.virtualServers[entry.virtualServer].haSuspend
            if scheduler.servers[index].suspended != wanted {
                scheduler.setSuspended(wanted, server: index)
                logger.info("checks of \(entry.identity) \(wanted ? "suspended (no VRRP MASTER)" : "resumed")")
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

    private func updateQuorums(announce: Bool) {
        for (index, server) in config.lvs.virtualServers.enumerated() {
            let live = liveWeight(ofVirtualServer: index)
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
    private func runScript(_ command: Config.ScriptCommand?) {
        guard let command, let scripts, let configuration else { return }
        let logger = logger
        do {
            let runnable = try Notifier.ScriptCommand(command)
            let identity = try ScriptIdentity.resolve(for: command, scriptUser: configuration.globalDefs.scriptUser)
            scripts.run(runnable, as: identity, timeout: .seconds(30), on: loop).whenSuccess { result in
                if case .exited(0) = result { return }
                logger.warning("script '\(command.text)' ended with \(result)")
            }
        } catch {
            logger.error("cannot run '\(command.text)': \(error.message)")
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
        return IPVSDesiredState.from(weighted, health: health, masterInstances: masterInstances)
    }

    private func syncIPVS() {
        guard let client, !stopped else { return }
        do {
            let outcome = try IPVSConfigApplier(client: client).apply(desiredState())
            counters.ipvsWrites += outcome.writes
            for failure in outcome.failures { logger.error("IPVS refused: \(failure)") }
        } catch {
            logger.error("cannot read the kernel's IPVS state: \(error); reconnecting")
            self.client = nil
            connectIPVS()
        }
    }

    // MARK: Reports

    private func report() {
        var servers: [VirtualServerReport] = []
        for (index, server) in config.lvs.virtualServers.enumerated() {
            let reals = entries.indices.filter { entries[$0].virtualServer == index }.map { serverIndex in
                let state = scheduler.servers[serverIndex]
                let real = server.realServers[entries[serverIndex].realServer]
                return RealServerReport(
                    address: Self.configName(real), health: state.isUp ? .up : .down,
                    weight: weight(ofServer: serverIndex), detail: state.detail)
            }
            servers.append(
                VirtualServerReport(
                    name: VirtualServerNames.name(server.address), health: quorumMet[index] == true ? .up : .down,
                    realServers: reals))
        }
        sink.report(WorkerState(virtualServers: servers))
    }

    /// `198.51.100.11:80`, `[2001:db8::1]:80`, `fwmark 5`, `group web`.
    static func endpoint(_ address: IPAddress, port: Int?) -> String {
        let host = address.family == .ipv6 ? "[\(address)]" : "\(address)"
        return port.map { "\(host):\($0)" } ?? host
    }

    static func endpoint(_ real: RealServer) -> String { endpoint(real.address, port: real.port) }

    static func endpoint(_ server: VirtualServer) -> String {
        if case .endpoint(let address, let port) = server.address { return endpoint(address, port: port) }
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
                    "  real_server \(Self.configName(real)) \(state.isUp ? "up" : "down") weight \(weight(ofServer: serverIndex))\(state.suspended ? " suspended" : "")"
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
    private func runOmegaScripts() {
        guard !stopped else { return }
        for (index, server) in config.lvs.virtualServers.enumerated() where server.omega {
            for serverIndex in entries.indices
            where entries[serverIndex].virtualServer == index && scheduler.servers[serverIndex].isUp {
                runScript(server.realServers[entries[serverIndex].realServer].notifyDown)
            }
            if quorumMet[index] == true { runScript(server.quorumDown) }
        }
    }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        runOmegaScripts()
        stopped = true
        generation += 1
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
        done()
    }
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
