import Testing
import Watchdog
import WorkerIPC

/// The worker's command line is written by the watchdog and read by the worker without swift-argument-parser: what
/// one writes the other reads back whole, and anything else is left to swift-argument-parser (nil).
@Suite struct WorkerCommandLineTests {
    static func everything() -> WorkerCommandLine {
        var line = WorkerCommandLine(role: .bfd, parentPID: 4242)
        line.ipcFD = 7
        line.logFacility = 5
        line.heartbeatMilliseconds = 250
        line.logConsole = true
        line.logDetail = true
        line.dontReleaseVRRP = true
        line.dontReleaseIPVS = true
        var settings = WorkerProcessSettings()
        settings.realtimePriority = 3
        settings.noSwap = true
        settings.cpuAffinity = [0, 1]
        settings.name = "bfd worker"
        line.processSettings = settings
        line.peerChannels = [.vrrp: 9, .checker: 10]
        return line
    }

    @Test func whatIsWrittenIsReadBack() {
        for line in [Self.everything(), WorkerCommandLine(role: .checker, parentPID: 17)] {
            let arguments = line.arguments
            #expect(arguments.first == "vigild")
            #expect(WorkerCommandLine.read(Array(arguments.dropFirst())) == line, "\(arguments)")
        }
    }

    @Test func theWorkersOptions() {
        let options = Self.everything().options
        #expect(options.logFacility == 5 && options.heartbeatInterval == .milliseconds(250))
        #expect(options.logConsole && options.logDetail && options.dontReleaseVRRP && options.dontReleaseIPVS)
        #expect(options.processSettings == Self.everything().processSettings)
        #expect(options.peerChannels == [.vrrp: 9, .checker: 10])
        // The rest as a line without them leaves it: DaemonOptions' defaults.
        let plain = WorkerCommandLine(role: .vrrp, parentPID: 1).options
        #expect(plain.heartbeatInterval == DaemonOptions().heartbeatInterval && plain.logFacility == 0)
        #expect(plain.configFile == DaemonOptions().configFile && plain.processSettings == nil)
    }

    /// What the watchdog never writes goes to swift-argument-parser, which accepts or refuses it as before.
    @Test func anythingElseIsLeftToTheFullParser() {
        let base = ["--worker", "checker", "--ipc-fd", "3", "--parent-pid", "12"]
        #expect(WorkerCommandLine.read(base) != nil)
        let others: [[String]] = [
            [],
            ["-n", "-f", "/etc/keepalived/keepalived.conf"],
            Array(base.dropFirst(2)),  // no --worker
            ["--worker", "nonsense"],
            base + ["--worker", "vrrp"],
            base + ["-n"],
            base + ["-S", "8"],
            base + ["--heartbeat-interval", "5"],
            base + ["--heartbeat-interval"],
            base + ["--ipc-fd", "-1"],
            base + ["--process-settings", "rt=x"],
            base + ["--bfd-channel", "vrrp"],
            base + ["--bfd-channel", "nobody=9"],
            base + ["-lD"],
        ]
        for arguments in others { #expect(WorkerCommandLine.read(arguments) == nil, "\(arguments)") }
    }
}
