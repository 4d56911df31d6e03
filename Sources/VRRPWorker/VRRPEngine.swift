import Config
import Logging
import NIOCore
import NIOPosix
import Netlink
import Notifier
import WorkerIPC

/// The VRRP worker's engine: every `vrrp_instance` on real sockets.
///
/// One single-threaded NIO event loop runs `VRRPEngineCore` (state machines, filters, addresses) and its
/// timers; `VRRPReceiver`'s thread waits on the raw VRRP sockets and the link monitor and hands what arrives
/// to that loop. Every `WorkerEngine` call arrives through `execute`, so everything below runs on the loop.
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

    public init(reporter: WorkerReporter, logger: Logger) {
        self.reporter = reporter
        self.logger = logger
        loop = group.next()
        receiver = VRRPReceiver(logger: logger)
        system = LinuxVRRPSystem(loop: loop, logger: logger, receiver: receiver)
        core = VRRPEngineCore(system: system)
        core.onReport = { [reporter] in reporter.report($0) }
        core.onEvent = { [reporter, logger] in
            logger.info("\($0)")
            reporter.event($0)
        }
        core.onLog = { [logger] in logger.info("\($0)") }
        core.onNotify = { [unowned self] instance, state in notifications?.run(instance, entered: state) }
        let loop = loop
        system.onTimer = { [core] timer, instance in core.timerFired(timer, instance: instance) }
        receiver.onPackets = { [core, loop, logger] packets in
            loop.execute {
                for (interface, received) in packets {
                    switch received {
                    case .packet(let message, let info): core.receive(message, packet: info, interface: interface)
                    case .malformed(let failure): logger.debug("dropped on \(interface): \(failure)")
                    }
                }
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
        if notifications == nil {
            notifications = VRRPNotifications(globals: configuration.globalDefs, loop: loop, logger: logger)
        }
        core.apply(configuration, isReload: isReload)
        startScripts(configuration.vrrp ?? VRRPConfig())
        logger.info("configured: \(core.order.count) VRRP instances\(isReload ? " (reload)" : "")")
    }

    /// Runs every `vrrp_script` some instance tracks, each `interval`, never two runs of one at once; a rise or
    /// fall that changes its state goes to the instances as a tracked item.
    private func startScripts(_ vrrp: VRRPConfig) {
        for task in scriptTasks.values { task.cancel() }
        scriptTasks = [:]
        guard let notifications else { return }
        let tracked = Set(vrrp.instances.flatMap { $0.trackScripts.map(\.name) })
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
            scriptTasks[name] = loop.scheduleRepeatedAsyncTask(
                initialDelay: .zero, delay: .nanoseconds(Int64(script.interval.wholeMicroseconds * 1000))
            ) { [unowned self, loop] _ in
                runner.run(command, timeout: timeout, on: loop).map { result in
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

    public func dump() -> String { core.dumpText }

    public func statistics() -> String { core.statisticsText }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) {
        for task in scriptTasks.values { task.cancel() }
        core.stop(release: release)
        receiver.stop()
        done()
    }
}
