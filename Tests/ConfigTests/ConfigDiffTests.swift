import Config
import Foundation
import Testing

@Suite struct ConfigDiffTests {
    static let base = """
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 100
            virtual_ipaddress {
                192.0.2.100/24
            }
        }
        virtual_server 192.0.2.100 80 {
            lb_algo rr
            lb_kind DR
            real_server 198.51.100.11 80 {
                weight 1
                TCP_CHECK {
                    connect_timeout 3
                }
            }
            real_server 198.51.100.12 80 {
                weight 1
            }
        }
        """

    func diff(_ old: String, _ new: String) throws -> ConfigDiff {
        let before = ConfigLoader.load(text: old)
        let after = ConfigLoader.load(text: new)
        try #require(before.isValid, "\(before.diagnostics)")
        try #require(after.isValid, "\(after.diagnostics)")
        return ConfigDiff(from: before.config, to: after.config)
    }

    @Test func theSameFileMovedAroundIsNoChange() throws {
        let moved = "\n\n# a comment\n" + Self.base
        #expect(try diff(Self.base, moved).isEmpty)
        #expect(try diff(Self.base, moved).rendered == "no change")
    }

    @Test func aWeightChangeIsOneEditOfOneRealServer() throws {
        let changed = Self.base.replacingFirst("weight 1", with: "weight 7")
        let result = try diff(Self.base, changed)
        #expect(
            result.changes == [.changed("real_server 198.51.100.11 80 of 192.0.2.100 80 TCP", detail: "weight 1 → 7")])
    }

    @Test func addedAndRemovedServersAndVIPs() throws {
        let changed =
            Self.base
            .replacingFirst("192.0.2.100/24", with: "192.0.2.100/24\n192.0.2.101/24")
            .replacingFirst("real_server 198.51.100.12 80", with: "real_server 198.51.100.13 80")
            + "\nvirtual_server 192.0.2.100 443 {\n lb_algo wrr\n real_server 198.51.100.11 443 {\n }\n}\n"
        let lines = try diff(Self.base, changed).changes.map(\.description)
        #expect(lines.contains("~ vrrp_instance VI_1: + VIP 192.0.2.101/24"))
        #expect(lines.contains("- real_server 198.51.100.12 80 of 192.0.2.100 80 TCP"))
        #expect(lines.contains("+ real_server 198.51.100.13 80 of 192.0.2.100 80 TCP"))
        #expect(lines.contains("+ virtual_server 192.0.2.100 443 TCP (1 real servers)"))
        #expect(lines.count == 4)
    }

    @Test func instancesMatchByVRIDAndInterfaceNotName() throws {
        let renamed = Self.base.replacingFirst("VI_1", with: "VI_web").replacingFirst(
            "priority 100", with: "priority 90")
        #expect(
            try diff(Self.base, renamed).changes.map(\.description) == [
                "~ vrrp_instance VI_web: renamed from VI_1, priority 100 → 90"
            ])
        let otherVRID = Self.base.replacingFirst("virtual_router_id 51", with: "virtual_router_id 52")
        #expect(
            try diff(Self.base, otherVRID).changes.map(\.description) == [
                "- vrrp_instance VI_1 (VRID 51 IPv4 on eth0)", "+ vrrp_instance VI_1 (VRID 52 IPv4 on eth0)",
            ])
    }

    @Test func checkerAndSchedulerChanges() throws {
        let changed = Self.base.replacingFirst("connect_timeout 3", with: "connect_timeout 5")
            .replacingFirst("lb_algo rr", with: "lb_algo wlc")
        #expect(
            try diff(Self.base, changed).changes.map(\.description) == [
                "~ virtual_server 192.0.2.100 80 TCP: lb_algo rr → wlc",
                "~ real_server 198.51.100.11 80 of 192.0.2.100 80 TCP: checkers or settings changed",
            ])
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
