import ArgumentParser
import Config
import IPVSShim

#if canImport(Glibc)
    import Glibc
#endif

/// `vigil-ipvs`: a developer tool that programs IPVS from a keepalived.conf without the daemon (kernel lab, bring-up).
struct VigilIPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-ipvs",
        abstract: "Program the kernel's IPVS from a keepalived.conf, without vigild (developer tool).",
        discussion: """
            Rules of the services the file names are adopted as Vigil's: apply edits them in place and removes \
            their unconfigured real servers; remove deletes those services. Services the file does not name are \
            left alone unless --flush-foreign (or lvs_flush) is given. Health checks do not run: every real server \
            is up, except those with an alpha checker.
            """,
        subcommands: [Apply.self, Show.self, Remove.self]
    )

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring IPVS to what the file says; print each operation and the count of netlink writes.")

        @Option(name: .shortAndLong, help: "keepalived.conf to apply.") var file: String
        @Flag(help: "Also remove services the file does not name.") var flushForeign = false

        func run() throws {
            let config = try loadConfig(file)
            let foreign: IPVSForeignRulePolicy = flushForeign || config.globalDefs.lvsFlush ? .remove : .leave
            try report(IPVSConfigApplier(client: connect()).apply(IPVSDesiredState.from(config), foreignRules: foreign))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the kernel's table like ipvsadm -Ln.")

        @Flag(help: "JSON instead of ipvsadm's layout.") var json = false

        func run() throws { print(try connect().listing(json: json), terminator: "") }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the services the file names, as vigild does at stop; nothing else.")

        @Option(name: .shortAndLong, help: "keepalived.conf whose services to remove.") var file: String

        func run() throws {
            try report(IPVSConfigApplier(client: connect()).remove(IPVSDesiredState.from(loadConfig(file))))
        }
    }
}

/// Loads and checks `path`; configuration errors print as `vigild -t` prints them and exit 1.
func loadConfig(_ path: String) throws -> KeepalivedConfig {
    let loaded = ConfigLoader.load(path: path)
    for diagnostic in loaded.diagnostics { printError(diagnostic.description) }
    guard loaded.isValid else { throw ExitCode(1) }
    return loaded.config
}

func connect() throws -> IPVSNetlinkClient {
    do {
        return try IPVSNetlinkClient()
    } catch {
        printError("vigil-ipvs: \(error) (is the ip_vs module loaded, and are you root?)")
        throw ExitCode(1)
    }
}

/// Prints the operations, the write count and any refusals; fails when the kernel refused something.
func report(_ outcome: IPVSConfigApplier.Outcome) throws {
    for operation in outcome.operations { print(operation) }
    print("netlink writes: \(outcome.writes)")
    for failure in outcome.failures { printError("vigil-ipvs: error: \(failure)") }
    if !outcome.failures.isEmpty { throw ExitCode(1) }
}

func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

VigilIPVSCommand.main()
