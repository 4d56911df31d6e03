import ArgumentParser

/// `vigilctl`: the operator's client for a running `vigild`.
struct VigilControlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigilctl",
        abstract: "Control a running vigild over its control socket.",
        subcommands: [
            StatusCommand.self, ReloadCommand.self, StopCommand.self, IPVSCommand.self, RealServerCommand.self,
            DebugStallCommand.self,
        ]
    )
}

VigilControlCommand.main()
