import ArgumentParser
import IPVSShim
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `vigilctl ipvs`: the kernel's IPVS table, read over generic netlink (needs root, not vigild).
struct IPVSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "Print the kernel's IPVS table like ipvsadm -Ln (read directly from the kernel).")

    @Flag(help: "JSON instead of ipvsadm's layout.") var json = false

    @Flag(
        name: .customLong("checker-states"),
        help: "Add a Checker column: each real server's health as vigild's checker worker last reported it.")
    var checkerStates = false

    @OptionGroup var connection: ControlSocketOptions

    func run() throws {
        var health: [String: String] = [:]
        if checkerStates {
            guard case .status(let status) = try connection.send(.status) else {
                printError("vigilctl: vigild did not answer with its status")
                throw ExitCode(1)
            }
            health = Self.checkerStates(status)
        }
        do {
            let client = try IPVSNetlinkClient()
            if checkerStates && !json {
                let listing = IPVSAdmRenderer.render(try client.table(), info: try client.info()) { service, real in
                    health["\(Self.serviceName(service)) \(real.address) \(real.port)"]
                }
                print(listing, terminator: "")
            } else {
                print(try client.listing(json: json), terminator: "")
            }
        } catch {
            let line = Array("vigilctl: \(error) (is the ip_vs module loaded, and are you root?)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            throw ExitCode(1)
        }
    }
}

extension IPVSCommand {
    /// "VS_NAME RS_ADDRESS RS_PORT" → "up" / "down", from a status answer.
    static func checkerStates(_ status: DaemonStatus) -> [String: String] {
        var states: [String: String] = [:]
        for worker in status.workers {
            for server in worker.state?.virtualServers ?? [] {
                for real in server.realServers {
                    let parts = real.address.split(separator: " ")
                    let port = parts.count > 1 ? String(parts[1]) : "0"
                    var word = real.health.rawValue
                    if let weight = real.weight { word += " (weight \(weight))" }
                    states["\(server.name) \(parts.first ?? "") \(port)"] = word
                }
            }
        }
        return states
    }

    /// A service as keepalived.conf names it: "192.0.2.10 80", "fwmark 5".
    static func serviceName(_ key: IPVSServiceKey) -> String {
        switch key {
        case .address(let address, let port, _): "\(address) \(port)"
        case .firewallMark(let mark, _): "fwmark \(mark)"
        }
    }
}
