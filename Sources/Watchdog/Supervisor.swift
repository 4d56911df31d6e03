import Config
import Logging
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// One supervised worker role and what the watchdog knows of its current and past incarnations.
struct WorkerSlot {
    let role: WorkerRole
    var pid: pid_t?
    /// The process's resident memory (KiB), read at each ping round (`tick`).
    var residentKiB: Int?
    var socket: MessageSocket?
    var startedAt: Int64 = 0
    var helloAt: Int64?
    var lastHeard: Int64 = 0
    var lastPong: Int64?
    var pingSequence: UInt64 = 0
    var lastPing: Int64?
    /// Pings sent and not answered yet, oldest first: (sequence, when sent).
    var unanswered: [(sequence: UInt64, sentAt: Int64)] = []
    /// The last answer: the engine's progress and loop lag.
    var lastHeartbeat: WorkerHeartbeat?
    /// Why the watchdog last killed this role's worker.
    var lastKillReason: String?
    var restartCount = 0
    var quickDeaths = 0
    var diedAt: Int64?
    var restartAt: Int64?
    var lastRestartNanoseconds: Int64?
    var heartbeatsSent = 0
    var heartbeatsAnswered = 0
    var hungKills = 0
    /// The last state the worker reported; survives restarts and goes back in the next `configure`.
    var state: WorkerState?
    /// No longer needed after a reload: not restarted when it exits.
    var retired = false
    /// Killed for hanging: the last moment it was known to do its work (its last answer, or its engine's last
    /// progress), which is what a successor resumes from, not the moment of its death.
    var killedAliveAt: Int64?
    /// Before its hello: the process's last activity read from `/proc`, and when it last showed progress.
    var startupProgress: StartupProgress?
    var startupProgressAt: Int64 = 0
    /// After the hello: the scheduling of its main thread and its engine's loop thread, read at each round of pings,
    /// through their `/proc` files held open while the process runs.
    var activity = ActivityLedger()
    var answeringReader: ThreadActivityReader?
    var loopReader: ThreadActivityReader?
    /// Starved (silent past the limit, not hung) now: said once per episode.
    var starved = false
    /// How many times it was found starved and left to run.
    var starvedEpisodes = 0
    /// The configurations sent to the current worker (whole or as a change), and the last one: a reload sends the
    /// change from it.
    var configurationsSent: UInt64 = 0
    var lastConfiguration: WorkerConfiguration?
    /// The current worker has sent a state report (it applied its configuration): its death is not a crash loop.
    var reportedState = false
    /// The checker worker's last statistics.
    var checkerStatistics: CheckerStatistics?
    /// The checker worker's last read of the kernel's IPVS counters.
    var ipvsStatistics: IPVSStatisticsReport?

    init(role: WorkerRole) {
        self.role = role
    }

    /// Thread `thread`'s scheduling now, read through `reader`, which is opened again when it names another thread
    /// (a new process, or a loop thread named for the first time).
    mutating func readActivity(
        _ reader: WritableKeyPath<WorkerSlot, ThreadActivityReader?>, pid: pid_t, thread: Int32
    ) -> (thread: Int32, ThreadActivity)? {
        if self[keyPath: reader]?.pid != pid || self[keyPath: reader]?.thread != thread {
            self[keyPath: reader] = ThreadActivityReader(pid: pid, thread: thread)
        }
        return self[keyPath: reader]?.read().map { (thread, $0) }
    }
}

/// The watchdog: spawns the workers, answers their heartbeats, restarts them, handles signals and the
/// control socket. A single-threaded poll loop, like keepalived's scheduler.
final class Supervisor {
    let options: DaemonOptions
    let hostName: String
    let logger = Logger(label: "watchdog")
    let policy: SupervisionPolicy
    let heartbeat: HeartbeatPolicy
    var loaded: LoadedConfig
    var slots: [WorkerRole: WorkerSlot] = [:]
    var signals: Int32 = -1
    /// The control socket and its connections (nil once stopping).
    var control: ControlServer?
    var stopping = false
    var stopDeadline: Int64 = 0
    var exitStatus: Int32 = 0
    var nextHeartbeat: Int64 = 0
    /// When the processes' resident sizes are read again (`residentPeriod`).
    var nextResidentRead: Int64 = 0
    let startedAt = monotonicNanoseconds()
    var malformedMessages = 0
    var lastReload: ReloadReport?
    /// A load or reload happened and this process has not yet given back what it touched for it (`MemoryTrim`).
    var trimPending = true
    /// What the pending trim follows, for its log line.
    var trimOccasion = "after the load"
    /// When the watchdog trims once more after the last load's trim (`MemoryTrim.trimSettled`); nil: not armed.
    var settledTrimAt: Int64?
    /// When the watchdog gives back what answering operators ran (`trimAfterOperatorQueries`); nil: not armed.
    var operatorQueryTrimAt: Int64?
    /// The metrics listener's responses counted so far (`MetricsServer.responsesSent`).
    var metricsResponsesSeen: UInt64 = 0
    /// What the last load or reload leaves to free (`retireAfterLoad`); freed in `trimAfterLoad`, once every worker
    /// has its configuration.
    var loadLeftovers = LoadLeftovers()
    /// The watchdog's own resident memory (KiB), read at each ping round (`tick`).
    var residentKiB: Int?
    /// A configuration is being read (`loadCandidate`): a reload asked meanwhile waits for it (`reloadAgain`).
    var reading = false
    /// A reload was asked while a configuration was being read: it runs once that one is over.
    var reloadAgain = false
    /// SIGTERM/SIGINT came while a configuration was read for a request: the stop begins once it is answered.
    var stopAsked = false
    var nextCommandID: UInt32 = 1
    /// A `SIGUSR1` dump waiting for the workers' answers: command ids still due, their texts, and
    /// when to write without the stragglers.
    /// Dumps waiting for the workers' answers, by kind (true: `SIGUSR1` data, false: `SIGUSR2` statistics).
    var pendingDumps: [Bool: (waiting: [UInt32: WorkerRole], sections: [String], deadline: Int64)] = [:]
    /// The metrics listener, systemd's notifications, recent events (Supervisor+Operators.swift).
    var operators = OperatorInterfaces()
    /// The configuration as `enable_script_security` lets it run, and the one it was made from
    /// (Supervisor+Scripts.swift).
    var scriptAudit: (source: KeepalivedConfig, report: ScriptSecurityReport)?
    /// The BFD worker's direct channels to its trackers, made once, before the first worker starts.
    var bfdChannels: BFDChannels?
    /// `reload_time_file`'s scheduled reload (Supervisor+Reloads.swift).
    var reloadTime = ReloadTimeMonitor()
    /// Reloads applied, numbering `config_save_dir`'s files.
    var reloadsSaved = 0
    /// `disable_local_igmp` set the kernel's setting to 0 at start: 1 goes back at the end (Supervisor+Sysctl.swift).
    var restoreLocalIGMP = false
    /// BGP anycast's routes and their gate (Supervisor+Anycast.swift); nil without `announce_table`.
    var anycast: AnycastRoutes?
    /// The IPVS rules of the start, written while the checker worker starts (Supervisor+StartRules.swift).
    var startRules: StartRulesState

    init(options: DaemonOptions, hostName: String, loaded: LoadedConfig, startRules: StartRulesProgram? = nil) {
        self.options = options
        self.hostName = hostName
        self.loaded = loaded
        self.startRules = StartRulesState(program: startRules)
        self.heartbeat = HeartbeatPolicy(interval: options.heartbeatInterval)
        self.policy = SupervisionPolicy()
    }

    /// Runs until stopped; returns the exit status.
    func run() throws(WatchdogError) -> Int32 {
        signals = try Syscalls.signalDescriptor([SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGCHLD])
        // After the signals are blocked (the listener's thread inherits the mask), before the control socket.
        try startOperatorInterfaces()
        control = try ControlServer(path: options.controlSocket, logger: logger)
        bfdChannels = try BFDChannels.open()
        // The rules as soon as nothing can refuse the start any more (a `startup_script` runs first: it may prepare
        // what they need), on a thread while the workers are spawned; the checker's configuration waits for them.
        let scriptFirst = loaded.config.globalDefs.startupScript != nil
        if !scriptFirst { beginStartRules() }
        logger.info("vigild \(vigilVersion) started (pid \(getpid())), configuration \(options.configFile)")
        // The configuration has been read (keepalived removes its reload file at this point too).
        if let path = reloadFilePath { unlink(path) }
        disableLocalIGMP()
        runStartupScript()
        startAnycast()
        if scriptFirst { beginStartRules() }
        // Every worker spawned first, then their configurations built and sent while they exec.
        for role in neededRoles() {
            slots[role] = WorkerSlot(role: role)
            start(role, sendingConfiguration: false)
        }
        for role in neededRoles() where slots[role]?.pid != nil { sendConfiguration(to: role) }
        retireAfterLoad()
        if slots.isEmpty {
            logger.warning("the configuration has no vrrp_instance and no virtual_server: no worker to run")
        }
        nextHeartbeat = monotonicNanoseconds() + heartbeat.interval.nanoseconds
        while true {
            if stopping && slots.values.allSatisfy({ $0.pid == nil }) { break }
            turn(servingControl: true)
            trimAfterLoad()
            if reloadAgain && !stopping {
                reloadAgain = false
                _ = reload()
            }
        }
        finish()
        return exitStatus
    }

    /// One turn of the watchdog's loop: waits for a worker's message, a signal, the next timer, a control request
    /// (`servingControl`) or `wake` (a configuration read on a thread of its own), then does what came: workers'
    /// messages, signals, heartbeats and their verdicts, restarts, systemd's pings.
    /// - Parameter servingControl: false while a configuration is read for a control request being answered: the
    ///   control socket waits, and a SIGTERM only sets `stopAsked` (the stop begins once the request is answered).
    func turn(servingControl: Bool, wake: Int32? = nil) {
        let now = monotonicNanoseconds()
        var wakeAt = nextHeartbeat
        for slot in slots.values { if let at = slot.restartAt { wakeAt = min(wakeAt, at) } }
        if stopping { wakeAt = min(wakeAt, stopDeadline) }
        if servingControl, let at = control?.wakeAt { wakeAt = min(wakeAt, at) }
        if let at = operatorInterfacesWakeAt(now: now) { wakeAt = min(wakeAt, at) }
        // Not while a configuration is read: `tick` holds the scheduled reload back until then, and a due one would
        // wake the loop at once, again and again.
        if !reading, !stopping, let at = reloadTimeWakeAt(now: now) { wakeAt = min(wakeAt, at) }
        if !stopping, let at = anycastWakeAt { wakeAt = min(wakeAt, at) }
        if !stopping, let at = settledTrimAt { wakeAt = min(wakeAt, at) }
        if !stopping, let at = operatorQueryTrimAt { wakeAt = min(wakeAt, at) }
        if let at = startRules.deadline { wakeAt = min(wakeAt, at) }
        let timeout = Int32(clamping: max(0, (wakeAt - now + 999_999) / 1_000_000))

        var descriptors = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        let roles = Array(slots.keys).filter { slots[$0]?.socket != nil }
        for role in roles {
            let socket = slots[role]!.socket!
            let events = Int16(POLLIN) | (socket.hasOutgoing ? Int16(POLLOUT) : 0)
            descriptors.append(pollfd(fd: socket.fd, events: events, revents: 0))
        }
        if let wake { descriptors.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        if let run = startRules.run {
            descriptors.append(pollfd(fd: run.wake.reader, events: Int16(POLLIN), revents: 0))
        }
        let controlStart = descriptors.count
        if servingControl { descriptors += control?.descriptors(now: now) ?? [] }
        Syscalls.poll(&descriptors, timeoutMilliseconds: timeout)

        for (offset, role) in roles.enumerated() where descriptors[1 + offset].revents != 0 {
            if descriptors[1 + offset].revents & Int16(POLLOUT) != 0 { flush(role) }
            if descriptors[1 + offset].revents & ~Int16(POLLOUT) != 0 { drain(role) }
        }
        if servingControl {
            let answered =
                control?.handle(descriptors[controlStart...], now: monotonicNanoseconds()) { answer($0) } ?? []
            if answered.contains(.stop) { beginStop() }
        }
        collectStartRules()
        handleSignals()
        if servingControl && stopAsked && !stopping { beginStop() }
        tick()
        operatorInterfacesTick()
    }

    /// Called once the workers have been sent their configurations after a load or reload: the parse tree and the
    /// configuration a reload replaced are set aside, and freed in `trimAfterLoad`, whose trim gives their pages back
    /// (issue 13). What an earlier load left and no trim has freed yet (a worker not back since) goes now: at most one
    /// load's waits.
    ///
    /// The tree (every statement with its file and line, 8.6 MiB of the watchdog's heap for 1,000 virtual servers × 10
    /// real servers) only serves `config_save_dir`, which writes the configuration as read at each reload: with that
    /// keyword it stays. Freeing it is not free: for 100 × 10 it is 12,800 nodes, 9 million instructions of the 45
    /// million of a `vigild -t` of that file (callgrind), and ten times that for 1,000 × 10. Done before the spawn it
    /// delayed the workers' start, done before a reload's change is sent the change; done after, it runs while the
    /// workers exec and decode, on the other CPU.
    func retireAfterLoad(replacing previous: KeepalivedConfig? = nil) {
        loadLeftovers = LoadLeftovers()
        if let previous { loadLeftovers.configurations.append(previous) }
        guard loaded.config.globalDefs.configSaveDir == nil, !loaded.tree.nodes.isEmpty else { return }
        loadLeftovers.trees.append(loaded.tree.nodes)
        loaded.tree.nodes = []
    }

    /// Once every worker has said hello and taken its whole configuration off its queue after a load or reload, the
    /// parse and the encoding are over: what the load left is freed, and the free heap and the start-up code go back
    /// to the kernel (`MemoryTrim`).
    func trimAfterLoad() {
        guard trimPending, !stopping, startRules.run == nil,
            slots.values.allSatisfy({ $0.retired || ($0.helloAt != nil && $0.socket?.hasOutgoing == false) })
        else { return }
        trimPending = false
        loadLeftovers = LoadLeftovers()
        // Not inside the log call: a log call builds its message only at a level that is written.
        let trimmed = MemoryTrim.trim()
        logger.info("memory given back \(trimOccasion): \(trimmed)")
        trimOccasion = "after the load"
        settledTrimAt = monotonicNanoseconds() + MemoryTrim.settleDelay
    }

    // MARK: Workers

    func neededRoles() -> [WorkerRole] {
        let config = loaded.config
        var roles: [WorkerRole] = []
        if InterfaceCheck.runsVRRP(config, options) { roles.append(.vrrp) }
        // `lvs_sync_daemon` alone needs the checker worker too: it runs the IPVS sync daemon.
        let lvsWork = !config.lvs.virtualServers.isEmpty || config.globalDefs.lvsSyncDaemon != nil
        if options.checkOnly || (!options.vrrpOnly && lvsWork) { roles.append(.checker) }
        // keepalived runs BFD beside -P and -C; -B turns it off.
        if !options.noBFD && !config.bfd.instances.isEmpty { roles.append(.bfd) }
        return roles
    }

    func pidFilePath(_ role: WorkerRole) -> String {
        switch role {
        case .vrrp: options.vrrpPidFile
        case .checker: options.checkersPidFile
        case .bfd: options.bfdPidFile
        }
    }

    func workerArguments(_ role: WorkerRole) -> [String] {
        var line = WorkerCommandLine(role: role, parentPID: getpid())
        line.logFacility = options.logFacility
        line.heartbeatMilliseconds = Int(options.heartbeatInterval.nanoseconds / 1_000_000)
        line.logConsole = options.logConsole
        line.logDetail = options.logDetail
        line.dontReleaseVRRP = options.dontReleaseVRRP
        line.dontReleaseIPVS = options.dontReleaseIPVS
        let settings = WorkerProcessSettings(
            role: role, globals: loaded.config.globalDefs, realtimeByDefault: !options.noRealtime)
        if !settings.isDefault { line.processSettings = settings }
        line.peerChannels = bfdChannels?.spawnPlan(for: role).channels ?? [:]
        return line.arguments
    }

    /// Spawns a worker for `role` (re-executing this binary) with one end of a fresh socketpair as fd 3, and sends it
    /// its configuration unless told not to (the caller sends it once the other workers are spawned too).
    func start(_ role: WorkerRole, sendingConfiguration: Bool = true) {
        guard var slot = slots[role] else { return }
        slot.restartAt = nil
        do {
            let (ours, theirs) = try MessageSocket.pair()
            let high = try Syscalls.duplicateHigh(theirs)
            close(theirs)
            defer { close(high) }
            let pid: pid_t
            do {
                let channels = bfdChannels?.spawnPlan(for: role).inherit ?? []
                pid = try Syscalls.spawn("/proc/self/exe", workerArguments(role), inherit: [(high, 3)] + channels)
            } catch {
                close(ours)
                throw error
            }
            slot.pid = pid
            slot.socket = MessageSocket(fd: ours)
            slot.startedAt = monotonicNanoseconds()
            slot.lastHeard = slot.startedAt
            slot.startupProgress = nil
            slot.configurationsSent = 0
            slot.lastConfiguration = nil
            slot.startupProgressAt = slot.startedAt
            slot.helloAt = nil
            slot.lastPong = nil
            slot.unanswered = []
            slot.lastHeartbeat = nil
            slot.activity = ActivityLedger()
            slot.answeringReader = nil
            slot.loopReader = nil
            slot.starved = false
            slot.reportedState = false
            slot.checkerStatistics = nil
            slot.ipvsStatistics = nil
            WorkerPidFile.write(pidFilePath(role), pid: pid)
            logger.debug("started the \(role) worker (pid \(pid))")
        } catch {
            logger.error("cannot start the \(role) worker: \(error); retrying")
            slot.quickDeaths += 1
            slot.restartAt =
                monotonicNanoseconds()
                + max(policy.backoff(afterQuickDeaths: slot.quickDeaths), .milliseconds(100)).nanoseconds
        }
        slots[role] = slot
        // The configuration goes out now, not at the hello: it is built and encoded (a 1,000 × 10 farm is megabytes)
        // while the new process execs and starts its runtime, on the other CPU, and waits in the socket for it. The
        // worker reads it after its hello; one that says hello in another protocol is killed before it reads a thing.
        if sendingConfiguration, slot.pid != nil, slot.restartAt == nil { sendConfiguration(to: role) }
    }

    func configuration(for role: WorkerRole) -> WorkerConfiguration {
        let config = securedConfig()
        switch role {
        case .vrrp:
            return WorkerConfiguration(
                globalDefs: config.globalDefs, vrrp: config.vrrp, releaseOnStop: !options.dontReleaseVRRP,
                savedState: slots[role]?.state, bfd: config.bfd, bfdSessions: bfdSessions)
        case .checker:
            // The VRRP part too: FILE_CHECK reads its `track_file`s there, ha_suspend the instances' addresses.
            return WorkerConfiguration(
                globalDefs: config.globalDefs, vrrp: config.vrrp, lvs: config.lvs,
                releaseOnStop: !options.dontReleaseIPVS,
                savedState: slots[role]?.state, bfd: config.bfd, bfdSessions: bfdSessions)
        case .bfd:
            return WorkerConfiguration(globalDefs: config.globalDefs, savedState: slots[role]?.state, bfd: config.bfd)
        }
    }

    /// The BFD worker's last report of its sessions, for a tracker's configuration (nil before the first: the
    /// trackers then take every session as down, as keepalived does).
    var bfdSessions: [BFDSessionReport]? { slots[.bfd]?.state?.bfdSessions }

    /// Sends `role`'s worker the current configuration: whole to a worker that has none yet, else as the change from
    /// the last one it was sent (a reload of one weight among 10,000 real servers sends one virtual server).
    func sendConfiguration(to role: WorkerRole) {
        guard let slot = slots[role], slot.socket != nil else { return }
        // The rules of the start are being written: the checker's configuration waits for them (`collectStartRules`).
        if role == .checker {
            guard startRules.run == nil else { return }
            startRules.handedOver = true
            startRules.release = nil
        }
        let configuration = configuration(for: role)
        if let last = slot.lastConfiguration {
            let change = WorkerConfigurationChange(sequence: slot.configurationsSent, from: last, to: configuration)
            logger.debug("sending the \(role) worker a change: \(change.sentWhole) virtual servers whole")
            send(.reconfigure(change), to: role)
        } else {
            send(.configure(configuration), to: role)
            // A whole configuration (a start, or a restarted worker's) is megabytes encoded here: the heap it took goes
            // back once the worker has read it (`trimAfterLoad`), as after a load.
            if !trimPending {
                trimPending = true
                trimOccasion = "after sending the \(role) worker its configuration"
            }
        }
        slots[role]?.configurationsSent += 1
        // The successor of this worker gets `savedState` from the slot, not from here.
        slots[role]?.lastConfiguration = configuration.withoutSavedState
    }

    /// How often the processes' resident sizes are read for the status and the metrics.
    static let residentPeriod = Duration.seconds(2)
    /// Most a worker may leave unread: past it, the worker is not reading at all (a configuration of 10,000 real
    /// servers is a few megabytes), and holding more would only grow the watchdog.
    static let outgoingLimit = 256 << 20

    /// Queues `message` for `role`'s worker; never waits. What the socket buffer does not take at once goes out
    /// from the poll loop when the socket is writable, so a worker that stops reading (SIGSTOP while a large
    /// configuration is on its way) cannot stall the loop that judges it. Pings go ahead of the messages waiting.
    func send(_ message: WorkerMessage, to role: WorkerRole) {
        guard let socket = slots[role]?.socket else { return }
        do {
            try socket.enqueue(message, ahead: message.goesAhead)
        } catch {
            logger.warning("cannot send to the \(role) worker: \(error)")
            return
        }
        if socket.outgoingBytes > Self.outgoingLimit, let pid = slots[role]?.pid {
            let reason = "left \(socket.outgoingBytes >> 20) MiB of messages unread"
            logger.error("\(role) worker (pid \(pid)) \(reason); killing it")
            recordEvent("watchdog", "\(role) worker (pid \(pid)) \(reason); killed")
            slots[role]?.lastKillReason = reason
            kill(pid, SIGKILL)
        }
    }

    /// Sends what is queued for `role`'s worker (its socket became writable).
    func flush(_ role: WorkerRole) {
        guard let socket = slots[role]?.socket, socket.hasOutgoing else { return }
        do {
            try socket.flush()
        } catch {
            logger.warning("cannot send to the \(role) worker: \(error)")
        }
    }

    func drain(_ role: WorkerRole) {
        while let socket = slots[role]?.socket {
            switch socket.receive(WorkerMessage.self) {
            case .message(let message): handle(message, from: role)
            case .malformed(let why):
                malformedMessages += 1
                logger.warning("dropped a malformed message from the \(role) worker: \(why)")
            case .wouldBlock: return
            case .closed:
                // The process is reaped on SIGCHLD; stop polling its socket.
                slots[role]?.socket = nil
                socket.close()
                return
            }
        }
    }

    func handle(_ message: WorkerMessage, from role: WorkerRole) {
        guard var slot = slots[role] else { return }
        let now = monotonicNanoseconds()
        slot.lastHeard = now
        switch message {
        case .hello(let hello):
            guard hello.role == role, hello.protocolVersion == workerProtocolVersion else {
                logger.error(
                    .init(
                        stringLiteral:
                            "the \(role) worker said hello as \(hello.role) with protocol \(hello.protocolVersion) "
                            + "(expected \(workerProtocolVersion)); killing it"))
                if let pid = slot.pid { kill(pid, SIGKILL) }
                break
            }
            slot.helloAt = now
            slot.lastPong = now
            if let diedAt = slot.diedAt {
                let latency = now - diedAt
                slot.lastRestartNanoseconds = latency
                slot.diedAt = nil
                logger.notice(
                    .init(
                        stringLiteral:
                            "\(role) worker restarted (pid \(hello.pid), restart \(slot.restartCount)): hello "
                            + "\(Self.milliseconds(latency)) ms after the previous one died"))
            } else {
                logger.info("\(role) worker running (pid \(hello.pid), vigil \(hello.vigilVersion))")
            }
            slots[role] = slot
            // Sent at the spawn already (`start`); a worker spawned before a configuration was loaded gets it now.
            if slot.configurationsSent == 0 { sendConfiguration(to: role) }
            if role == .checker, let vrrp = slots[.vrrp]?.state { send(.peerState(vrrp), to: .checker) }
            return
        case .pong(let heartbeat):
            slot.lastPong = now
            slot.heartbeatsAnswered += 1
            slot.unanswered.removeAll { $0.sequence <= heartbeat.sequence }
            slot.lastHeartbeat = heartbeat
        case .state(let state):
            slot.state = state
            slot.reportedState = true
            operatorInterfacesReported(role)
            if role == .checker { anycastReported(state) }
            if role == .vrrp, slots[.checker]?.helloAt != nil { send(.peerState(state), to: .checker) }
        case .stateChange(let change):
            // Patches the whole report this worker sent first; one that does not fit it is a bug, counted and logged.
            guard let held = slot.state, let state = change.applied(to: held) else {
                dropMisfit(
                    "a state change", from: role,
                    sent: "\(change.virtualServerCount) virtual servers", held: slot.state?.virtualServers.count)
                break
            }
            slot.state = state
            if role == .checker { anycastReported(state) }
        case .event(let event):
            // The worker logged it already; the watchdog keeps it for the status page and `vigilctl status`.
            logger.debug("\(role) worker: \(event.summary)")
            recordEvent(role.rawValue, event.summary)
        case .checkerStatistics(let statistics):
            slot.checkerStatistics = statistics
        case .ipvsStatistics(let report):
            // A report of changes patches the whole one this worker sent first; one that does not fit is a bug.
            guard let statistics = report.following(slot.ipvsStatistics) else {
                dropMisfit(
                    "IPVS counters", from: role, sent: "\(report.serviceCount) services",
                    held: slot.ipvsStatistics?.services.count)
                break
            }
            slot.ipvsStatistics = statistics
        case .ack(let id, _, let detail) where pendingDumps.values.contains(where: { $0.waiting[id] != nil }):
            let data = pendingDumps[true]?.waiting[id] != nil
            pendingDumps[data]?.waiting[id] = nil
            let section =
                data
                ? "\(role) worker:\n\(detail)"
                : detail.split(separator: "\n").map { "\(role).\($0)" }.joined(separator: "\n")
            pendingDumps[data]?.sections.append(section)
            if pendingDumps[data]?.waiting.isEmpty == true { finishDataDump(data: data) }
        case .ack(let id, let ok, let detail):
            logger.debug("\(role) worker answered command \(id): \(ok ? "ok" : "failed") \(detail)")
        case .configure, .reconfigure, .ping, .command, .peerState:
            logger.warning("the \(role) worker sent a message only the watchdog sends; ignored")
        }
        slots[role] = slot
    }

    /// A report of changes that does not fit the whole report it patches: a bug, counted as malformed and logged.
    private func dropMisfit(_ what: String, from role: WorkerRole, sent: String, held: Int?) {
        malformedMessages += 1
        logger.warning(
            "dropped \(what) from the \(role) worker: it does not fit its last report (\(sent), \(held ?? 0) held)")
    }

    static func milliseconds(_ nanoseconds: Int64) -> String {
        fixedPoint(Double(nanoseconds) / 1e6, digits: 1)
    }

    func reap() {
        while let (pid, exit) = Syscalls.reapChild() {
            guard let role = slots.first(where: { $0.value.pid == pid })?.key, var slot = slots[role] else { continue }
            let now = monotonicNanoseconds()
            slot.socket?.close()
            slot.socket = nil
            slot.pid = nil
            slot.answeringReader = nil
            slot.loopReader = nil
            slot.helloAt = nil
            slot.lastPong = nil
            slot.unanswered = []
            let uptime = Duration.nanoseconds(now - slot.startedAt)
            if stopping || slot.retired {
                logger.info("\(role) worker (pid \(pid)) \(exit)")
                if slot.retired && !stopping {
                    unlink(pidFilePath(role))
                    slots[role] = nil
                    continue
                }
                slots[role] = slot
                continue
            }
            slot.diedAt = now
            slot.restartCount += 1
            if role == .checker { anycastCheckerLost() }
            // What the successor resumes from is as fresh as the last moment this worker was alive.
            slot.state?.aliveAt = slot.killedAliveAt ?? now
            slot.killedAliveAt = nil
            let decision = policy.decide(
                role: role.rawValue, exit: exit, reportedState: slot.reportedState, quickDeaths: &slot.quickDeaths)
            switch decision {
            case .restart(let delay):
                let after = delay == .zero ? "at once" : "in \(delay) (crash loop)"
                logger.warning(
                    .init(
                        stringLiteral:
                            "\(role) worker (pid \(pid)) \(exit) after \(Self.milliseconds(uptime.nanoseconds)) ms; "
                            + "restarting \(after) (restart \(slot.restartCount))"))
                recordEvent("watchdog", "\(role) worker (pid \(pid)) \(exit); restarting \(after)")
                slot.restartAt = now + delay.nanoseconds
                slots[role] = slot
                if delay == .zero { start(role) }
            case .stopDaemon(let reason):
                logger.critical("\(reason)")
                slots[role] = slot
                exitStatus = 1
                beginStop()
            }
        }
    }

    // MARK: Timers

    func tick() {
        let now = monotonicNanoseconds()
        for (role, slot) in slots where !stopping {
            if let at = slot.restartAt, at <= now { start(role) }
        }
        if stopping {
            if now >= stopDeadline {
                for slot in slots.values {
                    if let pid = slot.pid {
                        let wait = loaded.config.globalDefs.childWaitTime.components.seconds
                        logger.error(
                            .init(
                                stringLiteral: "the \(slot.role) worker (pid \(pid)) did not stop within \(wait) s "
                                    + "(child_wait_time); killing it"))
                        kill(pid, SIGKILL)
                    }
                }
                stopDeadline = now + 1_000_000_000
            }
            return
        }
        if !reading { reloadTimeFileTick() }
        anycastTick(now: now)
        if let at = settledTrimAt, now >= at {
            settledTrimAt = nil
            // What the first reports, status and transitions ran once after the load's trim goes back too.
            let trimmed = MemoryTrim.trimSettled()
            logger.info("memory given back once settled: \(trimmed)")
        }
        trimAfterOperatorQueries(now: now)
        for (data, dump) in pendingDumps where now >= dump.deadline {
            for role in dump.waiting.values {
                pendingDumps[data]?.sections.append("\(role) worker: no answer within 1 s")
            }
            finishDataDump(data: data)
        }
        guard now >= nextHeartbeat else { return }
        nextHeartbeat = now + heartbeat.pingPeriod.nanoseconds
        // For `vigilctl status` and the metrics: what `ps` shows, read every `residentPeriod` (and for a worker not
        // read yet), not each time a status is built (the metrics snapshot is built at every turn) nor at each round
        // of pings: reading three /proc files four times a second was a fifth of an idle watchdog's CPU.
        let readAll = now >= nextResidentRead
        if readAll {
            nextResidentRead = now + Self.residentPeriod.nanoseconds
            residentKiB = MemoryTrim.status("VmRSS")
        }
        for (role, slot) in slots where readAll || (slot.pid != nil && slot.residentKiB == nil) {
            slots[role]?.residentKiB = slot.pid.map { MemoryTrim.status("VmRSS", of: "\($0)") }
        }
        // Judge on what the workers could have said by now: read their answers first (this loop may have been
        // busy, say with a reload, while they arrived).
        for role in Array(slots.keys) { drain(role) }
        let judged = monotonicNanoseconds()
        for (role, slot) in slots {
            guard let pid = slot.pid else { continue }
            var startupIdle: Duration?
            if slot.helloAt == nil, let progress = Syscalls.startupProgress(pid) {
                if progress.progressed(since: slot.startupProgress) { slots[role]?.startupProgressAt = judged }
                slots[role]?.startupProgress = progress
                startupIdle = .nanoseconds(judged - (slots[role]?.startupProgressAt ?? judged))
            }
            var answering: ThreadSpan?
            var loop: ThreadSpan?
            var loopSinceLastAnswer: ThreadSpan?
            if slot.helloAt != nil {
                // The main thread answers pings; the heartbeat names the engine's loop thread.
                let loopThread = slot.lastHeartbeat?.loopThread ?? 0
                let answeringReading = slots[role]?.readActivity(\.answeringReader, pid: pid, thread: pid)
                let loopReading =
                    loopThread > 0 ? slots[role]?.readActivity(\.loopReader, pid: pid, thread: loopThread) : nil
                slots[role]?.activity.record(at: judged, answering: answeringReading, loop: loopReading)
                answering = slots[role]?.activity.answeringSpan(since: slot.lastHeard)
                loopSinceLastAnswer = slots[role]?.activity.loopSpan(since: slot.lastHeard)
                // The loop's silence is judged as of the last answer (`progressAge`): its CPU over that interval.
                loop = slot.lastHeartbeat.flatMap {
                    slots[role]?.activity.loopSpan(since: $0.progressAt, until: $0.answeredAt)
                }
            }
            let verdict = heartbeat.judge(
                sinceStart: .nanoseconds(judged - slot.startedAt), helloReceived: slot.helloAt != nil,
                sinceLastAnswer: .nanoseconds(judged - slot.lastHeard),
                oldestUnanswered: slot.unanswered.first.map { .nanoseconds(judged - $0.sentAt) },
                lastHeartbeat: slot.lastHeartbeat, startupIdle: startupIdle, answering: answering, loop: loop,
                loopSinceLastAnswer: loopSinceLastAnswer)
            if verdict.isStarved {
                if !slot.starved {
                    logger.warning("\(role) worker (pid \(pid)) \(verdict.reason); not killed")
                    recordEvent("watchdog", "\(role) worker (pid \(pid)) \(verdict.reason); not killed")
                    slots[role]?.starvedEpisodes += 1
                    slots[role]?.starved = true
                }
            } else if verdict == .alive, slot.starved {
                logger.notice("\(role) worker (pid \(pid)) runs again after being starved")
                slots[role]?.starved = false
            }
            if verdict.kills {
                logger.error("\(role) worker (pid \(pid)) \(verdict.reason); killing it")
                recordEvent("watchdog", "\(role) worker (pid \(pid)) \(verdict.reason); killed")
                slots[role]?.hungKills += 1
                slots[role]?.lastKillReason = verdict.reason
                // Its state is as fresh as its engine's last progress, not its last word.
                slots[role]?.killedAliveAt = min(slot.lastHeard, slot.lastHeartbeat?.progressAt ?? slot.lastHeard)
                kill(pid, SIGKILL)
                continue
            }
            if slot.helloAt != nil, judged - (slot.lastPing ?? 0) >= heartbeat.pingPeriod.nanoseconds {
                let sequence = slot.pingSequence + 1
                slots[role]?.pingSequence = sequence
                slots[role]?.heartbeatsSent += 1
                slots[role]?.lastPing = judged
                slots[role]?.unanswered.append((sequence, judged))
                send(.ping(sequence: sequence), to: role)
            }
        }
    }

    // MARK: Signals

    func handleSignals() {
        for signal in Syscalls.readSignals(signals) {
            switch signal {
            case SIGCHLD: reap()
            case SIGHUP:
                logger.info("SIGHUP: reloading \(options.configFile)")
                _ = reload()
            case SIGTERM, SIGINT:
                logger.info("signal \(signal): stopping")
                // While a configuration is read for a request, the stop begins once the request is answered.
                if reading { stopAsked = true } else { beginStop() }
            case SIGUSR1: requestDataDump(data: true)
            case SIGUSR2: requestDataDump(data: false)
            default: break
            }
        }
        // A SIGCHLD may coalesce with one already read; reaping is idempotent.
        reap()
    }

    /// Why a valid `candidate` cannot replace the running configuration: `net_namespace_ipvs` changed (keepalived:
    /// "Cannot change IPVS network namespace at a reload"), or it names interfaces that do not exist (without
    /// `dynamic_interfaces`). Nil when it can.
    func refusalBeforeApplying(_ candidate: LoadedConfig) -> String? {
        if candidate.config.globalDefs.netNamespaceIPVS != loaded.config.globalDefs.netNamespaceIPVS {
            return "net_namespace_ipvs cannot change at a reload (as in keepalived); restart vigild for it"
        }
        return InterfaceCheck.refusal(candidate.config, options)
    }

    /// Re-reads the configuration; keeps the running one when the new one has errors.
    /// - Returns: nil on success, else the reason.
    /// - Parameter fromControl: asked on the control socket (`vigilctl reload`): the socket waits while the file is
    ///   read, and the answer says how it went.
    func reload(fromControl: Bool = false) -> String? {
        if reading {
            reloadAgain = true
            logger.info("a reload is already reading \(options.configFile); reloading again once it is done")
            return "a reload is in progress; another one follows it"
        }
        operatorInterfacesReloading()
        defer { if let lastReload { operatorInterfacesReloaded(lastReload) } }
        // The running configuration's reload_file and reload_check_config apply, as keepalived's do.
        let reloadFile = reloadFilePath
        if let reloadFile { createReloadFile(reloadFile) }
        guard let candidate = loadCandidate(servingControl: !fromControl) else {
            if let reloadFile { unlink(reloadFile) }
            logger.warning("reload abandoned: vigild is stopping")
            return "vigild is stopping"
        }
        let at = Double(monotonicNanoseconds() - startedAt) / 1e9
        if let log = loaded.config.globalDefs.reloadCheckConfig, let reason = checkBeforeReload(candidate, log: log) {
            if let reloadFile { unlink(reloadFile) }
            logger.error("reload refused: \(reason)")
            lastReload = ReloadReport(atUptimeSeconds: at, succeeded: false, message: reason)
            return reason
        }
        // Read (and checked): an updating program may write the files again.
        if let reloadFile { unlink(reloadFile) }
        guard candidate.isValid else {
            let errors = candidate.diagnostics.errors
            for diagnostic in errors { logger.error("\(diagnostic.description)") }
            let reason =
                "\(options.configFile) has \(errors.count) error\(errors.count == 1 ? "" : "s"); "
                + "still running the previous configuration"
            logger.error("reload refused: \(reason)")
            lastReload = ReloadReport(
                atUptimeSeconds: at, succeeded: false, message: Self.errorText(candidate, file: options.configFile))
            return reason + (errors.first.map { ": \($0.description)" } ?? "")
        }
        if let refusal = refusalBeforeApplying(candidate) {
            let reason = "\(refusal); still running the previous configuration"
            logger.error("reload refused: \(reason)")
            lastReload = ReloadReport(atUptimeSeconds: at, succeeded: false, message: reason)
            return reason
        }
        saveConfiguration(stage: "pre")
        if candidate.config.globalDefs.disableLocalIGMP != loaded.config.globalDefs.disableLocalIGMP {
            logger.warning("disable_local_igmp changed: it takes effect at the next start of vigild (as in keepalived)")
        }
        let diff = ConfigDiff(from: loaded.config, to: candidate.config)
        for change in diff.changes { logger.info("reload: \(change)") }
        lastReload = ReloadReport(
            atUptimeSeconds: at, succeeded: true,
            message: diff.isEmpty ? "no change" : "\(diff.changes.count) change\(diff.changes.count == 1 ? "" : "s")",
            changes: diff.changes.count)
        let previous = loaded.config
        loaded = candidate
        let needed = neededRoles()
        for role in needed {
            if slots[role] == nil || slots[role]!.retired {
                slots[role] = WorkerSlot(role: role)
                start(role)
            } else if slots[role]!.socket != nil {
                // Started, hello or not: it was sent a configuration at its spawn, and gets this one as its change.
                nextCommandID += 1
                send(.command(id: nextCommandID, .reload), to: role)
                sendConfiguration(to: role)
            }
        }
        for role in slots.keys where !needed.contains(role) {
            slots[role]?.retired = true
            stopWorker(role)
        }
        anycastReloaded()
        saveConfiguration(stage: "post")
        retireAfterLoad(replacing: previous)
        logger.info("reloaded \(options.configFile)")
        trimPending = true
        return nil
    }

    /// Reads the configuration file on a thread of its own, and goes on supervising meanwhile: a large file, a slow
    /// expansion, an include on a hung network mount or a FIFO no one writes must never stop the heartbeats, their
    /// verdicts, restarts or systemd's pings (a worker is never blamed for the watchdog's own lateness). A reload
    /// asked meanwhile follows it.
    /// - Parameter servingControl: control requests are answered meanwhile (a SIGHUP's read); false for a read that
    ///   a control request asked for, which is being answered (the socket then waits until the read is over).
    /// - Returns: nil when vigild began to stop before the read was over (the thread is left to the process's exit).
    func loadCandidate(servingControl: Bool) -> LoadedConfig? {
        let read = ThreadResult { [options, hostName] in options.loadConfiguration(hostName: hostName) }
        reading = true
        defer { reading = false }
        let started = monotonicNanoseconds()
        var said = false
        while true {
            if let loaded = read.result {
                read.close()
                let took = monotonicNanoseconds() - started
                if said { logger.info("\(options.configFile) read in \(Self.milliseconds(took)) ms") }
                return loaded
            }
            if stopAsked || stopping { return nil }
            turn(servingControl: servingControl, wake: read.wake.reader)
            read.wake.drain()
            if !said && monotonicNanoseconds() - started > 1_000_000_000 {
                said = true
                logger.warning(
                    .init(
                        stringLiteral: "reading \(options.configFile) takes more than 1 s; the workers are still "
                            + "supervised"))
            }
        }
    }

    /// Every error of a refused configuration, one `FILE:LINE: message` a line.
    static func errorText(_ candidate: LoadedConfig, file: String) -> String {
        let errors = candidate.diagnostics.errors
        return "\(file) has \(errors.count) error\(errors.count == 1 ? "" : "s"):\n"
            + errors.map(\.description).joined(separator: "\n")
    }

    func stopWorker(_ role: WorkerRole) {
        guard let slot = slots[role], let pid = slot.pid else { return }
        if slot.socket != nil {
            nextCommandID += 1
            let release = role == .vrrp ? !options.dontReleaseVRRP : !options.dontReleaseIPVS
            send(.command(id: nextCommandID, .stop(release: release)), to: role)
        } else {
            kill(pid, SIGTERM)
        }
    }

    func beginStop() {
        guard !stopping else { return }
        stopping = true
        operatorInterfacesStopping()
        stopAnycast()
        // Stop taking control requests first: vigilctl then fails at once with a clear message.
        control?.close(refusing: "vigild is stopping")
        control = nil
        // keepalived's child_wait_time: then what still runs is killed.
        stopDeadline = monotonicNanoseconds() + loaded.config.globalDefs.childWaitTime.nanoseconds
        for role in slots.keys {
            slots[role]?.restartAt = nil
            stopWorker(role)
        }
    }

    func finish() {
        releaseStartRules()
        for role in WorkerRole.allCases { unlink(pidFilePath(role)) }
        control?.close(refusing: "vigild is stopping")
        control = nil
        stopOperatorInterfaces()
        restoreLocalIGMPSetting()
        runShutdownScript()
        logger.info("vigild stopped")
    }

    // MARK: Control socket and dumps

    /// The answer to one control request; `.stop` is carried out by the caller once the answer is sent.
    func answer(_ request: ControlRequest) -> ControlResponse {
        operatorQueryTrimAt = monotonicNanoseconds() + MemoryTrim.settleDelay
        switch request {
        case .status: return .status(status())
        case .reload:
            return reload(fromControl: true).map { .refused($0) } ?? .done("reloaded \(options.configFile)")
        case .reloadCheck, .reloadDiff:
            if reading { return .refused("a reload is reading \(options.configFile); ask again once it is done") }
            guard let candidate = loadCandidate(servingControl: false) else { return .refused("vigild is stopping") }
            if !candidate.isValid { return .refused(Self.errorText(candidate, file: options.configFile)) }
            if let refusal = refusalBeforeApplying(candidate) { return .refused(refusal) }
            if request == .reloadCheck {
                return .done(
                    "\(options.configFile) is valid: \(candidate.config.vrrp.instances.count) VRRP instances, "
                        + "\(candidate.config.lvs.virtualServers.count) virtual servers")
            }
            return .done(ConfigDiff(from: loaded.config, to: candidate.config).rendered)
        case .stop: return .done("vigild (pid \(getpid())) is stopping")
        case .debugStall(let role, let milliseconds, let slices):
            #if DEBUG
                guard slots[role]?.helloAt != nil else { return .refused("no \(role) worker is running") }
                nextCommandID += 1
                send(.command(id: nextCommandID, .stall(milliseconds: milliseconds, slices: slices)), to: role)
                return .done("the \(role) worker stalls for \(milliseconds) ms in \(slices) tasks")
            #else
                return .refused("debug-stall is available in debug builds only")
            #endif
        }
    }

    func status() -> DaemonStatus {
        let now = monotonicNanoseconds()
        let workers = WorkerRole.allCases.compactMap { slots[$0] }.map { slot in
            WorkerStatus(
                role: slot.role, pid: slot.pid,
                uptimeSeconds: slot.pid == nil ? nil : Double(now - slot.startedAt) / 1e9,
                restartCount: slot.restartCount,
                lastHeartbeatSecondsAgo: slot.lastPong.map { Double(now - $0) / 1e9 },
                lastRestartMilliseconds: slot.lastRestartNanoseconds.map { Double($0) / 1e6 },
                loopLagMilliseconds: slot.lastHeartbeat.map { Double($0.maxLoopLag) / 1e6 },
                progressAgeMilliseconds: slot.lastHeartbeat.map { Double($0.progressAge) / 1e6 },
                lastKillReason: slot.lastKillReason, ready: slot.reportedState,
                checker: slot.pid == nil ? nil : slot.checkerStatistics,
                ipvs: slot.pid == nil ? nil : slot.ipvsStatistics, state: slot.state,
                residentKiB: slot.pid == nil ? nil : slot.residentKiB, starvedCount: slot.starvedEpisodes,
                starvedNow: slot.pid == nil ? nil : slot.starved)
        }
        return DaemonStatus(
            pid: getpid(), version: vigilVersion, configFile: options.configFile,
            uptimeSeconds: Double(now - startedAt) / 1e9, stopping: stopping, workers: workers, lastReload: lastReload,
            reloadsApplied: operators.reloadsApplied, reloadsRefused: operators.reloadsRefused,
            startedAtUnixSeconds: operators.startedAtUnixSeconds, recentEvents: operators.events.events,
            metricsListen: operators.metrics.map { "\($0.address)" }, residentKiB: residentKiB,
            anycast: anycastStatus, systemdWatchdogWithheld: operators.notify?.policy.watchdogWithheld,
            startRules: startRules.report)
    }

    /// `SIGUSR1` (data) and `SIGUSR2` (statistics): files beside the control socket, created
    /// O_EXCL|O_NOFOLLOW mode 0600.
    /// Asks every running worker for its dump (`data`) or its statistics; the file is written when all have
    /// answered (or after 1 s).
    func requestDataDump(data: Bool) {
        guard pendingDumps[data] == nil else { return }
        var waiting: [UInt32: WorkerRole] = [:]
        for (role, slot) in slots where slot.helloAt != nil {
            nextCommandID += 1
            waiting[nextCommandID] = role
            send(.command(id: nextCommandID, data ? .dump : .statistics), to: role)
        }
        pendingDumps[data] = (waiting, [], monotonicNanoseconds() + 1_000_000_000)
        if waiting.isEmpty { finishDataDump(data: data) }
    }

    func finishDataDump(data: Bool) {
        let sections = pendingDumps[data]?.sections.sorted() ?? []
        pendingDumps[data] = nil
        writeDump(data: data, workerSections: sections)
    }

    func writeDump(data: Bool, workerSections: [String] = []) {
        let path = directoryName(options.controlSocket) + (data ? "/vigild.data" : "/vigild.stats")
        var text: String
        if data {
            text = ([status().rendered] + workerSections).joined(separator: "\n\n") + "\n"
        } else {
            text = "malformed_messages \(malformedMessages)\n"
            for slot in WorkerRole.allCases.compactMap({ slots[$0] }) {
                text += "\(slot.role).restarts \(slot.restartCount)\n"
                text += "\(slot.role).heartbeats_sent \(slot.heartbeatsSent)\n"
                text += "\(slot.role).heartbeats_answered \(slot.heartbeatsAnswered)\n"
                text += "\(slot.role).killed_for_missed_heartbeats \(slot.hungKills)\n"
                text += "\(slot.role).starved_not_killed \(slot.starvedEpisodes)\n"
                text += "\(slot.role).malformed_messages \(slot.socket?.malformedCount ?? 0)\n"
            }
            // Each worker's own counters (VRRP receive-check drops per instance, checks run and failed, …).
            for section in workerSections where !section.isEmpty { text += section + "\n" }
        }
        do {
            try Syscalls.writeNewFile(path, text)
            logger.info("wrote \(data ? "data" : "statistics") dump to \(path)")
        } catch {
            logger.error("cannot write dump: \(error)")
        }
    }
}

/// What a load or reload leaves to free once the workers have their configurations (`Supervisor.retireAfterLoad`).
struct LoadLeftovers {
    var trees: [[ConfigNode]] = []
    var configurations: [KeepalivedConfig] = []
}
