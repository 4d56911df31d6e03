import ArgumentParser
import IPVSShim

#if canImport(Glibc)
    import Glibc
#endif

/// `vigilctl ipvs`: the kernel's IPVS table, read over generic netlink (needs root, not vigild).
struct IPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "Print the kernel's IPVS table like ipvsadm -Ln (read directly from the kernel).")

    @Flag(help: "JSON instead of ipvsadm's layout.") var json = false

    func run() throws {
        do {
            print(try IPVSNetlinkClient().listing(json: json), terminator: "")
        } catch {
            let line = Array("vigilctl: \(error) (is the ip_vs module loaded, and are you root?)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            throw ExitCode(1)
        }
    }
}
