import Config
import Foundation
import Netlink
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// keepalived's no-accept filter against the host kernel, in namespaces `vio-*`.
@Suite(.serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(1)))
struct NoAcceptFilterTests {
    @Test func blockedAddressesAreDroppedUntilUnblocked() throws {
        let namespace = try TestNamespace("nft")
        defer { namespace.close() }
        _ = namespace.ip("addr", "add", "192.0.2.100/24", "dev", "vio0")
        _ = namespace.ip("addr", "add", "2001:db8::100/64", "dev", "vio0", "nodad")
        func ping(_ address: String) -> Bool {
            run(["ip", "netns", "exec", namespace.name, "busybox", "ping", "-c", "1", "-W", "1", address]).status == 0
        }
        func ruleset() -> String { run(["ip", "netns", "exec", namespace.name, "nft", "list", "ruleset"]).output }
        #expect(ping("192.0.2.100"))
        try namespace.enter {
            let filter = try NoAcceptFilter(table: "vigil", counters: true)
            try filter.block([IPAddress("192.0.2.100")!, IPAddress("2001:db8::100")!])
            try filter.block([IPAddress("192.0.2.100")!])  // again: no error, no second element
        }
        let shown = ruleset()
        #expect(shown.contains("table ip vigil {"), "\(shown)")
        #expect(shown.contains("type ipv4_addr") && shown.contains("elements = { 192.0.2.100 }"), "\(shown)")
        #expect(shown.contains("type filter hook input priority filter - 1; policy accept;"), "\(shown)")
        #expect(shown.contains("ip daddr @vips counter packets"), "\(shown)")
        #expect(shown.contains("ip saddr @vips counter packets"), "\(shown)")
        #expect(shown.contains("table ip6 vigil {") && shown.contains("elements = { 2001:db8::100 }"), "\(shown)")
        #expect(shown.contains("icmpv6 type nd-neighbor-solicit accept"), "\(shown)")
        #expect(!ping("192.0.2.100") && !ping("2001:db8::100"))
        #expect(ping("127.0.0.1"))
        try namespace.enter {
            // A second filter (a restarted worker) rebuilds the tables without duplicating rules.
            let filter = try NoAcceptFilter(table: "vigil")
            try filter.block([IPAddress("192.0.2.100")!])
            #expect(ruleset().components(separatedBy: "ip daddr @vips").count == 2)
            try filter.unblock([IPAddress("192.0.2.100")!, IPAddress("192.0.2.7")!])
            #expect(ping("192.0.2.100"))
            try filter.removeTables()
            try filter.removeTables()
        }
        #expect(!ruleset().contains("vigil"))
    }
}
