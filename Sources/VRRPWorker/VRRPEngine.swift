import Config
import Logging
import NIOCore
import NIOPosix
import Netlink
import Notifier
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The VRRP worker's engine: every `vrrp_instance` on real sockets.
///
/// One single-threaded NIO event loop runs `VRRPEngineCore` (state machines, filters, addresses) and its
/// timers; `VRRPReceiver`'s thread waits on the raw VRRP sockets and the link monitor and hands what arrives
/// to that loop. Every `WorkerEngine` call arrives through `execute`, so everything below runs on the loop.
///
/// `@unchecked Sendable` (the `WorkerEngine` protocol asks for `Sendable`): its mutable state (notifications,
/// script tasks, track files) is touched only on `loop`, which `apply`, `dump`, `statistics` and `stop` assert
/// (`preconditionInEventLoop`), as the namespace suites that run the worker exercise.
public final class VRRPEngine: WorkerEngine, @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: EventLoop
    private let reporter: WorkerReporter
    private let logger: Logger
    private let receiver: VRRPReceiver
    private let system: LinuxVRRPSystem
    private let core: VRRPEngineCore<LinuxVRRPSystem>
    /// Built at the first `apply` (the script user is a global setting).
    private var notifications: VRRPNotifications?
    /// `vrrp_script` runs: one repeated task per tracked script, and its rise/fall state.
    private var scriptTasks: [String: RepeatedTask] = [:]
    private var scriptStates: [String: TrackedScriptState] = [:]
    private var trackFileTask: RepeatedTask?
    /// The last contents read of each tracked `track_file` (`.some(nil)`: missing).
    private var trackFileContents: [String: String?] = [:]
    /// `vrrp_track_process`: the quorum logic, the connector's thread (opened at the first tracked process), and
    /// the `fork_delay` / `terminate_delay` timers by name.
    private var processTracker = ProcessTracker([])
    private var processMonitor: ProcessMonitor?
    private var processTimers: [String: Scheduled<Void>] = [:]

    public init(reporter: WorkerReporter, logger: Logger) {
        self.reporter = reporter
        self.logger = logger
        loop = group.next()
        receiver = VRRPReceiver(logger: logger)
        system = LinuxVRRPSystem(loop: loop, logger: logger, receiver: receiver)
        core = VRRPEngineCore(system: system)
        core.onReport = { [unowned self, reporter] state in
            // The scripts' GOOD/BAD travel with every report (keepalived_script_status).
            var state = state
            state.vrrpScripts = scriptTasks.keys.sorted().compactMap { name in
                scriptStates[name].map { VRRPScriptReport(name: name, isUp: $0.isUp) }
            }
            reporter.report(state)
        }
        core.onEvent = { [reporter, logger] in
            logger.info("\($0)")
            reporter.event($0)
        }
        core.onLog = { [logger] in logger.info("\($0)") }
        core.onNotify = { [unowned self] notice in notifications?.run(notice) }
        let loop = loop
        system.onTimer = { [core] timer, instance in core.timerFired(timer, instance: instance) }
        let progress = reporter.progress
        receiver.onPackets = { [core, loop] packets in
            loop.execute {
                for (interface, received) in packets {
                    switch received {
                    case .packet(let message, let info): core.receive(message, packet: info, interface: interface)
                    case .malformed(let failure): core.dropMalformed(failure, interface: interface)
                    }
                }
                // A flood of packets queues batches ahead of the runtime's beacon: each batch is progress.
                progress.mark()
            }
        }
        receiver.onAddresses = { [core, loop] events in
            loop.execute {
                for (interface, event) in events {
                    core.addressChanged(event.address, interface: interface, present: event.added)
                }
            }
        }
        receiver.onRouteDeletions = { [core, loop] deletions in
            loop.execute {
                for (interface, deletion) in deletions { core.routeDeleted(deletion, interface: interface) }
            }
        }
        receiver.onRuleDeletions = { [core, loop] deletions in
            loop.execute {
                for deletion in deletions { core.ruleDeleted(deletion) }
            }
        }
        receiver.onLinks = { [core, loop] events in
            loop.execute {
                for event in events { core.linkChanged(interface: event.name, isUp: event.isUp) }
            }
        }
        receiver.start()
    }

    public func execute(_ body: @escaping @Sendable () -> Void) { loop.execute(body) }

    public func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        loop.preconditionInEventLoop()
        notifications = VRRPNotifications(
            globals: configuration.globalDefs, hostName: Self.hostName, fifos: notifications?.fifos ?? [], loop: loop,
            logger: logger)
        core.apply(configuration, isReload: isReload)
        receiver.watchRoutesAndRules(core.tracksRoutesOrRules)
        startScripts(configuration.vrrp ?? VRRPConfig(), globals: configuration.globalDefs)
        startTrackFiles(configuration.vrrp ?? VRRPConfig(), isReload: isReload)
        startProcessTracking(configuration.vrrp ?? VRRPConfig())
        logger.info("configured: \(core.order.count) VRRP instances\(isReload ? " (reload)" : "")")
    }

    /// Runs every `vrrp_script` some instance tracks, each `interval`, never two runs of one at once; a rise or
    /// fall that changes its state goes to the instances as a tracked item.
    private func startScripts(_ vrrp: VRRPConfig, globals: GlobalDefs) {
        for task in scriptTasks.values { task.cancel() }
        scriptTasks = [:]
        guard let notifications else { return }
        // Scripts a sync group tracks run too: the core adds them to every member.
        let tracked = Set(
            vrrp.instances.flatMap { $0.trackScripts.map(\.name) }
                + vrrp.syncGroups.flatMap { $0.trackScripts.map(\.name) })
        for script in vrrp.scripts where tracked.contains(script.name) {
            guard let configured = script.script, let command = try? Notifier.ScriptCommand(configured) else {
                continue
            }
            let name = script.name
            let initial = scriptStates[name] ?? TrackedScriptState(script: script)
            scriptStates[name] = initial
            let item = "script \(name)"
            if !initial.isUp {
                core.trackedItemChanged(item, isUp: false, reason: "script \(name) failed (init_fail)")
            }
            let runner = notifications.runner
            let timeout = script.timeout ?? script.interval
            // The script's own `user USER [GROUP]`, else the global script_user.
            let identity: ScriptIdentity
            do {
                let user = script.user ?? globals.scriptUser
                identity = try ScriptIdentity.resolve(user: user?.user, group: user?.group)
            } catch {
                logger.error("vrrp_script \(name): \(error); not run")
                continue
            }
            scriptTasks[name] = loop.scheduleRepeatedAsyncTask(
                initialDelay: .zero, delay: .nanoseconds(Int64(script.interval.wholeMicroseconds * 1000))
            ) { [unowned self, loop] _ in
                runner.run(command, as: identity, timeout: timeout, on: loop).map { result in
                    guard var state = self.scriptStates[name] else { return }
                    if state.record(result) {
                        self.core.trackedItemChanged(
                            item, isUp: state.isUp,
                            reason: "script \(name) \(state.isUp ? "succeeded" : "failed") (\(result))")
                    }
                    self.scriptStates[name] = state
                }
            }
        }
    }

    /// `track_file`s some instance tracks: `init_file` written (with `overwrite`, an existing file too — but not
    /// at a reload, as keepalived), then read now and every second (a poll: keepalived watches them with
    /// inotify; a change is seen here within a second). Only a change of contents goes to the core.
    private func startTrackFiles(_ vrrp: VRRPConfig, isReload: Bool) {
        trackFileTask?.cancel()
        trackFileTask = nil
        let tracked = Set(
            vrrp.instances.flatMap { $0.trackFiles.map(\.name) } + vrrp.syncGroups.flatMap { $0.trackFiles.map(\.name) }
        )
        let files: [(name: String, path: String)] = vrrp.trackFiles.compactMap { file in
            guard tracked.contains(file.name), let path = file.file else { return nil }
            if let initial = file.initFile, (initial.overwrite && !isReload) || access(path, F_OK) != 0 {
                if !Self.writeFile(path, "\(initial.value)\n") {
                    logger.error("track_file \(file.name): cannot write init_file \(path)")
                }
            }
            return (file.name, path)
        }
        trackFileContents = trackFileContents.filter { tracked.contains($0.key) }
        guard !files.isEmpty else { return }
        let poll: @Sendable () -> Void = { [unowned self] in
            for file in files {
                let contents = FileContents.read(file.path, limit: 64)
                // The first read always goes through: the core starts with every file at 0.
                if let known = trackFileContents[file.name], known == contents { continue }
                trackFileContents[file.name] = contents
                core.trackFileRead(file.name, contents: contents)
            }
        }
        trackFileContents = [:]
        poll()
        trackFileTask = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in poll() }
    }

    /// `vrrp_track_process`es some instance or sync group tracks: `/proc` counted now (at a reload too, as
    /// keepalived), then followed through the process connector. Every quorum goes to the core, so instances
    /// start FAULT (or without the weight) when too few processes run.
    private func startProcessTracking(_ vrrp: VRRPConfig) {
        for timer in processTimers.values { timer.cancel() }
        processTimers = [:]
        let tracked = Set(
            vrrp.instances.flatMap { $0.trackProcesses.map(\.name) }
                + vrrp.syncGroups.flatMap { $0.trackProcesses.map(\.name) })
        processTracker = ProcessTracker(vrrp.trackProcesses.filter { tracked.contains($0.name) })
        guard !processTracker.tracked.isEmpty else {
            processMonitor?.stop()
            processMonitor = nil
            return
        }
        if processMonitor == nil {
            let monitor = ProcessMonitor()
            if let unavailable = monitor.unavailable {
                logger.error("track_process: \(unavailable); counting /proc once a second instead")
            }
            monitor.onEvents = { [unowned self, loop] events in
                loop.execute { self.processEvents(events) }
            }
            monitor.start()
            processMonitor = monitor
        }
        processMonitor?.readsCommandLines = processTracker.needsCommandLine
        let running = ProcessTable.scan(commandLines: processTracker.needsCommandLine)
        perform(processTracker.scan(running, initial: true))
        for name in processTracker.tracked.keys.sorted() {
            let hasQuorum = processTracker.hasQuorum(name)
            core.trackedItemChanged(
                VRRPRunningInstance<MonotonicInstant>.trackName(process: name), isUp: hasQuorum,
                reason: "track_process \(name): \(processTracker.count(name)) running, quorum "
                    + (hasQuorum ? "gained" : "lost"))
        }
    }

    private func processEvents(_ events: [ProcessEvent]) {
        for event in events {
            switch event {
            case .acknowledged(let error):
                guard error != 0 else { continue }
                let why = String(cString: strerror(Int32(error)))
                logger.error("track_process: the kernel refused process events (\(why)); counting /proc once a second")
                processMonitor?.pollInstead()
            case .fork(let parent, let child): perform(processTracker.fork(parent: parent, child: child))
            case .exec(let pid, let identity): perform(processTracker.exec(pid: pid, identity: identity))
            case .renamed(let pid, let name, let commandLine):
                perform(processTracker.renamed(pid: pid, name: name, commandLine: commandLine))
            case .exit(let pid): perform(processTracker.exit(pid: pid))
            case .rescan(let running): perform(processTracker.scan(running, initial: false))
            }
        }
    }

    /// Carries out what the process tracker decided: quorums to the core, delays as timers on the loop.
    private func perform(_ effects: [ProcessTrackerEffect]) {
        for effect in effects {
            switch effect {
            case .quorum(let name, let hasQuorum):
                let count = processTracker.count(name)
                logger.info("track_process \(name): quorum \(hasQuorum ? "gained" : "lost") (\(count) running)")
                core.trackedItemChanged(
                    VRRPRunningInstance<MonotonicInstant>.trackName(process: name), isUp: hasQuorum,
                    reason: "track_process \(name): \(count) running, quorum \(hasQuorum ? "gained" : "lost")")
            case .startTimer(let name, let delay):
                processTimers[name]?.cancel()
                processTimers[name] = loop.scheduleTask(in: .nanoseconds(Int64(delay.wholeMicroseconds * 1000))) {
                    [unowned self] in
                    processTimers[name] = nil
                    perform(processTracker.timerFired(name))
                }
            case .cancelTimer(let name):
                processTimers.removeValue(forKey: name)?.cancel()
            }
        }
    }

    /// Replaces the contents of `path` (created 0644); false on any error.
    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return write(fd, bytes, bytes.count) == bytes.count
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    public func bfdSessionsReceived(_ message: BFDChannelMessage, at receivedAt: Int64) {
        loop.preconditionInEventLoop()
        let changed = core.bfdSessionsReceived(message, at: receivedAt)
        if !changed.isEmpty {
            let sessions = changed.map { "\($0.name) \($0.up ? "up" : "down")" }.joined(separator: ", ")
            logger.info("BFD: \(sessions) (delivered in \((receivedAt - message.sentAt) / 1000) µs)")
        }
    }

    public func dump() -> String {
        loop.preconditionInEventLoop()
        return core.dumpText
    }

    public func statistics() -> String {
        loop.preconditionInEventLoop()
        return ([core.statisticsText] + core.bfd.statisticsLines).filter { !$0.isEmpty }.joined(separator: "\n")
    }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        loop.preconditionInEventLoop()
        for task in scriptTasks.values { task.cancel() }
        trackFileTask?.cancel()
        for timer in processTimers.values { timer.cancel() }
        processMonitor?.stop()
        core.stop(release: release)
        system.restoreInterfaces()
        receiver.stop()
        done()
    }
}
