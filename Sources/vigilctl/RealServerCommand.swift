import ArgumentParser
import Config
import Foundation
import Netlink

#if canImport(Glibc)
    import Glibc
#endif

/// `vigilctl realserver up|down|status VIP…`: prepares an LVS-DR (or TUN) real server the way the LVS
/// tutorial's `realserver.sh` does, so operators stop copying that script: the VIP on `lo` (a /32 or /128,
/// so the real server accepts packets for it), and ARP settings so it never answers ARP for the VIP
/// (`arp_ignore=1`: answer only for addresses on the receiving interface; `arp_announce=2`: always use the
/// best local address as ARP source). Idempotent: running `up` twice changes nothing the second time.
struct RealServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realserver",
        abstract:
            "Put a VIP on a real server's loopback for LVS-DR, with ARP suppressed (the tutorial's realserver.sh).",
        discussion: """
            up: adds each VIP to the interface (default lo) as a host address labelled lo:vigil and sets \
            net.ipv4.conf.{all,lo}.arp_ignore=1 and arp_announce=2 (IPv4 VIPs only; IPv6 needs no such \
            setting). down: removes the VIPs and, once no VIP is left on the interface, sets those four \
            values back to 0. status: prints the VIPs found and the ARP settings. Needs root.
            """,
        subcommands: [Up.self, Down.self, Status.self]
    )

    struct Arguments: ParsableArguments {
        @Argument(help: "Virtual IP addresses (IPv4 or IPv6).") var vips: [String] = []
        @Option(name: .customLong("interface"), help: "Interface that holds the VIPs.") var interface = "lo"

        /// Parses the VIPs, then runs `body` with them and a route socket; errors become one `vigilctl:` line.
        func withAddresses(_ body: ([InterfaceAddress], RouteNetlinkSocket) throws -> Void) throws {
            let addresses = try addresses()
            guard !addresses.isEmpty else { throw ValidationError("name at least one VIP") }
            try RealServerSetup.run { try body(addresses, try RouteNetlinkSocket()) }
        }

        func addresses() throws -> [InterfaceAddress] {
            try vips.map { text in
                guard let address = IPAddress(text) else {
                    printError("vigilctl: '\(text)' is not an IPv4 or IPv6 address")
                    throw ExitCode(2)
                }
                return RealServerSetup.hostAddress(address, interface: interface)
            }
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add the VIPs and suppress ARP for them.")
        @OptionGroup var arguments: Arguments

        func run() throws {
            try arguments.withAddresses { addresses, socket in
                if addresses.contains(where: { $0.address.family == .ipv4 }) {
                    try RealServerSetup.setARP(ignore: 1, announce: 2)
                }
                for address in addresses {
                    let added = try socket.addAddress(address)
                    print("\(address.address) on \(address.interface): \(added ? "added" : "already there")")
                }
            }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the VIPs; restore ARP once none is left.")
        @OptionGroup var arguments: Arguments

        func run() throws {
            try arguments.withAddresses { addresses, socket in
                for address in addresses {
                    let removed = try socket.deleteAddress(address)
                    print("\(address.address) on \(address.interface): \(removed ? "removed" : "was not there")")
                }
                let left = try RealServerSetup.vips(on: arguments.interface, socket: socket)
                if left.allSatisfy({ $0.address.family != .ipv4 }) {
                    try RealServerSetup.setARP(ignore: 0, announce: 0)
                    print("no IPv4 VIP left on \(arguments.interface): arp_ignore and arp_announce back to 0")
                }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the VIPs on the interface and the ARP settings.")
        @Option(name: .customLong("interface"), help: "Interface that holds the VIPs.") var interface = "lo"

        func run() throws {
            try RealServerSetup.run {
                let found = try RealServerSetup.vips(on: interface, socket: try RouteNetlinkSocket())
                print(
                    "VIPs on \(interface): "
                        + (found.isEmpty ? "none" : found.map { "\($0.address)" }.joined(separator: " ")))
                for key in RealServerSetup.arpKeys {
                    print("\(key) = \(RealServerSetup.readSysctl(key) ?? "?")")
                }
            }
        }
    }
}

/// The pieces of `vigilctl realserver`.
enum RealServerSetup {
    static let arpKeys = [
        "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.lo.arp_ignore",
        "net.ipv4.conf.all.arp_announce", "net.ipv4.conf.lo.arp_announce",
    ]

    /// A VIP as a host address: /32 or /128, host scope on lo as realserver.sh's `netmask 255.255.255.255`;
    /// IPv6 without duplicate address detection (every real server holds the same VIP).
    static func hostAddress(_ address: IPAddress, interface: String) -> InterfaceAddress {
        let isIPv4 = address.family == .ipv4
        return InterfaceAddress(
            address: address, prefixLength: isIPv4 ? 32 : 128, interface: interface,
            label: isIPv4 ? "\(interface):vigil".prefix(15).description : nil, scope: nil, broadcast: nil,
            noDAD: !isIPv4)
    }

    /// The addresses on `interface` that are not loopback's own (127.0.0.0/8, ::1).
    static func vips(on interface: String, socket: RouteNetlinkSocket) throws(NetlinkError) -> [InterfaceAddress] {
        try socket.addresses(interface: interface).filter { entry in
            switch entry.address {
            case .v4(let value): value >> 24 != 127
            case .v6: entry.address != IPAddress("::1")
            }
        }
    }

    static func setARP(ignore: Int, announce: Int) throws {
        for key in arpKeys {
            try writeSysctl(key, key.hasSuffix("arp_ignore") ? ignore : announce)
        }
    }

    static func path(_ key: String) -> String { "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/") }

    static func writeSysctl(_ key: String, _ value: Int) throws {
        let fd = open(path(key), O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SysctlError(key: key, errno: errno) }
        defer { close(fd) }
        let text = Array("\(value)\n".utf8)
        guard write(fd, text, text.count) == text.count else { throw SysctlError(key: key, errno: errno) }
    }

    static func readSysctl(_ key: String) -> String? {
        let fd = open(path(key), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body`, printing any error as one `vigilctl:` line with exit status 1.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("vigilctl: \(error)")
            throw ExitCode(1)
        }
    }
}

struct SysctlError: Error, CustomStringConvertible {
    var key: String
    var errno: Int32
    var description: String { "cannot set \(key): \(String(cString: strerror(errno))) (are you root?)" }
}
