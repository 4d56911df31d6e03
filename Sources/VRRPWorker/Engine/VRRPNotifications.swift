import Config
import Logging
import NIOCore
import Notifier

/// keepalived's notify scripts for an instance's transitions: `notify_master` / `notify_backup` /
/// `notify_fault` / `notify_stop` as written, and `notify` with `INSTANCE NAME STATE PRIORITY` appended.
struct VRRPNotifications {
    /// The scripts to run for `instance` entering `state`, arguments included.
    static func commands(for instance: VRRPInstance, state: VRRPState) -> [Config.ScriptCommand] {
        let scripts = instance.notify
        let specific: Config.ScriptCommand? =
            switch state {
            case .master: scripts.master
            case .backup: scripts.backup
            case .fault: scripts.fault
            case .initialize: scripts.stop
            }
        return [specific].compactMap { $0 }
    }

    /// The words keepalived appends to the generic `notify` script (`INSTANCE VI_1 MASTER 100`).
    static func genericArguments(for instance: VRRPInstance, state: VRRPState) -> [String] {
        let name = state == .initialize ? "STOP" : state.description
        return ["INSTANCE", instance.name, name, "\(instance.priority)"]
    }

    let runner: ScriptRunner
    let loop: EventLoop
    let logger: Logger

    init(globals: GlobalDefs, loop: EventLoop, logger: Logger) {
        let identity: ScriptIdentity
        do {
            identity = try ScriptIdentity.resolve(user: globals.scriptUser?.user, group: globals.scriptUser?.group)
        } catch {
            logger.warning("notify scripts run as root: \(error)")
            identity = .root
        }
        runner = ScriptRunner(identity: identity, logger: logger)
        self.loop = loop
        self.logger = logger
    }

    /// Starts the scripts for the transition; their results are logged, never awaited.
    func run(_ instance: VRRPInstance, entered state: VRRPState) {
        var commands: [Notifier.ScriptCommand] = []
        for configured in Self.commands(for: instance, state: state) {
            if let command = try? Notifier.ScriptCommand(configured) { commands.append(command) }
        }
        if let generic = instance.notify.any, let command = try? Notifier.ScriptCommand(generic) {
            commands.append(command.appending(Self.genericArguments(for: instance, state: state)))
        }
        for command in commands {
            let logger = logger
            runner.run(command, timeout: .seconds(30), on: loop).whenSuccess { result in
                if !result.succeeded {
                    logger.warning("notify script \(command.program) for \(instance.name): \(result)")
                }
            }
        }
    }
}
