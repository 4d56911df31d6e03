import Foundation
import Testing

@testable import Config

/// Loads configuration text; the schema's diagnostics come with it.
func loadVRRP(_ text: String) -> LoadedConfig {
    ConfigLoader.load(text: text)
}

/// A minimal valid instance around `body`.
func instanceText(_ body: String, name: String = "VI_1", interface: String = "eth0", vrid: Int = 51) -> String {
    """
    vrrp_instance \(name) {
        interface \(interface)
        virtual_router_id \(vrid)
    \(body)
    }
    """
}

/// One keyword case: a snippet of configuration, and what the model must then hold.
struct ModelCase<Model>: Sendable, CustomTestStringConvertible {
    var snippet: String
    var check: @Sendable (Model) -> Bool
    var testDescription: String { snippet.replacingOccurrences(of: "\n", with: " ⏎ ") }

    init(_ snippet: String, _ check: @escaping @Sendable (Model) -> Bool) {
        self.snippet = snippet
        self.check = check
    }
}

typealias InstanceCase = ModelCase<VRRPInstance>

let peerCase: @Sendable (VRRPInstance) -> Bool = {
    $0.unicastPeers.map(\.address) == [IPAddress("192.0.2.3")!] && $0.unicastPeers[0].minTTL == 1
        && $0.unicastPeers[0].maxTTL == 64
}

let instanceCases: [InstanceCase] = [
    InstanceCase("state MASTER") { $0.initialState == .master },
    InstanceCase("state BACKUP") { $0.initialState == .backup },
    InstanceCase("priority 150") { $0.priority == 150 },
    InstanceCase("priority 255") { $0.priority == 255 },
    InstanceCase("advert_int 3") { $0.advertInterval == .seconds(3) },
    InstanceCase("version 3\nadvert_int 0.05") { $0.advertInterval == .milliseconds(50) && $0.version == 3 },
    InstanceCase("version 2") { $0.version == 2 },
    InstanceCase("authentication {\nauth_type PASS\nauth_pass secret\n}") {
        $0.authentication == Authentication(type: .pass, password: "secret")
    },
    InstanceCase("authentication {\nauth_type AH\nauth_pass x\n}") { $0.authentication?.type == .ah },
    InstanceCase("virtual_ipaddress {\n192.0.2.10/24 dev eth1 label eth1:1\n}") {
        $0.virtualAddresses.first?.prefix == IPPrefix("192.0.2.10/24") && $0.virtualAddresses[0].device == "eth1"
            && $0.virtualAddresses[0].label == "eth1:1"
    },
    InstanceCase("virtual_ipaddress {\n192.0.2.10 brd 192.0.2.255 scope link no_track home\n}") {
        let address = $0.virtualAddresses[0]
        return address.prefix.length == 32 && address.broadcast == .address(IPAddress("192.0.2.255")!)
            && address.scope == "link" && address.noTrack && address.home
    },
    InstanceCase("virtual_ipaddress {\n192.0.2.10/24 brd + -nodad mngtmpaddr noprefixroute autojoin\n}") {
        let address = $0.virtualAddresses[0]
        return address.broadcast == .setHostBits && address.noDAD && address.mngTmpAddr && address.noPrefixRoute
            && address.autoJoin
    },
    InstanceCase("virtual_ipaddress {\n192.0.2.10/24 peer 192.0.2.20 dev eth1 use_vmac vm1 preferred_lft forever\n}") {
        let address = $0.virtualAddresses[0]
        return address.peer == IPPrefix("192.0.2.20") && address.useVMAC && address.vmacName == "vm1"
            && address.preferredLifetime == .forever
    },
    InstanceCase("virtual_ipaddress {\n2001:db8::10/64 preferred_lft 0\n}") {
        $0.virtualAddresses[0].preferredLifetime == .seconds(0) && $0.family == .ipv6
    },
    InstanceCase("virtual_ipaddress_excluded {\n192.0.2.11\n2001:db8::11\n}") {
        $0.excludedVirtualAddresses.count == 2
    },
    InstanceCase("virtual_routes {\nsrc 192.0.2.1 to 198.51.100.0/24 via 192.0.2.254 dev eth1 table 100 no_track\n}") {
        let route = $0.virtualRoutes[0]
        return route.source == IPAddress("192.0.2.1") && route.destination == IPPrefix("198.51.100.0/24")
            && route.gateway == IPAddress("192.0.2.254") && route.device == "eth1" && route.table == "100"
            && route.noTrack
    },
    InstanceCase("virtual_routes {\nblackhole 198.51.100.0/24\n}") {
        $0.virtualRoutes[0].type == "blackhole" && $0.virtualRoutes[0].destination == IPPrefix("198.51.100.0/24")
    },
    InstanceCase("virtual_routes {\n0.0.0.0/0 gw 192.0.2.1 or 192.0.2.2 metric 5 mtu 1400\n}") {
        let route = $0.virtualRoutes[0]
        // keepalived's deprecated `or`: two next hops.
        return route.alternateGateway == IPAddress("192.0.2.2") && route.metric == 5
            && route.metrics == [RouteMetric(name: "mtu", value: 1400)] && route.options.isEmpty
            && route.nexthops.map(\.gateway) == [IPAddress("192.0.2.1"), IPAddress("192.0.2.2")] && route.gateway == nil
    },
    InstanceCase("virtual_rules {\nfrom 192.0.2.0/24 to 198.51.100.0/24 table 1 preference 100 no_track\n}") {
        let rule = $0.virtualRules[0]
        return rule.from == IPPrefix("192.0.2.0/24") && rule.to == IPPrefix("198.51.100.0/24") && rule.table == "1"
            && rule.preference == 100 && rule.noTrack
    },
    InstanceCase("virtual_rules {\nfrom all fwmark 24 table 2\n}") {
        $0.virtualRules[0].from == nil && $0.virtualRules[0].options == [["fwmark", "24"]]
    },
    InstanceCase("promote_secondaries") { $0.promoteSecondaries },
    InstanceCase("mcast_src_ip 192.0.2.2") { $0.multicastSourceIP == IPAddress("192.0.2.2") },
    InstanceCase("unicast_src_ip 192.0.2.2") { $0.unicastSourceIP == IPAddress("192.0.2.2") },
    InstanceCase("mcast_dst_ip 224.0.0.19") { $0.multicastDestinationIP == IPAddress("224.0.0.19") },
    InstanceCase("track_src_ip") { $0.trackSourceIP },
    InstanceCase("unicast_peer {\n192.0.2.3 min_ttl 1 max_ttl 64\n}", peerCase),
    InstanceCase("unicast_ttl 10") { $0.unicastTTL == 10 },
    InstanceCase("unicast_fault_no_peer") { $0.unicastFaultNoPeer },
    InstanceCase("check_unicast_src") { $0.checkUnicastSource == true },
    InstanceCase("use_vmac") { $0.useVMAC == VirtualMAC() },
    InstanceCase("use_vmac vrrp51 02:00:5e:00:01") {
        $0.useVMAC == VirtualMAC(interfaceName: "vrrp51", address: "02:00:5e:00:01")
    },
    InstanceCase("use_vmac_addr") { $0.useVMACAddr },
    InstanceCase("use_vmac\nvmac_xmit_base") { $0.vmacXmitBase },
    InstanceCase("native_ipv6") { $0.nativeIPv6 },
    InstanceCase("dont_track_primary") { $0.dontTrackPrimary },
    InstanceCase("track_interface {\neth1\neth2 weight -20 reverse\n}") {
        $0.trackInterfaces == [
            TrackedInterface(name: "eth1"), TrackedInterface(name: "eth2", weight: -20, reverse: true),
        ]
    },
    InstanceCase("nopreempt") { $0.nopreempt },
    InstanceCase("nopreempt\npreempt") { !$0.nopreempt },
    InstanceCase("preempt_delay 4.12") { $0.preemptDelay == .milliseconds(4120) },
    InstanceCase("accept") { $0.accept == true },
    InstanceCase("no_accept") { $0.accept == false },
    InstanceCase("down_timer_adverts 5") { $0.downTimerAdverts == 5 },
    InstanceCase("strict_mode\nvirtual_ipaddress {\n192.0.2.1\n}") { $0.strictMode == true },
    InstanceCase("strict_mode off") { $0.strictMode == false },
    InstanceCase("skip_check_adv_addr on") { $0.skipCheckAdvAddr == true },
    InstanceCase("lower_prio_no_advert") { $0.lowerPrioNoAdvert == true },
    InstanceCase("higher_prio_send_advert false") { $0.higherPrioSendAdvert == false },
    InstanceCase("garp_master_delay 10") { $0.garpMasterDelay == .seconds(10) },
    InstanceCase("garp_master_repeat 1") { $0.garpMasterRepeat == 1 },
    InstanceCase("garp_lower_prio_delay 2") { $0.garpLowerPrioDelay == .seconds(2) },
    InstanceCase("garp_lower_prio_repeat 3") { $0.garpLowerPrioRepeat == 3 },
    InstanceCase("garp_master_refresh 60") { $0.garpMasterRefresh == .seconds(60) },
    InstanceCase("garp_master_refresh_repeat 2") { $0.garpMasterRefreshRepeat == 2 },
    InstanceCase("notify_master /bin/master.sh") { $0.notify.master?.arguments == ["/bin/master.sh"] },
    InstanceCase("notify_backup \"/bin/vrrp.sh BACKUP 'VI 1'\" nobody nogroup") {
        $0.notify.backup
            == ScriptCommand(
                text: "/bin/vrrp.sh BACKUP 'VI 1'", arguments: ["/bin/vrrp.sh", "BACKUP", "VI 1"], user: "nobody",
                group: "nogroup")
    },
    InstanceCase("notify_fault /bin/fault") { $0.notify.fault?.text == "/bin/fault" },
    InstanceCase("notify_stop /bin/stop") { $0.notify.stop?.text == "/bin/stop" },
    InstanceCase("notify_deleted") { $0.notify.deleted && $0.notify.deletedScript == nil },
    InstanceCase("notify_deleted /bin/deleted") {
        $0.notify.deleted && $0.notify.deletedScript?.text == "/bin/deleted"
    },
    InstanceCase("notify /bin/any") { $0.notify.any?.text == "/bin/any" },
    InstanceCase("notify_master_rx_lower_pri /bin/rx") { $0.notify.masterRxLowerPri?.text == "/bin/rx" },
    InstanceCase("notify_priority_changes yes") { $0.notifyPriorityChanges == true },
    InstanceCase("smtp_alert") { $0.smtpAlert == true },
    InstanceCase("debug 2") { $0.debug == 2 },
    InstanceCase("kernel_rx_buf_size 65536") { $0.kernelRxBufSize == 65536 },
]

@Suite("VRRP schema")
struct VRRPSchemaTests {
    @Test("Each vrrp_instance keyword lands in the model", arguments: instanceCases)
    func instanceKeyword(_ testCase: InstanceCase) throws {
        let loaded = loadVRRP(instanceText(testCase.snippet))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics.errors)")
        let instance = try #require(loaded.config.vrrp.instances.first)
        #expect(testCase.check(instance))
    }

    @Test("An instance's defaults are keepalived's")
    func instanceDefaults() throws {
        let loaded = loadVRRP(instanceText(""))
        #expect(loaded.diagnostics.map(\.message) == ["vrrp_instance 'VI_1' has no virtual_ipaddress"])
        let instance = try #require(loaded.config.vrrp.instances.first)
        #expect(instance.name == "VI_1")
        #expect(instance.interface == "eth0")
        #expect(instance.virtualRouterID == 51)
        #expect(instance.initialState == .backup)
        #expect(instance.priority == 100)
        #expect(instance.advertInterval == .seconds(1))
        #expect(instance.version == nil)
        #expect(instance.effectiveVersion(loaded.config.globalDefs) == 2)
        #expect(instance.preemptDelay == .zero)
        #expect(!instance.nopreempt)
        #expect(instance.accept == true)  // keepalived: Accept_Mode on unless strict
        #expect(instance.authentication == nil)
        #expect(instance.location.line == 1)
    }

    @Test(
        "Out-of-range and malformed values are errors naming the keyword and line",
        arguments: [
            ("virtual_router_id 0", "'virtual_router_id' must be a whole number from 1 to 255"),
            ("priority 0", "'priority' must be a whole number from 1 to 255"),
            ("priority 256", "'priority'"),
            ("advert_int fast", "'advert_int' takes a time in seconds"),
            ("version 4", "'version' must be a whole number from 2 to 3"),
            ("preempt_delay 1001", "'preempt_delay' must be from 0 to 1000 seconds"),
            ("down_timer_adverts 101", "'down_timer_adverts'"),
            ("unicast_ttl 256", "'unicast_ttl'"),
            ("mcast_src_ip 192.0.2", "'192.0.2' is not an IPv4 or IPv6 address"),
            ("mcast_dst_ip 192.0.2.1", "must be a multicast address"),
            ("track_interface {\neth1 weight 254\n}", "weight must be a whole number from -253 to 253"),
            ("track_interface {\neth1 weight 10 sideways\n}", "takes one of reverse, noreverse"),
            ("strict_mode maybe", "'strict_mode' takes on|off"),
            ("virtual_ipaddress {\n192.0.2.300\n}", "'192.0.2.300' is not an address"),
            ("virtual_ipaddress {\n192.0.2.1 dve eth0\n}", "unknown option 'dve' in '192.0.2.1'; did you mean 'dev'?"),
            ("virtual_ipaddress {\n192.0.2.1 scope galaxy\n}", "'scope' takes site, link"),
            ("virtual_ipaddress {\n192.0.2.1 dev\n}", "'dev' needs a value"),
            ("unicast_peer {\n192.0.2.3 min_ttl 300\n}", "'min_ttl' must be a whole number from 0 to 255"),
            ("authentication {\nauth_type MD5\n}", "'auth_type' takes one of PASS, AH"),
            ("authentication {\nauth_pass x\n}", "'authentication' needs an 'auth_type'"),
            ("debug 5", "'debug'"),
            ("interface", "'interface' takes 1 value, got 0"),
        ])
    func valueErrors(_ snippet: String, _ message: String) {
        let loaded = loadVRRP(instanceText(snippet))
        let errors = loaded.diagnostics.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.message.contains(message) == true, "\(errors)")
        // The snippet starts on line 4; the offending statement is its first or last line.
        #expect((4...(4 + snippet.filter { $0 == "\n" }.count)).contains(errors.first?.location?.line ?? 0))
    }

    @Test("A misspelt keyword suggests the right one")
    func suggestion() {
        let errors = loadVRRP(instanceText("priorty 100")).diagnostics.errors
        #expect(errors.count == 1)
        #expect(
            errors.first?.message.contains("unknown keyword 'priorty' in vrrp_instance; did you mean 'priority'?")
                == true)
        #expect(errors.first?.location?.line == 4)
    }

    @Test(
        "use_ipvlan: name, address and mode in any order",
        arguments: [
            ("use_ipvlan 192.0.2.10/24", IPVLAN(address: IPPrefix("192.0.2.10/24"))),
            (
                "use_ipvlan vip0 private 192.0.2.10",
                IPVLAN(interfaceName: "vip0", address: IPPrefix("192.0.2.10"), mode: .private)
            ),
            (
                "use_ipvlan vepa 192.0.2.10/24 vip0",
                IPVLAN(interfaceName: "vip0", address: IPPrefix("192.0.2.10/24"), mode: .vepa)
            ),
            ("use_ipvlan 192.0.2.10/24 bridge", IPVLAN(address: IPPrefix("192.0.2.10/24"), mode: .bridge)),
        ])
    func useIPVLAN(_ line: String, _ expected: IPVLAN) throws {
        let loaded = loadVRRP(instanceText("\(line)\nvirtual_ipaddress {\n192.0.2.100/24\n}"))
        #expect(loaded.diagnostics.errors.isEmpty && loaded.diagnostics.warnings.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.config.vrrp.instances.first?.useIPVLAN == expected)
    }

    /// The first instance of `text`, which loads without an error and with a warning containing `warning` at `line`.
    static func instance(warned warning: String, at line: Int, in text: String) throws -> VRRPInstance {
        let loaded = loadVRRP(text)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let found = try #require(loaded.diagnostics.warnings.first { $0.message.contains(warning) })
        #expect(found.location?.line == line)
        return try #require(loaded.config.vrrp.instances.first)
    }

    @Test(
        "keepalived's use_ipvlan and vrf checks warn at the line",
        arguments: [
            ("use_ipvlan 192.0.2.10/24 private vepa", 4, "the mode is already given; 'vepa' ignored"),
            ("use_ipvlan 192.0.2.10/24 192.0.2.11", 4, "the address is already given as 192.0.2.10/24"),
            ("use_ipvlan a b 192.0.2.10/24", 4, "the interface name is already given as a; 'b' ignored"),
            ("use_ipvlan 192.0.2.10/24\nuse_ipvlan 192.0.2.11/24", 5, "'use_ipvlan' is already given"),
            (
                "use_ipvlan", 4,
                "an IPv4 'use_ipvlan' needs an address (the adverts' source); the instance stays in FAULT"
            ),
            ("use_ipvlan 2001:db8::10/64", 4, "'use_ipvlan' address 2001:db8::10/64 is not IPv4 like the instance"),
            ("use_vmac\nuse_ipvlan 192.0.2.10/24", 4, "'use_vmac' and 'use_ipvlan' are both given"),
            ("vrf blue", 4, "'vrf blue' can only be given without 'interface'"),
            ("vrf blue\nvrf red", 5, "VRF interface already given as 'blue'"),
            ("vrf a-very-long-vrf-name", 4, "VRF interface name 'a-very-long-vrf-name' is too long"),
        ])
    func ipvlanAndVRFWarnings(_ snippet: String, _ line: Int, _ warning: String) throws {
        let text = instanceText("\(snippet)\nvirtual_ipaddress {\n192.0.2.100/24\n}")
        let instance = try Self.instance(warned: warning, at: line, in: text)
        #expect(instance.vrf == nil)
        #expect(instance.useVMAC == nil)
    }

    @Test("vrf: taken by a unicast instance without interface; warned without unicast; use_ipvlan needs interface")
    func vrfWithoutInterface() throws {
        let unicast = """
            vrrp_instance VI_1 {
                virtual_router_id 51
                vrf blue
                use_ipvlan 192.0.2.10/24
                unicast_src_ip 192.0.2.1
                unicast_peer {
                    192.0.2.2
                }
                virtual_ipaddress {
                    192.0.2.100/24
                }
            }
            """
        let loaded = loadVRRP(unicast)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.config.vrrp.instances.first?.vrf == "blue")
        #expect(loaded.config.vrrp.instances.first?.useIPVLAN == nil)
        #expect(
            loaded.diagnostics.warnings.map(\.description) == [
                "<config>:4: warning: 'use_ipvlan' needs the instance's 'interface' (the ipvlan's parent); ignored "
                    + "(keepalived)"
            ])
        let multicast = loadVRRP(
            "vrrp_instance VI_1 {\nvirtual_router_id 51\nvrf blue\nunicast_src_ip 192.0.2.1\n"
                + "virtual_ipaddress {\n192.0.2.100/24\n}\n}\n")
        #expect(multicast.config.vrrp.instances.first?.vrf == nil)
        #expect(
            multicast.diagnostics.warnings.contains {
                $0.description.contains("3: warning: 'vrf blue' can only be given with unicast_peer")
            })
    }

    @Test(
        "keepalived's use_vmac checks warn at the line and drop what keepalived drops",
        arguments: [
            ("use_vmac 01:00:5e:00:00", 4, "is a multicast address"),
            ("use_vmac 00:00:5e:00:02:07", 4, "RFC 5798's virtual router range"),
            ("vmac_xmit_base", 4, "only valid with 'use_vmac'"),
            (
                "use_vmac\nvmac_xmit_base\nstrict_mode\nvirtual_ipaddress {\n192.0.2.1\n}", 5,
                "incompatible with strict mode"
            ),
            ("use_vmac\nunicast_peer {\n192.0.2.9\n}", 4, "needs 'vmac_xmit_base'"),
            ("virtual_ipaddress {\n192.0.2.10/24 use_vmac\n}", 5, "needs 'dev INTERFACE'"),
        ])
    func virtualMACWarnings(_ snippet: String, _ line: Int, _ text: String) throws {
        let instance = try Self.instance(warned: text, at: line, in: instanceText(snippet))
        #expect(instance.useVMAC?.address == nil)
        #expect(instance.virtualAddresses.allSatisfy { !$0.useVMAC })
        #expect(instance.vmacXmitBase == snippet.contains("unicast_peer"))
    }

    @Test("Strict mode: keepalived's rules, each warned at its line; what keepalived refuses is an error")
    func strictModeRules() throws {
        let body =
            "strict_mode\nstate MASTER\npriority 100\naccept\ngarp_lower_prio_repeat 2\nlower_prio_no_advert off\n"
            + "higher_prio_send_advert\ndown_timer_adverts 5\nversion 2\nvirtual_ipaddress {\n192.0.2.1\n}"
        let loaded = loadVRRP(instanceText(body))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let lines = loaded.diagnostics.warnings.filter { $0.message.hasPrefix("strict mode") }.map {
            $0.location?.line ?? 0
        }
        #expect(lines == [5, 7, 8, 9, 10, 11], "\(loaded.diagnostics)")
        let instance = try #require(loaded.config.vrrp.instances.first)
        #expect(instance.initialState == .backup && instance.accept == false && instance.garpLowerPrioRepeat == 0)
        #expect(instance.lowerPrioNoAdvert == true && instance.higherPrioSendAdvert == false)
        #expect(instance.downTimerAdverts == 3)
        // Defaults: no accept unless owner, lower_prio_no_advert on.
        let plain = try #require(
            loadVRRP(instanceText("strict_mode\nvirtual_ipaddress {\n192.0.2.1\n}")).config.vrrp.instances.first)
        #expect(plain.accept == false && plain.lowerPrioNoAdvert == true)
        let owner = try #require(
            loadVRRP(instanceText("strict_mode\npriority 255\nvirtual_ipaddress {\n192.0.2.1\n}")).config.vrrp.instances
                .first)
        #expect(owner.accept == true && owner.initialState == .master)
        #expect(
            try #require(loadVRRP(instanceText("virtual_ipaddress {\n192.0.2.1\n}")).config.vrrp.instances.first).accept
                == true)
        // Refused: no VIP, unicast peers.
        let empty = loadVRRP(instanceText("strict_mode"))
        #expect(empty.diagnostics.errors.first?.message.contains("needs at least one virtual_ipaddress") == true)
        let unicast = loadVRRP(
            instanceText("strict_mode\nvirtual_ipaddress {\n192.0.2.1\n}\nunicast_peer {\n192.0.2.9\n}"))
        #expect(
            unicast.diagnostics.errors.first?.message.contains("unicast_peer is not allowed in strict mode") == true)
        #expect(unicast.diagnostics.errors.first?.location?.line == 8)
    }

    @Test("nftables, nftables_priority, nftables_counters")
    func nftablesKeywords() {
        let loaded = loadVRRP("global_defs {\nnftables\nnftables_priority -5\nnftables_counters\n}\n")
        #expect(loaded.diagnostics.errors.isEmpty && loaded.diagnostics.warnings.isEmpty, "\(loaded.diagnostics)")
        #expect(
            loaded.config.globalDefs.nftablesTable == "keepalived" && loaded.config.globalDefs.nftablesPriority == -5)
        #expect(loaded.config.globalDefs.nftablesCounters)
        #expect(loadVRRP("global_defs {\nnftables vip_filter\n}\n").config.globalDefs.nftablesTable == "vip_filter")
    }

    @Test("vmac_prefix and vmac_addr_prefix")
    func vmacPrefixes() {
        let loaded = loadVRRP(
            "global_defs {\nvmac_prefix vip\nvmac_addr_prefix addr\n}\n"
                + instanceText("use_vmac\nvirtual_ipaddress {\n192.0.2.1\n}"))
        #expect(loaded.diagnostics.errors.isEmpty && loaded.diagnostics.warnings.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.config.globalDefs.vmacPrefix == "vip" && loaded.config.globalDefs.vmacAddrPrefix == "addr")
        let bad = loadVRRP("global_defs {\nvmac_prefix a/b\n}\n" + instanceText("use_vmac"))
        #expect(bad.diagnostics.errors.first?.message.contains("cannot start an interface name") == true)
    }

    @Test("auth_pass longer than 8 characters is truncated with a warning")
    func longPassword() throws {
        let loaded = loadVRRP(instanceText("authentication {\nauth_type PASS\nauth_pass 1234567890\n}"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("longer than 8") })
        #expect(loaded.diagnostics.warnings.first?.location?.line == 6)
        #expect(try #require(loaded.config.vrrp.instances.first).authentication?.password == "12345678")
    }

    @Test("An unknown state warns and starts as BACKUP, as keepalived does")
    func unknownState() throws {
        let loaded = loadVRRP(instanceText("state EQUAL"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("unknown state 'EQUAL'") })
        #expect(try #require(loaded.config.vrrp.instances.first).initialState == .backup)
    }

    // MARK: Advert interval and version

    @Test("VRRPv2 rounds a fractional advert_int with a warning")
    func advertIntervalV2() throws {
        let loaded = loadVRRP(instanceText("advert_int 1.5"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("rounded to 2") })
        #expect(try #require(loaded.config.vrrp.instances.first).advertInterval == .seconds(2))
    }

    @Test(
        "VRRPv3 advert_int must be whole centiseconds up to 40.95 s",
        arguments: [("0.015", false), ("0.01", true), ("40.95", true), ("41", false), ("0.005", false), ("12", true)])
    func advertIntervalV3(_ value: String, _ valid: Bool) {
        let errors = loadVRRP(instanceText("version 3\nadvert_int \(value)")).diagnostics.errors
        #expect(errors.isEmpty == valid, "\(errors)")
        if !valid { #expect(errors.first?.location?.line == 5) }
    }

    @Test("The global vrrp_version applies to instances without their own")
    func globalVersion() {
        let loaded = loadVRRP("global_defs {\nvrrp_version 3\n}\n" + instanceText("advert_int 0.015"))
        #expect(loaded.diagnostics.errors.first?.message.contains("VRRPv3") == true)
        #expect(loaded.config.vrrp.instances.first?.effectiveVersion(loaded.config.globalDefs) == 3)
    }

    @Test("version 2 with IPv6 addresses switches to version 3 with a warning")
    func ipv6ForcesVersion3() throws {
        let loaded = loadVRRP(instanceText("version 2\nvirtual_ipaddress {\n2001:db8::1\n}"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("using version 3") })
        #expect(try #require(loaded.config.vrrp.instances.first).version == 3)
    }

    @Test("Authentication with VRRPv3 warns and is dropped")
    func authenticationV3() throws {
        let loaded = loadVRRP(instanceText("version 3\nauthentication {\nauth_type PASS\nauth_pass x\n}"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("VRRPv3 has no authentication") })
        #expect(try #require(loaded.config.vrrp.instances.first).authentication == nil)
    }

    @Test("Strict mode drops authentication and preempt_delay with warnings, as keepalived does")
    func strictMode() throws {
        let body =
            "authentication {\nauth_type PASS\nauth_pass x\n}\npreempt_delay 3\nvirtual_ipaddress {\n192.0.2.1\n}"
        for text in [
            "global_defs {\nvrrp_strict\n}\n" + instanceText(body), instanceText("strict_mode\n" + body),
        ] {
            let loaded = loadVRRP(text)
            #expect(loaded.diagnostics.errors.isEmpty)
            #expect(loaded.diagnostics.warnings.filter { $0.message.contains("strict mode") }.count == 2)
            let instance = try #require(loaded.config.vrrp.instances.first)
            #expect(instance.authentication == nil && instance.preemptDelay == .zero)
        }
    }

    // MARK: Within one instance

    @Test("An instance needs virtual_router_id")
    func missingVRID() {
        let errors = loadVRRP("vrrp_instance VI_1 {\ninterface eth0\n}").diagnostics.errors
        #expect(errors.map(\.message) == ["vrrp_instance 'VI_1' has no 'virtual_router_id'"])
        #expect(errors.first?.location?.line == 1)
    }

    @Test("An instance needs an interface unless it uses unicast")
    func missingInterface() {
        let multicast = loadVRRP("vrrp_instance VI_1 {\nvirtual_router_id 1\n}").diagnostics.errors
        #expect(multicast.first?.message.contains("has no 'interface'") == true)
        let unicast = loadVRRP(
            "vrrp_instance VI_1 {\nvirtual_router_id 1\nunicast_src_ip 192.0.2.1\nunicast_peer {\n192.0.2.2\n}\n}")
        #expect(unicast.diagnostics.errors.isEmpty, "\(unicast.diagnostics)")
    }

    @Test("virtual_ipaddress mixing families is an error at the odd address")
    func mixedFamilies() throws {
        let loaded = loadVRRP(instanceText("virtual_ipaddress {\n192.0.2.1\n2001:db8::1\n}"))
        #expect(loaded.diagnostics.errors.count == 1)
        #expect(loaded.diagnostics.errors.first?.location?.line == 6)
        #expect(try #require(loaded.config.vrrp.instances.first).virtualAddresses.count == 1)
        // The excluded list may mix them.
        #expect(loadVRRP(instanceText("virtual_ipaddress_excluded {\n192.0.2.1\n2001:db8::1\n}")).isValid)
    }

    @Test("A unicast peer of the other family is an error")
    func peerFamily() {
        let errors = loadVRRP(instanceText("unicast_src_ip 192.0.2.1\nunicast_peer {\n2001:db8::2\n}")).diagnostics
            .errors
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("unicast peer 2001:db8::2 is not IPv4") == true)
        #expect(errors.first?.location?.line == 6)
    }

    @Test("nopreempt with priority 255 warns and is cleared")
    func ownerNopreempt() throws {
        let loaded = loadVRRP(instanceText("priority 255\nnopreempt"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.location?.line == 5 })
        #expect(try !#require(loaded.config.vrrp.instances.first).nopreempt)
    }

    @Test("nopreempt with state MASTER warns and is cleared, as keepalived does")
    func masterNopreempt() throws {
        let loaded = loadVRRP(instanceText("state MASTER\npriority 100\nnopreempt"))
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("initial state is BACKUP") })
        #expect(try !#require(loaded.config.vrrp.instances.first).nopreempt)
    }

    @Test(
        "The initial state and priority default as keepalived's do",
        arguments: [
            ("", VRRPInstance.InitialState.backup, 100), ("priority 255", .master, 255), ("state MASTER", .master, 255),
            ("state MASTER\npriority 100", .master, 100), ("state BACKUP\npriority 255", .backup, 255),
        ])
    func initialState(_ snippet: String, _ state: VRRPInstance.InitialState, _ priority: Int) throws {
        let instance = try #require(loadVRRP(instanceText(snippet)).config.vrrp.instances.first)
        #expect(instance.initialState == state && instance.priority == priority)
    }

    @Test("Weights in a sync group without sync_group_tracking_weight: keepalived's rules, each warned at its line")
    func syncGroupWeights() throws {
        let text = """
            vrrp_script up {
                script /bin/true
                weight 10
            }
            vrrp_script plain {
                script /bin/true
            }
            track_file f {
                file /run/f
            }
            vrrp_sync_group G {
                group {
                    VI_1
                    VI_2
                }
                track_script {
                    up
                }
            }
            """ + "\n"
            + instanceText("track_interface {\neth1 weight 5\n}\ntrack_script {\nup\nplain\n}\ntrack_file {\nf\n}")
            + "\n" + instanceText("", name: "VI_2", vrid: 52)
        let loaded = loadVRRP(text)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let instance = try #require(loaded.config.vrrp.instance(named: "VI_1"))
        #expect(instance.trackInterfaces.map(\.weight) == [0])
        #expect(instance.trackScripts.map(\.name) == ["plain"])
        #expect(instance.trackFiles.map(\.weight) == [0])
        let warnings = loaded.diagnostics.warnings.filter { $0.message.contains("vrrp_sync_group 'G'") }
        #expect(warnings.map { $0.location?.line ?? 0 } == [24, 27, 31])
        // The group's own weighted script is untouched; with sync_group_tracking_weight nothing changes.
        #expect(loaded.config.vrrp.syncGroups.first?.trackScripts.first?.weight == nil)
        let allowed = loadVRRP(
            text.replacingOccurrences(
                of: "track_script {\n        up", with: "sync_group_tracking_weight\n    track_script {\n        up"))
        #expect(try #require(allowed.config.vrrp.instance(named: "VI_1")).trackScripts.count == 2)
    }

    // MARK: Scripts, files, groups, statics

    @Test("vrrp_script keywords and defaults")
    func vrrpScript() throws {
        let loaded = loadVRRP(
            """
            vrrp_script chk {
                script "/bin/check --port 80"
                interval 2
                timeout 3
                weight -20 reverse
                rise 2
                fall 3
                user nobody nogroup
                init_fail
            }
            vrrp_script plain {
                script /bin/true arg1
            }
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let script = try #require(loaded.config.vrrp.script(named: "chk"))
        #expect(script.script?.arguments == ["/bin/check", "--port", "80"])
        #expect(script.interval == .seconds(2))
        #expect(script.timeout == .seconds(3))
        #expect(script.weight == -20 && script.reverse)
        #expect(script.rise == 2 && script.fall == 3)
        #expect(script.user == ScriptUser(user: "nobody", group: "nogroup"))
        #expect(script.initFail)
        #expect(script.location.line == 1)
        let plain = try #require(loaded.config.vrrp.script(named: "plain"))
        #expect(plain.script?.arguments == ["/bin/true", "arg1"])
        #expect(plain.interval == .seconds(1) && plain.timeout == nil && plain.weight == 0)
        #expect(plain.rise == 1 && plain.fall == 1 && !plain.initFail)
    }

    @Test("vrrp_script needs a script and a weight in range")
    func vrrpScriptErrors() {
        let missing = loadVRRP("vrrp_script s {\ninterval 1\n}\n" + instanceText("track_script {\ns\n}")).diagnostics
        #expect(
            missing.errors.isEmpty
                && missing.warnings.first?.message == "vrrp_script 's' has no 'script'; it is ignored")
        let weight = loadVRRP("vrrp_script s {\nscript /bin/true\nweight 254\n}").diagnostics.errors
        #expect(weight.first?.message.contains("weight must be a whole number from -253 to 253") == true)
        #expect(weight.first?.location?.line == 3)
    }

    @Test("track_file and its old name vrrp_track_file")
    func trackFile() throws {
        let loaded = loadVRRP(
            """
            track_file tf1 {
                file "/run/tf1"
                weight -10 reverse
                init_file 5 overwrite
            }
            vrrp_track_file tf2 {
                file /run/tf2
                init_file
            }
            """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let first = try #require(loaded.config.vrrp.trackFile(named: "tf1"))
        #expect(first.file == "/run/tf1" && first.weight == -10 && first.reverse)
        #expect(first.initFile == TrackFile.InitFile(value: 5, overwrite: true))
        let second = try #require(loaded.config.vrrp.trackFile(named: "tf2"))
        #expect(second.weight == 1 && second.initFile == TrackFile.InitFile())
    }

    @Test("vrrp_track_process: keepalived's defaults, parameters, param_match, quorum rules and delays")
    func trackProcess() throws {
        let loaded = loadVRRP(
            """
            vrrp_track_process web {
                process nginx
            }
            vrrp_track_process args {
                process "/usr/bin/my daemon" -c "a b"
                weight -20 reverse
                quorum 2
                quorum_max 3
                delay 0.5
                terminate_delay 2
            }
            vrrp_track_process none {
                process old
                quorum_max 0
                param_match
            }
            vrrp_track_process start {
                process /bin/sleep 10
                param_match initial
                quorum 5
                quorum_max 4
            }
            vrrp_track_process nameless {
                weight 2
            }
            vrrp_track_process long {
                process a-name-longer-than-15
            }
            """)
        let web = try #require(loaded.config.vrrp.trackProcess(named: "web"))
        #expect(web.process == "nginx" && web.parameters.isEmpty && !web.fullCommand && web.parameterMatch == .none)
        #expect(web.weight == 0 && web.quorum == 1 && web.quorumMax == Int(UInt32.max) && web.forkDelay == .zero)
        let args = try #require(loaded.config.vrrp.trackProcess(named: "args"))
        #expect(args.process == "/usr/bin/my daemon" && args.parameters == ["-c", "a b"])
        #expect(args.fullCommand && args.parameterMatch == .exact && args.weight == -20 && args.reverse)
        #expect(args.quorum == 2 && args.quorumMax == 3)
        #expect(args.forkDelay == .milliseconds(500) && args.terminateDelay == .seconds(2))
        let none = try #require(loaded.config.vrrp.trackProcess(named: "none"))
        #expect(none.quorum == 0 && none.quorumMax == 0 && none.fullCommand && none.parameterMatch == .exact)
        // quorum_max 4 below quorum 5: an error, ignored (keepalived).
        let start = try #require(loaded.config.vrrp.trackProcess(named: "start"))
        #expect(start.parameterMatch == .initial && start.quorum == 5 && start.quorumMax == Int(UInt32.max))
        // keepalived drops a block without `process`: the model keeps it without one, the worker skips it.
        #expect(loaded.config.vrrp.trackProcess(named: "nameless")?.process == nil)
        #expect(loaded.diagnostics.errors.map { $0.location?.line ?? 0 } == [21])
        let warnings = loaded.diagnostics.warnings.map { ($0.location?.line ?? 0, $0.message) }
        #expect(warnings.contains { $0.0 == 23 && $0.1.contains("has no 'process'") })
        #expect(warnings.contains { $0.0 == 26 && $0.1.contains("never matches without full_command") })
    }

    @Test("track_process in instances and sync groups: references checked, weights as keepalived allows")
    func trackProcessReferences() throws {
        let text =
            """
            vrrp_track_process p {
                process nginx
                weight 10
            }
            vrrp_sync_group G {
                group {
                    VI_1
                }
                track_process {
                    p weight 5
                }
            }
            """ + "\n" + instanceText("track_process {\np\np weight 0\nmissing\n}")
        let loaded = loadVRRP(text)
        #expect(loaded.diagnostics.errors.map { $0.location?.line ?? 0 } == [19], "\(loaded.diagnostics)")
        let instance = try #require(loaded.config.vrrp.instance(named: "VI_1"))
        // In a sync group without sync_group_tracking_weight a weighted track_process is dropped.
        #expect(instance.trackProcesses.map(\.name) == ["p", "missing"])
        #expect(instance.trackProcesses.first?.weight == 0)
        #expect(loaded.config.vrrp.syncGroups.first?.trackProcesses.first?.weight == 5)
        #expect(
            loaded.diagnostics.warnings.contains { $0.message.contains("ignoring tracked process p with weight 10") })
    }

    @Test("garp_extra_if (and vmac_garp_intvl), vrrp_garp_extra_if (and vrrp_vmac_garp_intvl): [all] SECONDS")
    func garpExtraIf() throws {
        let loaded = loadVRRP(
            "global_defs {\nvrrp_vmac_garp_intvl all 30\n}\n"
                + instanceText("garp_extra_if 0") + "\n" + instanceText("vmac_garp_intvl 100 all", name: "B", vrid: 2)
                + "\n" + instanceText("garp_extra_if all", name: "C", vrid: 3)
                + "\n" + instanceText("garp_extra_if 86401", name: "D", vrid: 4))
        #expect(loaded.config.globalDefs.vrrpGarpExtraIf == GARPExtraInterfaces(interval: .seconds(30), all: true))
        #expect(loaded.config.vrrp.instance(named: "VI_1")?.garpExtraIf == GARPExtraInterfaces(interval: .zero))
        #expect(
            loaded.config.vrrp.instance(named: "B")?.garpExtraIf
                == GARPExtraInterfaces(interval: .seconds(100), all: true))
        #expect(loaded.config.vrrp.instance(named: "C")?.garpExtraIf == nil)
        #expect(loaded.diagnostics.errors.map { $0.location?.line ?? 0 } == [17, 22])
    }

    @Test("garp_group: intervals, interface or interfaces; no interval is an error; an interface in two groups too")
    func garpGroup() throws {
        let loaded = loadVRRP(
            """
            garp_group {
                garp_interval 0.1
                interface eth0
            }
            garp_group {
                gna_interval 0.05
                interfaces {
                    eth1 eth2
                    eth0
                }
            }
            garp_group {
                interface eth3
            }
            """)
        let groups = loaded.config.vrrp.garpGroups
        #expect(groups.count == 2)
        #expect(groups.first?.garpInterval == .milliseconds(100) && groups.first?.gnaInterval == nil)
        #expect(groups.first?.interfaces == ["eth0"])
        #expect(groups.last?.gnaInterval == .milliseconds(50) && groups.last?.interfaces == ["eth1", "eth2", "eth0"])
        #expect(loaded.diagnostics.errors.map { $0.location?.line ?? 0 } == [12, 5], "\(loaded.diagnostics)")
    }

    @Test("vrrp_iptables and vrrp_ipsets are warned at their line: Vigil's no_accept filter is nftables")
    func iptables() {
        let loaded = loadVRRP("global_defs {\nvrrp_iptables in out\nvrrp_ipsets keepalived\n}")
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.map { $0.location?.line ?? 0 } == [2, 3])
        #expect(loaded.diagnostics.warnings.allSatisfy { $0.message.contains("with nftables (table 'keepalived'") })
    }

    @Test("vrrp_sync_group keywords")
    func syncGroup() throws {
        let loaded = loadVRRP(
            """
            vrrp_script chk {
                script /bin/true
            }
            vrrp_sync_group G1 {
                group {
                    VI_1
                    VI_2
                }
                notify_master "/bin/g master"
                notify_backup /bin/gb
                notify_fault /bin/gf
                notify_stop /bin/gs
                notify /bin/gn
                smtp_alert
                notify_priority_changes on
                sync_group_tracking_weight
                track_interface {
                    eth2 weight 10
                }
                track_script {
                    chk weight 5
                }
            }
            """ + instanceText("", name: "VI_1", vrid: 1) + "\n" + instanceText("", name: "VI_2", vrid: 2))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        let group = try #require(loaded.config.vrrp.syncGroups.first)
        #expect(group.members.map(\.name) == ["VI_1", "VI_2"])
        #expect(group.notify.master?.arguments == ["/bin/g", "master"])
        #expect(group.notify.backup != nil && group.notify.fault != nil && group.notify.stop != nil)
        #expect(group.notify.any?.text == "/bin/gn")
        #expect(group.smtpAlert == true && group.notifyPriorityChanges == true && group.syncGroupTrackingWeight)
        #expect(group.trackInterfaces == [TrackedInterface(name: "eth2", weight: 10)])
        #expect(group.trackScripts.map(\.weight) == [5])
    }

    @Test("Bare names in a sync group outside group { } warn, as keepalived ignores them")
    func strayGroupNames() {
        let loaded = loadVRRP("vrrp_sync_group G {\nVI_1\n}\n" + instanceText(""))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.diagnostics.warnings.contains { $0.message.contains("'VI_1' is not a vrrp_sync_group keyword") })
    }

    @Test("static_ipaddress, static_routes and static_rules")
    func statics() {
        let loaded = loadVRRP(
            """
            track_group G1 {
                group {
                    VI_1
                }
            }
            static_ipaddress {
                192.0.2.1/24 dev eth0 scope global track_group G1
            }
            static_routes {
                198.51.100.0/24 via 192.0.2.254 dev eth0
            }
            static_rules {
                from 192.0.2.0/24 table 1 preference 10
            }
            """)
        #expect(loaded.diagnostics.besidesNotInEffect.isEmpty, "\(loaded.diagnostics)")
        let vrrp = loaded.config.vrrp
        #expect(vrrp.staticAddresses.first?.trackGroup == "G1")
        #expect(vrrp.staticAddresses.first?.scope == "global")
        #expect(vrrp.staticRoutes.first?.gateway == IPAddress("192.0.2.254"))
        #expect(vrrp.staticRules.first?.preference == 10)
    }

    @Test("track_group: the group's instances track the dev of static addresses and routes, the iif of static rules")
    func trackGroup() {
        let loaded = loadVRRP(
            """
            global_defs {
                default_interface eth9
            }
            track_group G1 {
                group {
                    VI_1
                    VI_2
                }
            }
            track_group G2 {
                group {
                    VI_2
                }
            }
            static_ipaddress {
                192.0.2.1/24 dev eth1 track_group G1
                192.0.2.2/24 track_group G2
                192.0.2.3/24 dev eth3 track_group G1 no_track
            }
            static_routes {
                198.51.100.0/24 via 192.0.2.254 dev eth4 track_group G1
            }
            static_rules {
                from 192.0.2.0/24 iif eth5 table 1 preference 10 track_group G2
            }
            """ + instanceText("", name: "VI_1", vrid: 1) + instanceText("", name: "VI_2", vrid: 2))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(
            loaded.diagnostics.warnings.filter { $0.message.contains("track_group") }.map(\.location?.line) == [18],
            "\(loaded.diagnostics)")
        let vrrp = loaded.config.vrrp
        #expect(vrrp.trackGroups.map(\.name) == ["G1", "G2"])
        #expect(vrrp.trackGroupInterfaces(of: "VI_1", defaultInterface: "eth9") == ["eth1", "eth4"])
        #expect(vrrp.trackGroupInterfaces(of: "VI_2", defaultInterface: "eth9") == ["eth1", "eth9", "eth4", "eth5"])
        #expect(vrrp.trackGroupInterfaces(of: "VI_3", defaultInterface: "eth9").isEmpty)
    }

    @Test(
        "track_group is ignored with a warning where keepalived ignores it",
        arguments: [
            // Not defined (yet): keepalived looks the group up when it reads the line.
            ("static_ipaddress {\n192.0.2.1/24 dev eth0 track_group G\n}\ntrack_group G {\ngroup {\nVI_1\n}\n}", 2),
            // A route without dev, a rule without iif: no interface to track.
            (
                "track_group G {\ngroup {\nVI_1\n}\n}\nstatic_routes {\n198.51.100.0/24 via 192.0.2.9 track_group G\n}",
                7
            ),
            ("track_group G {\ngroup {\nVI_1\n}\n}\nstatic_rules {\nfrom 192.0.2.0/24 table 1 track_group G\n}", 7),
            // On an instance's lines (keepalived 2.2.7 takes the option on static lines only).
            (
                "track_group G {\ngroup {\nVI_1\n}\n}\n"
                    + instanceText("virtual_ipaddress {\n192.0.2.1 track_group G\n}"), 10
            ),
        ])
    func trackGroupIgnored(_ text: String, _ line: Int) {
        let loaded = loadVRRP(text)
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        // A route without dev is also not tracked at all (a second warning on its line).
        #expect(Set(loaded.diagnostics.warnings.map(\.location?.line)) == [line], "\(loaded.diagnostics)")
        #expect(loaded.config.vrrp.trackGroupInterfaces(of: "VI_1", defaultInterface: "eth0").isEmpty)
    }

    @Test("Route options realms, expires, congctl, pref and append/prepend/add land in the model")
    func routeKernelOptions() {
        let loaded = loadVRRP(
            "static_routes {\n203.0.113.0/24 via 192.0.2.9 dev eth0 realms 3/5 congctl lock reno prepend append\n"
                + "2001:db8:7::/64 via 2001:db8::9 dev eth0 expires 300 pref high add\n203.0.113.0/25 dev eth0 realms 7\n}"
        )
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let routes = loaded.config.vrrp.staticRoutes
        #expect(routes.map(\.realms) == [3 << 16 | 5, nil, 7])
        #expect(routes[0].congestionControl == "reno" && routes[0].congestionControlLocked)
        #expect(routes.map(\.creation) == ["append", "add", nil])
        #expect(routes[1].expires == 300 && routes[1].routerPreference == 1)
    }

    @Test(
        "A route option of the other family skips the line, as in keepalived",
        arguments: [
            "203.0.113.0/24 via 192.0.2.9 expires 30", "203.0.113.0/24 via 192.0.2.9 pref low",
            "2001:db8:7::/64 via 2001:db8::9 realms 2", "203.0.113.0/24 via 192.0.2.9 realms 70000",
        ])
    func routeFamilyOptions(_ line: String) {
        expectSkipped("static_routes", line)
    }

    /// `line` alone in a `block` block: warned at its line and skipped, as keepalived skips it.
    func expectSkipped(_ block: String, _ line: String) {
        let loaded = loadVRRP("\(block) {\n\(line)\n}")
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [2], "\(loaded.diagnostics)")
        #expect(loaded.config.vrrp.staticRoutes.isEmpty && loaded.config.vrrp.staticRules.isEmpty)
    }

    @Test("Rule options not, suppress_*, uidrange, tunnel-id, realms and type land in the model")
    func ruleKernelOptions() {
        let loaded = loadVRRP(
            "static_rules {\nnot from 192.0.2.0/24 table 100 preference 10 suppress_prefixlength 0 sup_group default "
                + "uidrange 1000-1999 tunnel-id 7 realms 3/5\nfrom 192.0.2.0/24 type prohibit preference 11\n"
                + "from 192.0.2.0/24 type goto 300 preference 12\nfrom 192.0.2.0/24 table 1 preference 13 tun_id 9 "
                + "sup_pl 8 suppress_ifgroup 4\n}")
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        // tun_id: iproute2's spelling, not keepalived's.
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [5], "\(loaded.diagnostics)")
        let rules = loaded.config.vrrp.staticRules
        #expect(rules.count == 4)
        #expect(rules[0].invert && rules[0].suppressPrefixLength == 0 && rules[0].suppressInterfaceGroup == 0)
        #expect(rules[0].uidRange == 1000...1999 && rules[0].tunnelID == 7 && rules[0].realms == 3 << 16 | 5)
        #expect(rules[1].options == [["prohibit"]] && !rules[1].invert)
        #expect(rules[2].options == [["goto", "300"]])
        #expect(rules[3].tunnelID == 9 && rules[3].suppressPrefixLength == 8 && rules[3].suppressInterfaceGroup == 4)
    }

    @Test(
        "A rule keepalived refuses is warned and skipped",
        arguments: [
            "from 192.0.2.0/24 type unicast preference 1", "from 192.0.2.0/24 blackhole realms 2 preference 1",
            "from 192.0.2.0/24 prohibit suppress_prefixlength 0 preference 1",
            "from 2001:db8::/32 table 1 realms 2 preference 1", "from 192.0.2.0/24 table 1 uidrange 9-1",
            "from 192.0.2.0/24 table 1 suppress_ifgroup eth", "from 192.0.2.0/24 table 1 tunnel-id x",
        ])
    func ruleRefused(_ line: String) {
        expectSkipped("static_rules", line)
    }

    @Test("Route encap mpls/ip/ip6 and inet/inet6 land in the model")
    func routeEncap() {
        let loaded = loadVRRP(
            "static_routes {\n203.0.113.0/24 encap mpls 100/200 dev eth0\n"
                + "203.0.113.64/26 encap ip id 5 dst 192.0.2.9 src 192.0.2.1 tos 0x10 ttl 3 flags 1 dev eth0\n"
                + "2001:db8:5::/64 encap ip6 dst 2001:db8::9 tc 4 hoplimit 9 dev eth0\ninet6 default dev eth0\n"
                + "inet to default via 192.0.2.9 dev eth0\n198.51.100.0/24 dev eth0 vrf blue\n}")
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let routes = loaded.config.vrrp.staticRoutes
        #expect(routes.count == 6 && routes[5].vrf == "blue")
        #expect(routes[0].encap == RouteEncap(kind: .mpls, labels: [100, 200]) && routes[0].device == "eth0")
        var ip = RouteEncap(kind: .ip)
        (ip.id, ip.destination, ip.source, ip.tos, ip.ttl, ip.flags) = (
            5, IPAddress("192.0.2.9"), IPAddress("192.0.2.1"), 16, 3, 1
        )
        #expect(routes[1].encap == ip && routes[1].device == "eth0")
        #expect(routes[2].encap?.kind == .ip6 && routes[2].encap?.tos == 4 && routes[2].encap?.ttl == 9)
        #expect(routes[3].destination == IPPrefix("::/0") && routes[3].family == .ipv6)
        #expect(routes[4].destination == IPPrefix("0.0.0.0/0") && routes[4].gateway == IPAddress("192.0.2.9"))
    }

    @Test(
        "A route keepalived refuses (encap, family, pervasive) is warned and skipped",
        arguments: [
            "203.0.113.0/24 encap mpls dev eth0", "203.0.113.0/24 encap mpls 1048576 dev eth0",
            "203.0.113.0/24 encap ip ttl 3 dev eth0", "203.0.113.0/24 encap ip dst 2001:db8::1 dev eth0",
            "203.0.113.0/24 encap seg6 mode inline segs 2001:db8::1 dev eth0", "inet6 203.0.113.0/24 dev eth0",
            "inet 2001:db8::/64 dev eth0", "203.0.113.0/24 via 2001:db8::1 dev eth0", "inet inet6 default dev eth0",
            "203.0.113.0/24 dev eth0 pervasive",
        ])
    func routeRefused(_ line: String) {
        expectSkipped("static_routes", line)
    }

    @Test("Tracking: a tracked route or rule carries protocol keepalived; a route without dev is not tracked")
    func routeAndRuleTracking() {
        let loaded = loadVRRP(
            instanceText(
                "virtual_routes {\n198.51.100.0/24 via 192.0.2.9 dev eth0 proto bird\n"
                    + "198.51.100.0/25 via 192.0.2.9 dev eth0 proto bird no_track\nblackhole 203.0.113.0/24\n}\n"
                    + "virtual_rules {\nfrom 192.0.2.0/24 table 1 preference 1 protocol bird\n"
                    + "from 192.0.2.0/24 table 1 preference 2 protocol bird no_track\n}"))
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [5, 7, 10, 1], "\(loaded.diagnostics)")
        let instance = loaded.config.vrrp.instances[0]
        #expect(instance.virtualRoutes.map(\.protocolNumber) == [nil, 12, nil])
        #expect(instance.virtualRoutes.map(\.noTrack) == [false, true, true])
        #expect(instance.virtualRules.map { $0.options.contains { $0.first == "protocol" } } == [false, true])
    }

    @Test("lvs_sync_daemon_interface in an instance is lvs_sync_daemon IFACE INSTANCE, unless that is set already")
    func lvsSyncDaemonInterface() {
        let alone = loadVRRP(instanceText("virtual_ipaddress {\n192.0.2.1\n}\nlvs_sync_daemon_interface eth1"))
        #expect(alone.diagnostics.errors.isEmpty, "\(alone.diagnostics)")
        #expect(alone.diagnostics.warnings.map(\.location?.line) == [7], "\(alone.diagnostics)")
        let daemon = alone.config.globalDefs.lvsSyncDaemon
        #expect(daemon?.interface == "eth1" && daemon?.instance == "VI_1" && daemon?.syncID == nil)
        let outranked = loadVRRP(
            "global_defs {\nlvs_sync_daemon eth2 VI_1\n}\n"
                + instanceText("virtual_ipaddress {\n192.0.2.1\n}\nlvs_sync_daemon_interface eth1"))
        #expect(outranked.diagnostics.errors.isEmpty, "\(outranked.diagnostics)")
        #expect(outranked.diagnostics.warnings.map(\.location?.line) == [10], "\(outranked.diagnostics)")
        #expect(outranked.config.globalDefs.lvsSyncDaemon?.interface == "eth2")
    }

    @Test("native_ipv6: the instance is IPv6 (VRRPv3); IPv4 addresses after it are ignored, before it refuse it")
    func nativeIPv6() {
        let alone = loadVRRP(
            instanceText("version 2\nnative_ipv6\nvirtual_ipaddress_excluded {\n192.0.2.1\n}"))
        #expect(alone.diagnostics.errors.isEmpty, "\(alone.diagnostics)")
        let instance = alone.config.vrrp.instances.first
        #expect(instance?.family == .ipv6 && instance?.effectiveVersion(GlobalDefs()) == 3)
        #expect(instance?.excludedVirtualAddresses.count == 1)
        let before = loadVRRP(instanceText("native_ipv6\nvirtual_ipaddress {\n192.0.2.1\n2001:db8::1\n}"))
        #expect(before.diagnostics.errors.isEmpty, "\(before.diagnostics)")
        #expect(before.diagnostics.warnings.map(\.location?.line) == [6], "\(before.diagnostics)")
        #expect(before.config.vrrp.instances.first?.virtualAddresses.map(\.prefix.description) == ["2001:db8::1/128"])
        let after = loadVRRP(instanceText("virtual_ipaddress {\n192.0.2.1\n}\nnative_ipv6"))
        #expect(after.diagnostics.errors.isEmpty, "\(after.diagnostics)")
        #expect(after.diagnostics.warnings.map(\.location?.line) == [7], "\(after.diagnostics)")
        #expect(after.config.vrrp.instances.first?.family == .ipv4)
    }

    @Test("An invalid address in a rule or route warns: keepalived skips the line")
    func invalidRuleAddress() {
        let loaded = loadVRRP(
            "static_rules {\nto 192.0.2./24 table 1\n}\nstatic_routes {\n198.51.100.0/24 via 192.0.2\n}")
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.besidesNotInEffect.map(\.location?.line) == [2, 5])
        #expect(loaded.config.vrrp.staticRules.isEmpty && loaded.config.vrrp.staticRoutes.isEmpty)
    }

    @Test("interface_up_down_delays: seconds to the microsecond, up 0 when left out, bad lines warned and skipped")
    func interfaceUpDownDelays() {
        let loaded = loadVRRP(
            "interface_up_down_delays {\neth0 2 0.5\neth1 1.000001\neth2 256\neth3\neth4 0\neth0 3 1\n}")
        #expect(loaded.diagnostics.errors.isEmpty, "\(loaded.diagnostics)")
        // eth1: no up delay (keepalived 0, its manual the down delay); eth2 out of range; eth3 no delays.
        #expect(loaded.diagnostics.warnings.map(\.location?.line) == [3, 4, 5], "\(loaded.diagnostics)")
        #expect(
            loaded.config.vrrp.interfaceUpDownDelays.map { "\($0.interface) \($0.down) \($0.up)" } == [
                "eth1 1.000001 seconds 0.0 seconds", "eth4 0.0 seconds 0.0 seconds", "eth0 3.0 seconds 1.0 seconds",
            ])
    }

    // MARK: Cross-checks

    @Test("Duplicate VRIDs on one interface and family are an error; other families may share")
    func duplicateVRID() {
        let clash = loadVRRP(instanceText("", name: "A") + "\n" + instanceText("", name: "B")).diagnostics.errors
        #expect(clash.count == 1)
        #expect(clash.first?.message.contains("uses virtual_router_id 51 on eth0 (IPv4), as 'A'") == true)
        #expect(clash.first?.location?.line == 6)
        let v6 = "virtual_ipaddress {\n2001:db8::1\n}"
        #expect(loadVRRP(instanceText("", name: "A") + "\n" + instanceText(v6, name: "B")).isValid)
        #expect(loadVRRP(instanceText("", name: "A") + "\n" + instanceText("", name: "B", interface: "eth1")).isValid)
        let otherGroup = "mcast_dst_ip 224.0.0.19"
        #expect(loadVRRP(instanceText("", name: "A") + "\n" + instanceText(otherGroup, name: "B")).isValid)
        let peers = { (peer: String) in "unicast_peer {\n\(peer)\n}" }
        #expect(
            loadVRRP(instanceText(peers("192.0.2.2"), name: "A") + "\n" + instanceText(peers("192.0.2.3"), name: "B"))
                .isValid)
        #expect(
            !loadVRRP(instanceText(peers("192.0.2.2"), name: "A") + "\n" + instanceText(peers("192.0.2.2"), name: "B"))
                .isValid)
    }

    @Test("Duplicate names are an error at the second definition")
    func duplicateNames() {
        let instances = loadVRRP(instanceText("", name: "A", vrid: 1) + "\n" + instanceText("", name: "A", vrid: 2))
        #expect(
            instances.diagnostics.errors.map(\.message).first?.contains("vrrp_instance 'A' is already defined") == true)
        let scripts = loadVRRP("vrrp_script s {\nscript /bin/true\n}\nvrrp_script s {\nscript /bin/false\n}")
        #expect(scripts.diagnostics.errors.first?.location?.line == 4)
        let files = loadVRRP("track_file f {\nfile /a\n}\nvrrp_track_file f {\nfile /b\n}")
        #expect(files.diagnostics.errors.first?.message.contains("track_file 'f' is already defined") == true)
    }

    @Test("track_script and track_file names must exist")
    func missingTrackedNames() {
        let errors = loadVRRP(instanceText("track_script {\nnope\n}\ntrack_file {\nnofile weight 3\n}")).diagnostics
            .errors
        #expect(errors.map(\.location?.line) == [5, 8])
        #expect(errors.first?.message.contains("vrrp_script 'nope', which is not defined") == true)
    }

    @Test("Sync group members must exist and belong to one group only")
    func syncGroupMembers() {
        let text =
            "vrrp_sync_group G1 {\ngroup {\nVI_1\nVI_2\n}\n}\nvrrp_sync_group G2 {\ngroup {\nVI_1\nGHOST\n}\n}\n"
            + instanceText("", name: "VI_1", vrid: 1) + "\n" + instanceText("", name: "VI_2", vrid: 2)
        let errors = loadVRRP(text).diagnostics.errors
        #expect(errors.map(\.location?.line) == [9, 10])
        #expect(errors.first?.message.contains("already in vrrp_sync_group 'G1'") == true)
        #expect(errors.last?.message.contains("'GHOST', which is not defined") == true)
    }

    @Test("The model round-trips through JSON for the worker IPC")
    func codable() throws {
        let loaded = loadVRRP(
            instanceText("virtual_ipaddress {\n192.0.2.1/24 brd +\n}\nauthentication {\nauth_type PASS\nauth_pass x\n}")
        )
        let data = try JSONEncoder().encode(loaded.config.vrrp)
        #expect(try JSONDecoder().decode(VRRPConfig.self, from: data) == loaded.config.vrrp)
    }
}
