import Config
import IPVSShim
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Netlink
import Notifier
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The checker worker's engine: the shell around `CheckerCore`, on one `CheckLoop`.
///
/// - The core decides when each check runs and what outcomes mean; the engine starts the checks (TCP_CHECK through
///   the loop's lean connector, the others as probes), at most `inFlightLimit` at a time, waking when the next one
///   is due (checks due within `slack` start in the same turn).
/// - `IPVSSync` writes the rules: one virtual server at a time when a real server changes, the whole table at
///   start and reload, and puts back what changed behind Vigil's back.
/// - `CheckerNotifications` runs the scripts, writes the FIFO, sends the mail.
/// - Reports go to the watchdog at most every `reportInterval` (a thousand changes in a second are one report),
///   statistics every second.
///
/// Everything runs on the loop: every `WorkerEngine` call arrives through `execute`. (Hence `@unchecked Sendable`:
/// the engine's state is confined to its loop, which `preconditionInEventLoop` checks at the entry points.)
public final class CheckerEngine: WorkerEngine, @unchecked Sendable {
    /// Builds the probe of one checker of one real server.
    typealias ProbeFactory = (Checker, RealServer, VirtualServer, ProbeContext) -> any HealthProbe
    /// What every probe of one configuration shares.
    struct ProbeContext {
        var trackFiles: [Config.TrackFile]
        var scripts: ScriptRunner
        var sslContext: NIOSSLContext?
    }

    /// Where reports, events and statistics go (the watchdog in production, a recorder in tests).
    struct Sink {
        var report: (WorkerState) -> Void
        /// Where reports after a whole one go as changes; nil: every report is whole (tests that read whole ones).
        var reportChange: ((WorkerStateChange) -> Void)? = nil
        var event: (String) -> Void
        /// Marks progress during long work on the loop, for the watchdog's liveness check.
        var progress: () -> Void = {}
        var statistics: (CheckerStatistics) -> Void = { _ in }
        var ipvsStatistics: (IPVSStatisticsReport) -> Void = { _ in }
    }

    /// How long `stop` waits for the `omega` scripts before it reports done.
    static let omegaWait = TimeAmount.seconds(2)
    /// Checks due within this much of now start in the same turn: at a thousand checks a second the loop wakes
    /// about once per tick, not once per check (none starts late for it; one starts at most this much early).
    static let slack = Duration.nanoseconds(Int64(CheckLoop.tick))
    /// Checks started in one turn of the loop at most: the rest start on the next turns, so a thousand checks due at
    /// once (a start, a reload) never make one turn long enough to look stuck, and the IPC tasks and completions
    /// between them are served.
    static let startsPerTurn = 256
    static let reportInterval = Duration.milliseconds(100)
    static let statisticsInterval = Duration.seconds(1)

    public let loop: CheckLoop
    private let sink: Sink
    private let logger: Logger
    private let makeProbe: ProbeFactory
    /// SSL_GET and SMTP alerts run on SwiftNIO; its loop starts only when first needed.
    private let nio: LazyGroup
    private var core = CheckerCore()
    private var ipvs: IPVSSync!
    /// The kernel's traffic counters of the managed services, every few seconds (metrics, status page).
    private var trafficReader: IPVSStatisticsReader!
    private var notifications: CheckerNotifications!
    private var runners = CheckRunners()
    /// What a reload compares with the last configuration applied (not the whole configuration: a successor's
    /// saved state, the VRRP and BFD parts are read once, at their `apply`, and let go).
    private var applied: (globals: GlobalDefs, groups: [VirtualServerGroup]?)?
    /// `announce_table` and `announce_protocol` as last applied, for `watchdogGone` (which runs off the loop).
    private let announcements = Mutex<(table: UInt32, protocolNumber: UInt8)?>(nil)
    /// `net_namespace_ipvs`: where the daemon's IPVS clients open their sockets (nil in tests with a fake kernel).
    private var ipvsNamespace: IPVSNamespace?
    private var sharedSignature: SharedSignature?
    private var wake: (at: Duration, timer: TimerID)?
    /// Checks wait for the worker's first IPVS programming (`apply`), held since this instant.
    private var checksHeldSince: Duration?
    /// A first configuration's probes, report and statistics, waiting for its rules to be written (`finishStart`).
    private var pendingStart: (() -> Void)?
    private var reportTimer: TimerID?
    /// Virtual servers whose report changed since the last report sent, and whether the next one must be whole (the
    /// first after each configuration, or one asked for without a virtual server).
    private var reportedServers: Set<Int> = []
    private var wholeReportDue = true
    /// The IPVS services of the last report sent: a change carries them only when they changed.
    private var reportedIPVSServices: [String]?
    private var statisticsTimer: TimerID?
    private var dirty: Set<Int> = []
    private var flushQueued = false
    private var stopped = false
    private var random = SplitMix64()
    /// The most checks in flight at once: each holds a descriptor.
    let inFlightLimit: Int

    /// What all probes of a configuration share; a reload that changes it rebuilds every probe.
    private struct SharedSignature: Equatable {
        var trackFiles: [Config.TrackFile]
        var ssl: SSLSettings?
        var scriptUser: ScriptUser?
    }

    public convenience init(reporter: WorkerReporter, logger: Logger) {
        let nio = LazyGroup()
        let namespace = IPVSNamespace()
        self.init(
            loop: CheckLoop(),
            sink: Sink(
                report: { reporter.report($0) }, reportChange: { reporter.send(.stateChange($0)) },
                event: { reporter.event($0) },
                progress: { reporter.progress.mark() }, statistics: { reporter.send(.checkerStatistics($0)) },
                ipvsStatistics: { reporter.send(.ipvsStatistics($0)) }),
            logger: logger,
            makeProbe: { checker, real, virtual, context in
                HealthProbes.make(
                    checker: checker, realServer: real, virtualServer: virtual, group: checker.isSSL ? nio.group : nil,
                    scripts: context.scripts, sslContext: context.sslContext, trackFiles: context.trackFiles)
            },
            makeIPVSClient: { () throws(NetlinkError) -> any IPVSClient in try namespace.client() }, nio: nio)
        ipvsNamespace = namespace
    }

    init(
        loop: CheckLoop, sink: Sink, logger: Logger, makeProbe: @escaping ProbeFactory,
        makeIPVSClient: @escaping () throws(NetlinkError) -> any IPVSClient, nio: LazyGroup = LazyGroup()
    ) {
        self.loop = loop
        self.sink = sink
        self.logger = logger
        self.makeProbe = makeProbe
        self.nio = nio
        inFlightLimit = Self.raiseDescriptorLimit()
        loop.onTurn = sink.progress
        // Built here, used only on the loop from the first `apply` on.
        notifications = CheckerNotifications(
            loop: loop, logger: logger, event: sink.event, mailLoop: { nio.group.next() })
        ipvs = IPVSSync(
            loop: loop, logger: logger, event: sink.event, makeClient: makeIPVSClient,
            desire: IPVSSync.Desire(
                state: { [unowned self] in core.desiredState() },
                services: { [unowned self] in core.desiredServices(of: $0) },
                syncDaemons: { [unowned self] in
                    var config = KeepalivedConfig()
                    config.globalDefs = core.globals
                    config.vrrp = core.vrrp
                    return IPVSDesiredState.syncDaemons(config, masterInstances: core.masterInstances)
                }), progress: sink.progress)
        trafficReader = IPVSStatisticsReader(
            loop: loop, makeClient: makeIPVSClient,
            names: { [unowned self] in
                let lvs = core.lvs
                var names: [IPVSServiceKey: IPVSStatisticsReader.Names] = [:]
                for server in lvs.virtualServers {
                    let owner = IPVSStatisticsReader.Names(
                        virtualServer: VirtualServerNames.name(server.address), realServers: server.realServers)
                    for key in IPVSDesiredState.serviceKeys(of: server, in: lvs) where names[key] == nil {
                        names[key] = owner
                    }
                }
                return names
            }, writes: { [unowned self] in ipvs.writeMark(of: $0) }, report: sink.ipvsStatistics)
        ipvs.observed = { [unowned self] service, destinations in
            trafficReader.observe(service, destinations: destinations)
        }
        trafficReader.listed = { [unowned self] services in ipvs.listed(services) }
        if loop.inEventLoop {
            loop.connector.sink = { [unowned self] ticket, outcome in completed(ticket, outcome) }
        } else {
            loop.execute { [self] in
                loop.connector.sink = { [unowned self] ticket, outcome in completed(ticket, outcome) }
            }
        }
    }

    public func execute(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    /// The loop's time for this turn (one clock read a turn).
    private var now: Duration { .nanoseconds(Int64(loop.turnTime)) }

    /// Raises RLIMIT_NOFILE's soft limit to the hard one, and keeps a reserve of descriptors for everything but
    /// checks (sockets of the IPC, netlink, scripts' pipes).
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return 512 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return max(64, min(Int(clamping: limit.rlim_cur) - 256, 65536))
    }

    // MARK: Configuration

    public func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        loop.preconditionInEventLoop()
        // A reload before the first configuration's rules were written: that configuration's probes first, so the real
        // servers the reload keeps have theirs.
        finishStart()
        let previousOwned = isReload ? ipvs.ownedServices : configuration.savedState?.ipvsServices ?? []
        let previousGlobals = applied?.globals
        let previousGroups = applied?.groups
        applied = (configuration.globalDefs, configuration.lvs?.virtualServerGroups)
        let globals = configuration.globalDefs
        announcements.withLock { $0 = globals.announceTable.map { ($0, globals.announceProtocol) } }
        // Fixed for the worker's life: vigild refuses a reload that changes it.
        if previousGlobals == nil || !isReload { ipvsNamespace?.set(globals.netNamespaceIPVS) }
        let trackFiles = configuration.vrrp?.trackFiles ?? []
        let shared = SharedSignature(
            trackFiles: trackFiles, ssl: configuration.lvs?.ssl, scriptUser: globals.scriptUser)
        // A change of what every probe shares rebuilds them all.
        let rebuildAll = isReload && shared != sharedSignature
        sharedSignature = shared
        let scripts = notifications.configure(globals)
        let lvs = configuration.lvs ?? LVSConfig()
        var sslContext: NIOSSLContext?
        if lvs.virtualServers.contains(where: { $0.realServers.contains { $0.checkers.contains(where: \.isSSL) } }) {
            do {
                sslContext = try HTTPProbe.sslContext(lvs.ssl)
            } catch {
                logger.error("SSL { } block unusable (\(error)); SSL_GET uses the default context")
                sink.event("SSL { } block unusable: \(error)")
            }
        }
        initializeTrackFiles(trackFiles, lvs: lvs, isStart: !isReload && configuration.savedState == nil)
        let context = ProbeContext(trackFiles: trackFiles, scripts: scripts, sslContext: sslContext)
        let change = core.configure(
            configuration, isReload: isReload, rebuildAll: rebuildAll, now: now, using: &random, progress: sink.progress
        )
        for token in change.dropped { runners.remove(token: token) }
        // `rs_init_notifies`: real servers that start up get their notify_up and FIFO line (no mail, as keepalived).
        if globals.rsInitNotifies {
            for index in change.startedUp {
                let entry = core.entries[index]
                let server = lvs.virtualServers[entry.virtualServer]
                notifications.realServer(
                    server.realServers[entry.realServer], of: server, up: true, reason: nil, mail: false)
            }
        }
        logger.info(
            "\(isReload ? "reloaded" : "configured"): \(lvs.virtualServers.count) virtual servers, \(core.entries.count) real servers, \(core.scheduler.servers.map(\.checks.count).reduce(0, +)) checkers (\(change.build.count) new, \(core.entries.count - change.build.count) kept)"
        )
        // A reload that changes the LVS globals (sync daemons, timeouts, groups) re-reads the table; otherwise only
        // the changed virtual servers are written.
        let globalsSame =
            previousGlobals?.lvsSyncDaemon == globals.lvsSyncDaemon
            && previousGlobals?.lvsTimeouts == globals.lvsTimeouts
            && previousGroups == lvs.virtualServerGroups
        // `lvs_flush`: at the daemon's start only (keepalived: not on a reload; a restarted worker keeps the rules).
        if !isReload, configuration.savedState == nil, globals.lvsFlush { ipvs.removeForeignRulesAtNextSync() }
        ipvs.sysctls = [
            "sloppy_tcp": globals.lvsSloppyTCP, "sloppy_sctp": globals.lvsSloppySCTP,
        ].compactMapValues { $0 }
        // A worker's first configuration: the rules go into the kernel before the first check starts, as keepalived
        // adds its services before it schedules a checker. Checks running meanwhile would slow the programming (on a
        // loaded or emulated host, each connect is a good part of a millisecond of the same loop) for verdicts
        // the rules were not there to take. Time stands still for the checks until then (`releaseChecks`).
        if !isReload { checksHeldSince = now }
        sink.progress()
        ipvs.configure(
            keys: lvs.virtualServers.map { IPVSDesiredState.serviceKeys(of: $0, in: lvs) }, retiring: previousOwned,
            repairInterval: globals.ipvsRepairInterval ?? GlobalDefs.defaultIPVSRepairInterval,
            changed: isReload && globalsSame ? change.changed : nil)
        // The probes, the report and the statistics: on a reload at once; on a first configuration once its rules are
        // in the kernel, since no check runs before (a report of a large farm and its probes take a while of the same
        // loop on a slow machine, and the watchdog then hears of real servers whose rules are there).
        let build = change.build
        let finish = { [self] in
            buildRunners(build, lvs: lvs, context: context)
            // The virtual servers' indices are this configuration's now: the watchdog gets the whole report.
            wholeReportDue = true
            sendReport()
            scheduleStatistics()
            // The configuration may name services and real servers differently: the next reading reads everything.
            trafficReader.forget()
            trafficReader.start()
        }
        if isReload {
            finish()
            runDueChecks()
        } else {
            pendingStart = finish
            ipvs.afterSync { [self] in
                finishStart()
                releaseChecks()
            }
        }
    }

    /// Runs what a first configuration left for after its rules were written (`apply`): at the end of the first full
    /// sync, or before a reload that comes sooner.
    private func finishStart() {
        guard let pending = pendingStart else { return }
        pendingStart = nil
        pending()
    }

    /// Builds the checkers' runners of the real servers `tokens` name (`CheckerCore.Change.build`).
    private func buildRunners(_ tokens: [Int], lvs: LVSConfig, context: ProbeContext) {
        runners.build(
            tokens, core: core, lvs: lvs, make: { makeProbe($0, $1, $2, context) }, progress: sink.progress)
    }

    public func afterApply(_ body: @escaping @Sendable () -> Void) {
        loop.preconditionInEventLoop()
        ipvs.afterSync(body)
    }

    /// The first programming is over (or IPVS is not there to program): the held checks start, each as much later
    /// as it was held.
    private func releaseChecks() {
        guard let since = checksHeldSince else { return }
        checksHeldSince = nil
        core.shiftChecks(by: now - since)
        runDueChecks()
    }

    /// FILE_CHECK's `track_file`s with `init_file`: written when missing, or with `overwrite` at the daemon's start
    /// (not at a reload, nor when a restarted worker takes over), before the first check reads them.
    private func initializeTrackFiles(_ trackFiles: [Config.TrackFile], lvs: LVSConfig, isStart: Bool) {
        var used = Set<String>()
        for server in lvs.virtualServers {
            for real in server.realServers {
                for checker in real.checkers {
                    if case .file(let check) = checker.kind { used.insert(check.trackFile) }
                }
            }
        }
        for file in trackFiles where used.contains(file.name) {
            guard let initial = file.initFile, let path = file.file else { continue }
            if !FileContents.initializeTrackFile(path, value: initial.value, overwrite: initial.overwrite && isStart) {
                logger.error("track_file \(file.name): cannot write init_file \(path)")
            }
        }
    }

    // MARK: Checks

    private func runDueChecks() {
        guard !stopped, checksHeldSince == nil else { return }
        let limit = min(inFlightLimit - core.scheduler.inFlight, Self.startsPerTurn)
        if limit > 0 {
            for (count, (ticket, _)) in core.due(now: now, slack: Self.slack, limit: limit).enumerated() {
                // A connect to a nearby real server runs its handshake inside the call: on a starved machine a few
                // dozen of them can take as long as a heartbeat.
                if count % 16 == 15 { sink.progress() }
                guard let runner = runners[ticket.token, ticket.checker] else {
                    completed(ticket, .notRun("no probe"))
                    continue
                }
                switch runner {
                case .connect(let plan):
                    loop.connector.start(plan, .ticket(ticket))
                case .probe(let box):
                    box.probe.run(on: loop).whenComplete { [self] result in
                        switch result {
                        case .success(let outcome): completed(ticket, outcome)
                        case .failure(let error): completed(ticket, .failure("\(error)"))
                        }
                    }
                }
            }
        }
        scheduleWake()
    }

    private func scheduleWake() {
        // At the limit, the next completion starts the next check; otherwise wake when one is due.
        guard core.scheduler.inFlight < inFlightLimit, let next = core.nextWakeup else {
            if let wake { loop.cancel(wake.timer) }
            wake = nil
            return
        }
        if let wake {
            if wake.at == next { return }
            loop.cancel(wake.timer)
        }
        let deadline = UInt64(max(0, HealthScheduler.nanoseconds(next)))
        wake = (
            next,
            loop.at(deadline) { [self] in
                wake = nil
                runDueChecks()
            }
        )
    }

    private func completed(_ ticket: CheckTicket, _ outcome: ProbeOutcome) {
        guard !stopped else { return }
        // Every outcome is work done, whichever probe and path brought it (a batch of connects harvested, a run of
        // timeouts), and its state change may be logged and reported: on a starved machine a few of them can take as
        // long as a heartbeat, and the watchdog must see them as progress.
        sink.progress()
        let wasAtLimit = core.scheduler.inFlight >= inFlightLimit
        if case .failure(let reason) = outcome { logger.debug("check failed: \(reason)") }
        let update = core.completed(ticket, outcome, now: now)
        handle(update)
        if wasAtLimit {
            runDueChecks()
        } else {
            scheduleWake()
        }
    }

    private func handle(_ update: CheckerCore.Update) {
        for event in update.events {
            // Each one logged (and mailed, and run as a notify script): progress, however slow the log.
            defer { sink.progress() }
            switch event {
            case .realServer(let virtualIndex, let realIndex, let up, let reason):
                let server = core.lvs.virtualServers[virtualIndex]
                notifications.realServer(server.realServers[realIndex], of: server, up: up, reason: reason)
            case .quorum(let virtualIndex, let met, let liveWeight):
                notifications.quorum(core.lvs.virtualServers[virtualIndex], met: met, liveWeight: liveWeight)
            case .checker(let index, let checker, let passing):
                let entry = core.entries[index]
                let server = core.lvs.virtualServers[entry.virtualServer]
                let real = server.realServers[entry.realServer]
                notifications.checker(
                    real.checkers[checker], of: real, of: server, passing: passing,
                    realServerUp: core.scheduler.servers[index].isUp)
            case .checkFailed(let entry, _, let reason, let attempt, let fall):
                let entry = core.entries[entry]
                let server = core.lvs.virtualServers[entry.virtualServer]
                notifications.checkFailed(
                    server.realServers[entry.realServer], of: server, reason: reason, attempt: attempt, fall: fall)
            case .suspension(let entry, let suspended):
                logger.info(
                    "checks of \(core.identity(ofEntry: entry)) \(suspended ? "suspended (address not held by a VRRP MASTER)" : "resumed")"
                )
            }
        }
        if update.syncDaemonsChanged { ipvs.updateSyncDaemons() }
        if !update.dirty.isEmpty {
            dirty.formUnion(update.dirty)
            // Every outcome of this turn first, then one write per virtual server.
            if !flushQueued {
                flushQueued = true
                loop.later { [self] in
                    flushQueued = false
                    let changed = dirty
                    dirty = []
                    // Hundreds of services changing at once (a switch port down) are hundreds of writes: work
                    // done, which the watchdog must see as progress.
                    for index in changed.sorted() {
                        ipvs.update(virtualServer: index)
                        sink.progress()
                    }
                }
            }
        }
        if update.report {
            if update.reported.isEmpty { wholeReportDue = true }
            reportedServers.formUnion(update.reported)
            reportSoon()
        }
    }

    // MARK: ha_suspend and sync daemons

    public func peerStateChanged(_ state: WorkerState) {
        guard applied != nil, !stopped else { return }
        handle(core.peerStateChanged(state))
        runDueChecks()
    }

    // MARK: BFD_CHECK

    public func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64) {
        guard applied != nil, !stopped else { return }
        handle(core.bfdSessionsReceived(message, at: receivedAt))
    }

    // MARK: Reports

    private func reportSoon() {
        guard reportTimer == nil, !stopped else { return }
        let deadline = loop.turnTime + UInt64(HealthScheduler.nanoseconds(Self.reportInterval))
        reportTimer = loop.at(deadline) { [self] in
            reportTimer = nil
            sendReport()
        }
    }

    private func sendReport() {
        if let reportTimer { loop.cancel(reportTimer) }
        reportTimer = nil
        // Not before a first configuration's rules are written: `finishStart` sends the first report then (a peer's
        // state arriving meanwhile asks for one too).
        guard pendingStart == nil else { return }
        let services = ipvs.ownedServices
        let servicesChanged = services != reportedIPVSServices
        if let reportChange = sink.reportChange, !wholeReportDue {
            guard !reportedServers.isEmpty || servicesChanged else { return }
            reportChange(
                core.reportChange(virtualServers: reportedServers, ipvsServices: servicesChanged ? services : nil))
        } else {
            sink.report(core.report(ipvsServices: services, progress: sink.progress))
            wholeReportDue = false
        }
        reportedServers = []
        reportedIPVSServices = services
        // Encoding and sending the report of a large farm takes a while of its own.
        sink.progress()
    }

    private func scheduleStatistics() {
        guard statisticsTimer == nil, !stopped else { return }
        let deadline = loop.turnTime + UInt64(HealthScheduler.nanoseconds(Self.statisticsInterval))
        statisticsTimer = loop.at(deadline) { [self] in
            statisticsTimer = nil
            sink.statistics(currentStatistics())
            scheduleStatistics()
        }
    }

    /// The counters and latencies `vigilctl status` shows.
    func currentStatistics() -> CheckerStatistics {
        let now = now
        var result = CheckerStatistics()
        let counters = core.counters
        result.checksStarted = counters.started
        result.checksSucceeded = counters.succeeded
        result.checksFailed = counters.failed
        result.checksNotRun = counters.notRun
        result.inFlight = core.scheduler.inFlight
        result.inFlightLimit = inFlightLimit
        let window = Double(HealthScheduler.nanoseconds(core.durations.window)) / 1e9
        let finished = core.durations.recentCount(now: now)
        result.checksPerSecond = finished > 0 ? Double(finished) / (window * 1.5) : 0
        func milliseconds(_ value: Duration?) -> Double? { value.map { Double(HealthScheduler.nanoseconds($0)) / 1e6 } }
        result.latenessP50Milliseconds = milliseconds(core.lateness.quantile(0.5, now: now))
        result.latenessP99Milliseconds = milliseconds(core.lateness.quantile(0.99, now: now))
        result.durationP50Milliseconds = milliseconds(core.durations.quantile(0.5, now: now))
        result.durationP99Milliseconds = milliseconds(core.durations.quantile(0.99, now: now))
        result.latenessBuckets = core.lateness.total
        result.latenessSumSeconds = Double(HealthScheduler.nanoseconds(core.lateness.sum)) / 1e9
        result.durationBuckets = core.durations.total
        result.durationSumSeconds = Double(HealthScheduler.nanoseconds(core.durations.sum)) / 1e9
        result.latencyBucketBounds = LatencyHistogram.bounds.map { Double($0) / 1e9 }
        result.ipvsAvailable = ipvs.isAvailable
        result.ipvsWrites = ipvs.counters.writes
        result.ipvsFailures = ipvs.counters.failures
        result.ipvsFullReads = ipvs.counters.fullReads
        result.ipvsVerifyDumps = ipvs.counters.verifyDumps
        result.ipvsRepairs = ipvs.counters.repairs
        result.ipvsCounterDumps = trafficReader.destinationDumps
        result.ipvsCountersKept = trafficReader.readingsKept
        return result
    }

    public func dump() -> String {
        var lines: [String] = ["ipvs \(ipvs.isAvailable ? "available" : "unavailable")"]
        for (index, server) in core.lvs.virtualServers.enumerated() {
            lines.append(
                "virtual_server \(VirtualServerNames.name(server.address)) quorum \(core.quorumMet[index] == true ? "up" : "down") live_weight \(core.liveWeight(ofVirtualServer: index))"
            )
            for entryIndex in core.entriesOf[index] {
                let state = core.scheduler.servers[entryIndex]
                let real = server.realServers[core.entries[entryIndex].realServer]
                lines.append(
                    "  real_server \(real.configName) \(state.isUp ? "up" : "down") weight \(core.weight(ofEntry: entryIndex))\(state.suspended ? " suspended" : "")"
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

    /// `SIGUSR2`: `name value` lines.
    public func statistics() -> String {
        let stats = currentStatistics()
        var lines = [
            "checks_run \(stats.checksSucceeded + stats.checksFailed)", "checks_failed \(stats.checksFailed)",
            "checks_not_run \(stats.checksNotRun)", "checks_in_flight \(stats.inFlight)",
            "ipvs_writes \(stats.ipvsWrites)", "ipvs_write_failures \(stats.ipvsFailures)",
            "ipvs_full_reads \(stats.ipvsFullReads)", "ipvs_verify_dumps \(stats.ipvsVerifyDumps)",
            "ipvs_repairs \(stats.ipvsRepairs)", "ipvs_counter_dumps \(stats.ipvsCounterDumps)",
            "ipvs_counters_kept \(stats.ipvsCountersKept)",
        ]
        if let p50 = stats.latenessP50Milliseconds, let p99 = stats.latenessP99Milliseconds {
            lines += ["lateness_p50_ms \(fixedPoint(p50, digits: 2))", "lateness_p99_ms \(fixedPoint(p99, digits: 2))"]
        }
        for (index, count) in core.counters.perKind.enumerated() where count.run + count.notRun > 0 {
            lines.append("checks_run_\(HealthScheduler.keywords[index]) \(count.run)")
            lines.append("checks_failed_\(HealthScheduler.keywords[index]) \(count.failed)")
        }
        lines += core.bfd.statisticsLines
        return lines.joined(separator: "\n")
    }

    // MARK: Stop

    /// `omega`: at shutdown, the `notify_down` of every real server that is up and the `quorum_down` of a virtual
    /// server whose quorum is met, as keepalived runs them.
    private func runOmegaScripts() -> [EventLoopFuture<Void>] {
        guard !stopped else { return [] }
        var running: [EventLoopFuture<Void>] = []
        for (index, server) in core.lvs.virtualServers.enumerated() where server.omega {
            for entryIndex in core.entriesOf[index] where core.scheduler.servers[entryIndex].isUp {
                if let script = notifications.run(server.realServers[core.entries[entryIndex].realServer].notifyDown) {
                    running.append(script)
                }
            }
            if core.quorumMet[index] == true, let script = notifications.run(server.quorumDown) {
                running.append(script)
            }
        }
        return running
    }

    /// BGP anycast's routes are the watchdog's, which withdraws them first when vigild stops. When the watchdog was
    /// killed, nothing else would: the BGP daemon would go on announcing a director whose IPVS rules this worker is
    /// about to remove. So they go here, before the rules, as at a stop.
    public func watchdogGone() {
        guard let (table, protocolNumber) = announcements.withLock({ $0 }) else { return }
        do {
            let socket = try RouteNetlinkSocket()
            for route in try socket.routes(table: table, protocolNumber: protocolNumber) {
                try socket.deleteRoute(route)
                logger.notice("anycast: \(route.destination) withdrawn (the watchdog is gone)")
            }
        } catch {
            logger.error("anycast: cannot withdraw the routes in table \(table): \(error)")
        }
    }

    /// Stops checking, removes the rules when `release`, and calls `done` once the `omega` scripts ended (at most
    /// `omegaWait` later).
    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        let omega = runOmegaScripts()
        stopped = true
        trafficReader.stop()
        if let wake { loop.cancel(wake.timer) }
        if release { ipvs.removeAll(flush: core.globals.lvsFlushOnStop == .all) } else { ipvs.stop() }
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

/// A SwiftNIO event loop group started on first use: only SSL_GET checks and SMTP alerts need one.
final class LazyGroup: Sendable {
    private let storage = Mutex<MultiThreadedEventLoopGroup?>(nil)

    init() {}

    var group: MultiThreadedEventLoopGroup {
        storage.withLock { group in
            if let group { return group }
            let made = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            group = made
            return made
        }
    }
}
