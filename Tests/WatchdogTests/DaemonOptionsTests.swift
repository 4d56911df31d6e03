import Config
import Testing
import Watchdog

@Suite("Pid files and sockets per instance and namespace")
struct DaemonOptionsPathTests {
    static func globals(instance: String? = nil, namespace: String? = nil, pidDirectory: Bool = false) -> GlobalDefs {
        var globals = GlobalDefs()
        globals.instanceName = instance
        globals.netNamespace = namespace
        globals.usePIDDir = pidDirectory
        return globals
    }

    @Test func defaultsStayWithoutThem() {
        let options = DaemonOptions().resolvingPaths(for: Self.globals())
        #expect(options.pidFile == DefaultPaths.pidFile && options.controlSocket == DefaultPaths.controlSocket)
    }

    @Test func keepalivedsNames() {
        let directory = DaemonOptions().resolvingPaths(for: Self.globals(pidDirectory: true))
        #expect(
            [directory.pidFile, directory.vrrpPidFile, directory.checkersPidFile, directory.controlSocket] == [
                "/run/vigil/vigild.pid", "/run/vigil/vrrp.pid", "/run/vigil/checkers.pid", DefaultPaths.controlSocket,
            ])
        let instance = DaemonOptions().resolvingPaths(for: Self.globals(instance: "web"))
        #expect(
            [instance.pidFile, instance.vrrpPidFile, instance.checkersPidFile, instance.controlSocket] == [
                "/run/vigil/vigild_web.pid", "/run/vigil/vrrp_web.pid", "/run/vigil/checkers_web.pid",
                "/run/vigil/vigild_web.sock",
            ])
        let both = DaemonOptions().resolvingPaths(for: Self.globals(instance: "web", namespace: "blue"))
        #expect(
            both.pidFile == "/run/vigil/blue/vigild_web.pid" && both.controlSocket == "/run/vigil/blue/vigild_web.sock")
    }

    @Test func theCommandLineWins() {
        var options = DaemonOptions()
        options.pidFile = "/tmp/mine.pid"
        options.controlSocket = "/tmp/mine.sock"
        let resolved = options.resolvingPaths(for: Self.globals(instance: "web"))
        #expect(resolved.pidFile == "/tmp/mine.pid" && resolved.controlSocket == "/tmp/mine.sock")
        #expect(resolved.vrrpPidFile == "/run/vigil/vrrp_web.pid")
    }
}
