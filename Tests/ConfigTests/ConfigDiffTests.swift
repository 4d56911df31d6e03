import Foundation
import Testing

@testable import Config

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

    @Test func reorderedVirtualServersAreNoChangeAndAnEditAmongThemIsOne() throws {
        func farm(_ order: [Int], weightOf edited: Int? = nil) -> String {
            order.map { service in
                "virtual_server 192.0.2.\(service) 80 {\n  protocol TCP\n  real_server 198.51.100.1 80 {\n"
                    + "    weight \(service == edited ? 9 : 1)\n  }\n}\n"
            }.joined()
        }
        #expect(try diff(farm([1, 2, 3, 4]), farm([4, 1, 2, 3])).isEmpty)
        #expect(try diff(farm([1, 2, 3, 4]), farm([1, 2, 3, 4], weightOf: 3)).changes.count == 1)
        let moved = try diff(farm([1, 2, 3, 4]), farm([2, 1, 5, 4], weightOf: 4))
        #expect(
            moved.changes.map(\.description).sorted() == [
                "+ virtual_server 192.0.2.5 80 TCP (1 real servers)", "- virtual_server 192.0.2.3 80 TCP",
                "~ real_server 198.51.100.1 80 of 192.0.2.4 80 TCP: weight 1 → 9",
            ])
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

/// `ConfigDiff.sameIgnoringLocations` on nested collections: a moved object (only its `location` differs) is no
/// change, a changed value is one, wherever it sits.
@Suite struct ConfigDiffComparisonTests {
    struct Located: Hashable {
        var name: String
        var location: Config.SourceLocation
    }

    struct Holder: Hashable {
        var list: [Located] = []
        var byName: [String: Located] = [:]
        var members: Set<Located> = []
        var optional: Located?
        var nested: [[String: [Located?]]] = []
    }

    static func located(_ name: String, line: Int) -> Located {
        Located(name: name, location: Config.SourceLocation(file: "/etc/keepalived/keepalived.conf", line: line))
    }

    /// The objects of `names`, each on line `line + i`, in that order; the dictionaries with room for `capacity`.
    static func holder(names: [String], line: Int, capacity: Int) -> Holder {
        var holder = Holder()
        holder.byName.reserveCapacity(capacity)
        var inner: [String: [Located?]] = [:]
        inner.reserveCapacity(capacity)
        for (index, name) in names.enumerated() {
            let object = located(name, line: line + index)
            holder.list.append(object)
            holder.byName[name] = object
            holder.members.insert(object)
            inner[name] = [object, nil]
        }
        holder.optional = located("object0", line: line)
        holder.nested = [inner]
        return holder
    }

    static let names = (0..<64).map { "object\($0)" }

    @Test func movedObjectsInNestedCollectionsAreNoChange() throws {
        let before = Self.holder(names: Self.names, line: 10, capacity: 0)
        let after = Self.holder(names: Self.names.reversed(), line: 500, capacity: 4096)
        // The test means something only when the mirrors list the dictionaries' entries in another order.
        try #require(Array(before.byName.keys) != Array(after.byName.keys))
        var reordered = after
        reordered.list = before.list.map { Self.located($0.name, line: $0.location.line + 1000) }
        #expect(before != reordered)
        #expect(ConfigDiff.sameIgnoringLocations(before, reordered))
    }

    @Test func aChangedValueAnywhereIsAChange() {
        let before = Self.holder(names: Self.names, line: 10, capacity: 0)
        let edits: [(String, (inout Holder) -> Void)] = [
            ("array element", { $0.list[3].name = "other" }),
            ("dictionary value", { $0.byName["object5"]?.name = "other" }),
            ("dictionary key", { $0.byName["other"] = $0.byName.removeValue(forKey: "object5") }),
            (
                "set member",
                {
                    $0.members = Set(
                        $0.members.map { $0.name == "object7" ? Located(name: "other", location: $0.location) : $0 })
                }
            ),
            ("optional to nil", { $0.optional = nil }),
            ("optional value", { $0.optional?.name = "other" }),
            ("nested optional", { $0.nested[0]["object9"]?[1] = Self.located("object9", line: 1) }),
            ("nested value", { $0.nested[0]["object9"]?[0]?.name = "other" }),
            ("array length", { $0.list.removeLast() }),
        ]
        for (what, edit) in edits {
            var after = Self.holder(names: Self.names, line: 300, capacity: 4096)
            edit(&after)
            #expect(!ConfigDiff.sameIgnoringLocations(before, after), "\(what)")
        }
    }

    @Test func aMovedRealServerBlockIsNoChangeAndAnEditIsOne() throws {
        let base = ConfigDiffTests.base
        // The second real server moved above the first: both keep their settings.
        let first = """
                real_server 198.51.100.11 80 {
                    weight 1
                    TCP_CHECK {
                        connect_timeout 3
                    }
                }

            """
        let second = "    real_server 198.51.100.12 80 {\n        weight 1\n    }\n"
        try #require(base.contains(first) && base.contains(second))
        let swapped = base.replacingFirst(first, with: "").replacingFirst(second, with: second + first)
        let before = ConfigLoader.load(text: base)
        let after = ConfigLoader.load(text: swapped)
        try #require(after.isValid, "\(after.diagnostics)")
        #expect(before.config != after.config)
        #expect(ConfigDiff(from: before.config, to: after.config).isEmpty)
        let edited = ConfigLoader.load(text: swapped.replacingFirst("connect_timeout 3", with: "connect_timeout 4"))
        #expect(
            ConfigDiff(from: before.config, to: edited.config).changes.map(\.description) == [
                "~ real_server 198.51.100.11 80 of 192.0.2.100 80 TCP: checkers or settings changed"
            ])
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
