import Testing

@testable import Config

@Suite("BFD schema: bfd_instance, track_bfd, BFD_CHECK")
struct BFDSchemaTests {
    @Test("Every bfd_instance keyword of keepalived.conf(5) takes its value")
    func keywords() throws {
        let loaded = ConfigLoader.load(
            text: """
                bfd_instance b1 {
                    neighbour_ip 192.0.2.2
                    source_ip 192.0.2.1
                    min_rx 3.312
                    min_tx 50
                    idle_tx 1500
                    multiplier 3
                    passive
                    hoplimit 250
                    max_hops 3
                    weight 20 reverse
                    checker
                }
                """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let instance = try #require(loaded.config.bfd.instance(named: "b1"))
        #expect(instance.neighborIP == IPAddress("192.0.2.2"))
        #expect(instance.sourceIP == IPAddress("192.0.2.1"))
        #expect(instance.minRx == .microseconds(3312))
        #expect(instance.minTx == .milliseconds(50))
        #expect(instance.idleTx == .milliseconds(1500))
        #expect(instance.multiplier == 3)
        #expect(instance.passive)
        #expect(instance.ttl == 250 && instance.sentTTL == 250)
        #expect(instance.maxHops == 3 && instance.isMultihop)
        #expect(instance.minimumReceivedTTL == 247)
        #expect(instance.weight == 20 && instance.reverse)
        #expect(!instance.notifiesVRRP && instance.notifiesChecker)
    }

    @Test("keepalived's defaults: 10 ms, 10 ms, 1 s, multiplier 5, single hop, TTL 255 checked")
    func defaults() throws {
        let loaded = ConfigLoader.load(text: "bfd_instance b {\nneighbor_ip 2001:db8::2\n}")
        #expect(loaded.diagnostics.isEmpty)
        let instance = try #require(loaded.config.bfd.instances.first)
        #expect(instance.minRx == .milliseconds(10) && instance.minTx == .milliseconds(10))
        #expect(instance.idleTx == .seconds(1) && instance.multiplier == 5)
        #expect(!instance.isMultihop && !instance.passive)
        #expect(instance.notifiesVRRP && instance.notifiesChecker)
        // RFC 5881 §5: 255 sent; keepalived's receive check for IPv6 expects its own default hop limit, 64.
        #expect(instance.sentTTL == 255)
        #expect(instance.minimumReceivedTTL == 64)
        #expect(
            ConfigLoader.load(text: "bfd_instance b {\nneighbor_ip 192.0.2.2\n}").config.bfd.instances.first?
                .minimumReceivedTTL == 255)
        #expect(
            ConfigLoader.load(text: "bfd_instance b {\nneighbor_ip 192.0.2.2\nmax_hops -1\n}").config.bfd
                .instances.first?.minimumReceivedTTL == nil)
    }

    @Test("vrrp and checker: one limits the events to that process, both restore both")
    func exclusions() {
        func flags(_ body: String) -> (Bool, Bool)? {
            let instance = ConfigLoader.load(text: "bfd_instance b {\nneighbor_ip 192.0.2.2\n\(body)\n}").config.bfd
                .instances.first
            return instance.map { ($0.notifiesVRRP, $0.notifiesChecker) }
        }
        #expect(flags("vrrp")! == (true, false))
        #expect(flags("checker")! == (false, true))
        #expect(flags("vrrp\nchecker")! == (true, true))
        #expect(flags("")! == (true, true))
    }

    struct ErrorCase: Sendable, CustomStringConvertible {
        var body: String
        var line: Int
        var message: String
        var description: String { body }
    }

    static let errors: [ErrorCase] = [
        .init(body: "source_ip 192.0.2.1", line: 1, message: "needs 'neighbor_ip'"),
        .init(body: "neighbor_ip 192.0.2.2\nsource_ip 2001:db8::1", line: 1, message: "not of the same family"),
        .init(body: "neighbor_ip 192.0.2.x", line: 2, message: "is not an IPv4 or IPv6 address"),
        .init(body: "neighbor_ip 192.0.2.2\nmin_rx 0.5", line: 3, message: "must be from 1 to"),
        .init(body: "neighbor_ip 192.0.2.2\nmin_tx 1.0001", line: 3, message: "at most three decimals"),
        .init(body: "neighbor_ip 192.0.2.2\nidle_tx 999", line: 3, message: "must be from 1000 to"),
        .init(body: "neighbor_ip 192.0.2.2\nmultiplier 0", line: 3, message: "from 1 to 255"),
        .init(body: "neighbor_ip 192.0.2.2\nttl 256", line: 3, message: "from 1 to 255"),
        .init(body: "neighbor_ip 192.0.2.2\nmax_hops -2", line: 3, message: "from -1 to 255"),
        .init(body: "neighbor_ip 192.0.2.2\nweight 254", line: 3, message: "from -253 to 253"),
        .init(body: "neighbor_ip 192.0.2.2\nweight 5 sideways", line: 3, message: "reverse"),
        .init(body: "neighbor_ip 192.0.2.2\nneighbor_iq 192.0.2.3", line: 3, message: "did you mean 'neighbor_ip'?"),
    ]

    @Test("Bad values are errors at their line", arguments: errors)
    func badValues(_ testCase: ErrorCase) {
        let loaded = ConfigLoader.load(text: "bfd_instance b {\n\(testCase.body)\n}")
        let errors = loaded.diagnostics.errors
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.location?.line == testCase.line, "\(errors)")
        #expect(errors.first?.message.contains(testCase.message) == true, "\(errors)")
    }

    @Test("max_hops above the TTL is cut to it with a warning, as keepalived does")
    func maxHopsAboveTTL() {
        let loaded = ConfigLoader.load(text: "bfd_instance b {\nneighbor_ip 2001:db8::2\nmax_hops 100\n}")
        #expect(loaded.diagnostics.errors.isEmpty)
        #expect(loaded.diagnostics.warnings.first?.message.contains("exceeds the ttl/hoplimit 64") == true)
        #expect(loaded.config.bfd.instances.first?.maxHops == 64)
    }

    @Test("Two instances for one neighbour and source, a name too long, a duplicate name: errors")
    func crossChecks() {
        let same = ConfigLoader.load(
            text: "bfd_instance a {\nneighbor_ip 192.0.2.2\n}\nbfd_instance b {\nneighbor_ip 192.0.2.2\n}")
        #expect(same.diagnostics.errors.map(\.location?.line) == [4])
        let sources = ConfigLoader.load(
            text: "bfd_instance a {\nneighbor_ip 192.0.2.2\nsource_ip 192.0.2.1\n}\n"
                + "bfd_instance b {\nneighbor_ip 192.0.2.2\nsource_ip 192.0.2.3\n}")
        #expect(sources.diagnostics.errors.isEmpty)
        let long = ConfigLoader.load(
            text: "bfd_instance \(String(repeating: "x", count: 32)) {\nneighbor_ip 192.0.2.2\n}")
        #expect(long.diagnostics.errors.first?.message.contains("longer than keepalived's 31") == true)
        let twice = ConfigLoader.load(
            text: "bfd_instance a {\nneighbor_ip 192.0.2.2\n}\nbfd_instance a {\nneighbor_ip 192.0.2.3\n}")
        #expect(twice.diagnostics.errors.count == 1)
    }

    @Test("track_bfd in an instance and a sync group, with weights")
    func trackBFD() throws {
        let loaded = ConfigLoader.load(
            text: """
                bfd_instance b1 {
                    neighbor_ip 192.0.2.2
                }
                bfd_instance b2 {
                    neighbor_ip 192.0.2.3
                }
                vrrp_sync_group G {
                    group {
                        VI_1
                        VI_2
                    }
                    track_bfd {
                        b2 weight -10 noreverse
                    }
                }
                vrrp_instance VI_1 {
                    interface eth0
                    virtual_router_id 51
                    priority 100
                    virtual_ipaddress {
                        192.0.2.100/24
                    }
                    track_bfd {
                        b1
                        b2 weight 30 reverse
                    }
                }
                vrrp_instance VI_2 {
                    interface eth0
                    virtual_router_id 52
                    virtual_ipaddress {
                        192.0.2.101/24
                    }
                }
                """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let instance = try #require(loaded.config.vrrp.instances.first)
        #expect(instance.trackBFDs.map(\.name) == ["b1", "b2"])
        #expect(instance.trackBFDs[0].weight == nil)
        #expect(instance.trackBFDs[1].weight == 30 && instance.trackBFDs[1].reverse)
        let group = try #require(loaded.config.vrrp.syncGroups.first)
        #expect(group.trackBFDs.first?.weight == -10 && group.trackBFDs.first?.reverse == false)
    }

    @Test("track_bfd and BFD_CHECK naming no bfd_instance are errors; naming the other process's one warns")
    func references() {
        let instance = "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\ntrack_bfd {\nb9\n}\n}"
        let unknown = ConfigLoader.load(text: "bfd_instance b1 {\nneighbor_ip 192.0.2.2\n}\n" + instance)
        #expect(unknown.diagnostics.errors.map(\.location?.line) == [8])
        #expect(
            unknown.diagnostics.errors.first?.message.contains("bfd_instance 'b9' is not defined; did you mean 'b1'?")
                == true)
        let checkerOnly = ConfigLoader.load(
            text: "bfd_instance b9 {\nneighbor_ip 192.0.2.2\nchecker\n}\n" + instance)
        #expect(checkerOnly.diagnostics.errors.isEmpty)
        #expect(checkerOnly.diagnostics.warnings.contains { $0.message.contains("checker only") })

        let server = """
            virtual_server 192.0.2.100 80 {
                protocol TCP
                real_server 198.51.100.1 80 {
                    BFD_CHECK {
                        name b1
                    }
                }
            }
            """
        let vrrpOnly = ConfigLoader.load(text: "bfd_instance b1 {\nneighbor_ip 198.51.100.1\nvrrp\n}\n" + server)
        #expect(vrrpOnly.diagnostics.errors.isEmpty)
        #expect(vrrpOnly.diagnostics.warnings.contains { $0.message.contains("VRRP process only") })
        let missing = ConfigLoader.load(text: server)
        #expect(missing.diagnostics.errors.first?.message.contains("bfd_instance 'b1' is not defined") == true)
        let noName = ConfigLoader.load(
            text: "virtual_server 192.0.2.100 80 {\nprotocol TCP\nreal_server 198.51.100.1 80 {\nBFD_CHECK {\n}\n}\n}")
        #expect(noName.diagnostics.errors.first?.message.contains("BFD_CHECK needs 'name'") == true)
    }

    @Test("BFD_CHECK is a checker of its real server")
    func bfdCheck() throws {
        let loaded = ConfigLoader.load(
            text: """
                bfd_instance b1 {
                    neighbor_ip 198.51.100.1
                }
                virtual_server 192.0.2.100 80 {
                    protocol TCP
                    real_server 198.51.100.1 80 {
                        BFD_CHECK {
                            name b1
                            alpha
                        }
                    }
                }
                """)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let checker = try #require(loaded.config.lvs.virtualServers.first?.realServers.first?.checkers.first)
        #expect(checker.kind == .bfd(BFDCheck(name: "b1")))
        #expect(checker.kind.keyword == "BFD_CHECK")
        #expect(checker.timing.alpha)
    }

    @Test("A reload diff names BFD sessions added, removed, moved and retimed")
    func diff() {
        let old = ConfigLoader.load(
            text: "bfd_instance a {\nneighbor_ip 192.0.2.2\n}\nbfd_instance b {\nneighbor_ip 192.0.2.3\n}\n"
                + "bfd_instance c {\nneighbor_ip 192.0.2.4\n}"
        ).config
        let new = ConfigLoader.load(
            text: "bfd_instance a {\nneighbor_ip 192.0.2.2\nmin_tx 50\n}\nbfd_instance b {\nneighbor_ip 192.0.2.9\n}\n"
                + "bfd_instance d {\nneighbor_ip 192.0.2.5\n}"
        ).config
        #expect(
            ConfigDiff(from: old, to: new).changes.map(\.description) == [
                "- bfd_instance c", "~ bfd_instance a: settings changed",
                "~ bfd_instance b: new session (neighbor or source changed)",
                "+ bfd_instance d (neighbor 192.0.2.5)",
            ])
    }
}
