import Foundation
import Testing

/// `vigilctl realserver` in a network namespace of the test's own, read back with `ip` and /proc.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for a network namespace"))
struct RealServerCommandTests {
    let namespace = "vctl-rs-\(getpid())"

    /// Runs `ip netns exec NAMESPACE COMMAND…` and returns its status and output.
    func inNamespace(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func vigilctl(_ arguments: String...) throws -> (status: Int32, output: String) {
        try inNamespace([productsDirectory.appendingPathComponent("vigilctl").path] + arguments)
    }

    func sysctl(_ key: String) throws -> String {
        try inNamespace(["cat", "/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func upAndDownDoWhatRealserverShDid() throws {
        #expect(try runIP(["netns", "add", namespace]) == 0)
        defer { _ = try? runIP(["netns", "del", namespace]) }
        _ = try inNamespace(["ip", "link", "set", "lo", "up"])

        let up = try vigilctl("realserver", "up", "192.0.2.210", "2001:db8::210")
        #expect(up.status == 0, "\(up.output)")
        let addresses = try inNamespace(["ip", "-o", "addr", "show", "dev", "lo"]).output
        #expect(addresses.contains("inet 192.0.2.210/32"))
        #expect(addresses.contains("lo:vigil"))
        #expect(addresses.contains("inet6 2001:db8::210/128"))
        for key in ["net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.lo.arp_ignore"] { #expect(try sysctl(key) == "1") }
        for key in ["net.ipv4.conf.all.arp_announce", "net.ipv4.conf.lo.arp_announce"] {
            #expect(try sysctl(key) == "2")
        }

        let again = try vigilctl("realserver", "up", "192.0.2.210")
        #expect(again.status == 0 && again.output.contains("already there"), "\(again.output)")

        let down = try vigilctl("realserver", "down", "192.0.2.210", "2001:db8::210")
        #expect(down.status == 0, "\(down.output)")
        let after = try inNamespace(["ip", "-o", "addr", "show", "dev", "lo"]).output
        #expect(!after.contains("192.0.2.210") && !after.contains("2001:db8::210"))
        #expect(try sysctl("net.ipv4.conf.all.arp_ignore") == "0")
        #expect(try sysctl("net.ipv4.conf.all.arp_announce") == "0")

        let bad = try vigilctl("realserver", "up", "not-an-address")
        #expect(bad.status == 2 && bad.output.contains("'not-an-address' is not an IPv4 or IPv6 address"))
    }

    func runIP(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
