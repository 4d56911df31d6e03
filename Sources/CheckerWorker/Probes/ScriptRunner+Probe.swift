import Config
import NIOCore
import Notifier

/// MISC_CHECK programs run through the Notifier module's runner (as `script_user`; a per-checker `user` is
/// not applied by it).
extension ScriptRunner: ProbeScriptRunning {
    public func runCheckScript(_ command: Config.ScriptCommand, timeout: Duration?, on loop: any EventLoop)
        -> EventLoopFuture<ProbeScriptResult>
    {
        let runnable: Notifier.ScriptCommand
        do {
            runnable = try Notifier.ScriptCommand(command)
        } catch {
            return loop.makeSucceededFuture(.failedToStart(error.message))
        }
        return run(runnable, timeout: timeout, on: loop).map { result in
            switch result {
            case .exited(let code): .exited(code)
            case .signalled(let signal): .signalled(signal)
            case .timedOut: .timedOut
            case .failedToStart(let why): .failedToStart(why)
            }
        }
    }
}
