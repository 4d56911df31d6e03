import Config
import NIOCore
import Notifier

/// MISC_CHECK programs run through the Notifier module's runner: as the checker's `user USER [GROUP]` when
/// written, else as the runner's `script_user`.
extension ScriptRunner: ProbeScriptRunning {
    public func runCheckScript(_ command: Config.ScriptCommand, timeout: Duration?, on loop: any EventLoop)
        -> EventLoopFuture<ProbeScriptResult>
    {
        let started: EventLoopFuture<ScriptResult>
        do {
            let runnable = try Notifier.ScriptCommand(command)
            if let user = command.user {
                let identity = try ScriptIdentity.resolve(user: user, group: command.group)
                started = run(runnable, as: identity, timeout: timeout, on: loop)
            } else {
                started = run(runnable, timeout: timeout, on: loop)
            }
        } catch {
            return loop.makeSucceededFuture(.failedToStart(error.message))
        }
        return started.map { result in
            switch result {
            case .exited(let code): .exited(code)
            case .signalled(let signal): .signalled(signal)
            case .timedOut: .timedOut
            case .failedToStart(let why): .failedToStart(why)
            }
        }
    }
}
