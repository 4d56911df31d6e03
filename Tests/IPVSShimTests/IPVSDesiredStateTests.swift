import Config
import Netlink
import Testing

@testable import IPVSShim

@Suite("IPVS desired state from keepalived.conf")
struct IPVSDesiredStateTests {
    let web = IPVSServiceKey.address(ip("192.0.2.100"), port: 80, protocol: .tcp)

    /// Loads `text`, failing the test on any configuration error.
    func config(_ text: String) throws -> KeepalivedConfig {
        let loaded = ConfigLoader.load(text: text)
        let errors = loaded.diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors)")
        return loaded.config
    }

    func desired(_ text: String, health: [IPVSRealServerID: Bool] = [:], quorumMet: [Int: Bool] = [:]) throws
        -> IPVSDesiredState
    {
        IPVSDesiredState.from(try config(text), health: health, quorumMet: quorumMet)
    }

    func destination(_ address: String, _ port: UInt16, _ forwarding: IPVSForwardingMethod = .nat, weight: UInt32 = 1)
        -> IPVSDestination
    {
        IPVSDestination(address: ip(address), port: port, forwarding: forwarding, weight: weight)
    }

    @Test("a NAT service: scheduler, weights, thresholds, real server ports")
    func natService() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                lb_algo wrr
                lb_kind NAT
                protocol TCP
                real_server 198.51.100.11 80 {
                    weight 3
                    uthreshold 100
                    lthreshold 10
                }
                real_server 198.51.100.12 {
                }
            }
            """)
        var first = destination("198.51.100.11", 80, weight: 3)
        first.upperThreshold = 100
        first.lowerThreshold = 10
        #expect(
            state.table
                == IPVSTable([
                    IPVSVirtualServer(
                        service: IPVSService(key: web, scheduler: "wrr"),
                        destinations: [first, destination("198.51.100.12", 80)])
                ]))
        #expect(state.syncDaemons.isEmpty)
        #expect(state.timeouts == nil)
    }

    @Test("keepalived's defaults: wlc, NAT, TCP, weight 1")
    func defaults() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                real_server 198.51.100.11 80 {
                }
            }
            """)
        #expect(state.table[web]?.service == IPVSService(key: web, scheduler: "wlc"))
        #expect(state.table[web]?.destinations == [destination("198.51.100.11", 80)])
    }

    @Test("scheduler flags: sh-port, sh-fallback, ops; hashed is the kernel's and never sent")
    func schedulerFlags() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 53 {
                protocol UDP
                lb_algo sh
                sh-port
                sh-fallback
                ops
                hashed
                real_server 198.51.100.11 53 {
                }
            }
            """)
        let service = try #require(state.table.virtualServers.first?.service)
        #expect(service.key == .address(ip("192.0.2.100"), port: 53, protocol: .udp))
        #expect(service.flags == [.shPort, .shFallback, .onePacket])
    }

    @Test("mh-port and mh-fallback")
    func maglevFlags() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                lb_algo mh
                mh-port
                mh-fallback
                real_server 198.51.100.11 80 {
                }
            }
            """)
        #expect(state.table[web]?.service.flags == [.mhPort, .mhFallback])
        #expect(state.table[web]?.service.scheduler == "mh")
    }

    @Test("persistence: timeout, IPv4 granularity as a netmask, persistence engine")
    func persistence() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                persistence_timeout 50
                persistence_granularity 255.255.255.0
                persistence_engine sip
                real_server 198.51.100.11 80 {
                }
            }
            """)
        let service = try #require(state.table[web]?.service)
        #expect(service.flags == [.persistent])
        #expect(service.timeout == 50)
        #expect(service.netmask == 0xffff_ff00)
        #expect(service.persistenceEngine == "sip")
    }

    @Test("persistence_timeout 0 is not persistent")
    func persistenceZero() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                persistence_timeout 0
                real_server 198.51.100.11 80 {
                }
            }
            """)
        let service = try #require(state.table[web]?.service)
        #expect(!service.flags.contains(.persistent))
        #expect(service.timeout == 0)
        #expect(service.netmask == 0xffff_ffff)
    }

    @Test("IPv6 granularity is a prefix length; a port-0 service is persistent on every port")
    func ipv6Persistence() throws {
        let state = try desired(
            """
            virtual_server 2001:db8::100 0 {
                persistence_timeout 300
                persistence_granularity 64
                real_server 2001:db8:2::11 0 {
                }
            }
            """)
        let server = try #require(state.table.virtualServers.first)
        #expect(server.service.key == .address(ip("2001:db8::100"), port: 0, protocol: .tcp))
        #expect(server.service.netmask == 64)
        #expect(server.service.timeout == 300)
        #expect(server.destinations == [destination("2001:db8:2::11", 0)])
    }

    @Test("lb_kind per virtual server, overridden per real server; TUN type, port and checksum")
    func forwarding() throws {
        let state = try desired(
            """
            virtual_server 192.0.2.100 80 {
                lb_kind DR
                real_server 198.51.100.11 80 {
                }
                real_server 198.51.100.12 80 {
                    lvs_method NAT
                }
                real_server 198.51.100.13 80 {
                    lvs_method TUN type gue port 6080 csum
                }
                real_server 198.51.100.14 80 {
                    lvs_method TUN
                }
            }
            """)
        let destinations = try #require(state.table[web]?.destinations)
        #expect(destinations.map(\.forwarding) == [.directRouting, .nat, .tunnel, .tunnel])
        #expect(destinations[2].tunnel == IPVSTunnel(type: .gue, port: 6080, flags: .checksum))
        #expect(destinations[3].tunnel == IPVSTunnel(type: .ipip, port: 0, flags: .noChecksum))
    }

    @Test("a firewall-mark service: family from its real servers, or ip_family; real servers on port 0")
    func firewallMark() throws {
        let state = try desired(
            """
            virtual_server fwmark 8 {
                lb_algo rr
                persistence_timeout 300
                real_server 198.51.100.11 {
                }
            }
            virtual_server fwmark 9 {
                real_server 2001:db8:2::11 {
                }
            }
            virtual_server fwmark 10 {
                ip_family inet6
                lb_kind TUN
                real_server 198.51.100.11 {
                }
            }
            """)
        #expect(
            state.table.virtualServers.map(\.service.key) == [
                .firewallMark(8, family: .ipv4), .firewallMark(9, family: .ipv6), .firewallMark(10, family: .ipv6),
            ])
        #expect(state.table.virtualServers[0].destinations == [destination("198.51.100.11", 0)])
        #expect(state.table.virtualServers[0].service.flags == [.persistent])
    }

    @Test("virtual_server_group: address ranges and firewall marks expand to one service each")
    func group() throws {
        let state = try desired(
            """
            virtual_server_group WEB {
                192.0.2.100-102 80
                203.0.113.5 8080
                fwmark 7
            }
            virtual_server group WEB {
                lb_algo rr
                real_server 198.51.100.11 {
                    weight 2
                }
            }
            """)
        #expect(
            state.table.virtualServers.map(\.service.key) == [
                .address(ip("192.0.2.100"), port: 80, protocol: .tcp),
                .address(ip("192.0.2.101"), port: 80, protocol: .tcp),
                .address(ip("192.0.2.102"), port: 80, protocol: .tcp),
                .address(ip("203.0.113.5"), port: 8080, protocol: .tcp),
                .firewallMark(7, family: .ipv4),
            ])
        #expect(state.table.virtualServers.allSatisfy { $0.service.scheduler == "rr" })
        #expect(
            state.table.virtualServers.map { $0.destinations.map(\.port) } == [[80], [80], [80], [8080], [0]])
        #expect(state.table.virtualServers[3].destinations.first?.weight == 2)
    }

    @Test("address ranges: inclusive, across a byte boundary, IPv6")
    func ranges() {
        #expect(IPVSDesiredState.addresses(from: ip("192.0.2.1"), to: ip("192.0.2.1")) == [ip("192.0.2.1")])
        #expect(
            IPVSDesiredState.addresses(from: ip("192.0.2.254"), to: ip("192.0.3.1")).map(\.description) == [
                "192.0.2.254", "192.0.2.255", "192.0.3.0", "192.0.3.1",
            ])
        #expect(IPVSDesiredState.addresses(from: ip("192.0.2.9"), to: ip("192.0.2.1")) == [])
        #expect(
            IPVSDesiredState.addresses(from: ip("2001:db8::fe"), to: ip("2001:db8::100")).map(\.description) == [
                "2001:db8::fe", "2001:db8::ff", "2001:db8::100",
            ])
        #expect(IPVSDesiredState.addresses(from: ip("192.0.2.1"), to: ip("2001:db8::1")) == [ip("192.0.2.1")])
    }

    @Test("netmasks from prefix lengths")
    func netmasks() {
        #expect(IPVSDesiredState.ipv4Netmask(prefixLength: 32) == 0xffff_ffff)
        #expect(IPVSDesiredState.ipv4Netmask(prefixLength: 24) == 0xffff_ff00)
        #expect(IPVSDesiredState.ipv4Netmask(prefixLength: 1) == 0x8000_0000)
        #expect(IPVSDesiredState.ipv4Netmask(prefixLength: 0) == 0)
    }

    static let checked = """
        virtual_server 192.0.2.100 80 {
            sorry_server 203.0.113.9 8080
            real_server 198.51.100.11 80 {
                TCP_CHECK {
                }
            }
            real_server 198.51.100.12 80 {
                inhibit_on_failure
                TCP_CHECK {
                }
            }
        }
        """

    @Test("a down real server is removed, or kept with weight 0 under inhibit_on_failure")
    func downServers() throws {
        let down = try desired(Self.checked, health: [IPVSRealServerID(virtualServer: 0, realServer: 0): false])
        #expect(down.table[web]?.destinations == [destination("198.51.100.12", 80)])
        let both = try desired(
            Self.checked,
            health: [
                IPVSRealServerID(virtualServer: 0, realServer: 0): false,
                IPVSRealServerID(virtualServer: 0, realServer: 1): false,
            ])
        #expect(
            both.table[web]?.destinations == [
                destination("198.51.100.12", 80, weight: 0), destination("203.0.113.9", 8080),
            ]
        )
    }

    @Test("the sorry server comes in only when every real server is down; with sorry_server_inhibit it stays at 0")
    func sorryServer() throws {
        let up = try desired(Self.checked)
        #expect(up.table[web]?.destinations.map(\.address) == [ip("198.51.100.11"), ip("198.51.100.12")])
        let inhibited = try desired(
            """
            virtual_server 192.0.2.100 80 {
                lb_kind DR
                sorry_server 203.0.113.9
                sorry_server_inhibit
                real_server 198.51.100.11 80 {
                }
            }
            """)
        #expect(
            inhibited.table[web]?.destinations == [
                destination("198.51.100.11", 80, .directRouting),
                destination("203.0.113.9", 80, .directRouting, weight: 0),
            ])
    }

    @Test("alpha: a real server starts down until a check succeeds")
    func alpha() throws {
        let text = """
            virtual_server 192.0.2.100 80 {
                alpha
                real_server 198.51.100.11 80 {
                    TCP_CHECK {
                    }
                }
                real_server 198.51.100.12 80 {
                }
            }
            """
        #expect(try desired(text).table[web]?.destinations == [destination("198.51.100.12", 80)])
        let checked = try desired(text, health: [IPVSRealServerID(virtualServer: 0, realServer: 0): true])
        #expect(checked.table[web]?.destinations.count == 2)
    }

    /// A VRRP instance `lvs_sync_daemon … VI_1` can name.
    static let instance = """
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 100
            virtual_ipaddress {
                192.0.2.100
            }
        }
        """

    @Test("lvs_sync_daemon and lvs_timeouts")
    func globals() throws {
        let loaded = try config(
            """
            global_defs {
                lvs_sync_daemon eth0 VI_1 id 5 maxlen 1400 port 8850 ttl 2 group 239.0.0.81
                lvs_timeouts tcp 900 tcpfin 120 udp 300
            }
            """ + "\n" + Self.instance)
        let backup = IPVSDesiredState.from(loaded)
        #expect(
            backup.syncDaemons == [
                IPVSSyncDaemon(
                    state: .backup, interface: "eth0", syncID: 5, maximumLength: 1400, group: ip("239.0.0.81"),
                    port: 8850, ttl: 2)
            ])
        #expect(IPVSDesiredState.from(loaded, masterInstances: ["VI_1"]).syncDaemons.map(\.state) == [.master])
        #expect(backup.timeouts == IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))
    }

    @Test("a sync daemon without an instance runs as master and backup; its id defaults to the instance's VRID")
    func syncWithoutInstance() throws {
        let both = try desired(
            """
            global_defs {
                lvs_sync_daemon eth0
            }
            """)
        #expect(both.syncDaemons.map(\.state) == [.master, .backup])
        #expect(both.syncDaemons.map(\.syncID) == [0, 0])
        let vrid = try desired(
            """
            global_defs {
                lvs_sync_daemon eth0 VI_1
            }
            """ + "\n" + Self.instance)
        #expect(vrid.syncDaemons.map(\.syncID) == [51])
    }

    @Test("planning against the fake kernel: apply, then nothing; one weight is one SET_DEST; sync and timeouts")
    func planAgainstFakeKernel() throws {
        let kernel = IPVSFakeKernel()
        let text = """
            global_defs {
                lvs_sync_daemon eth0
                lvs_timeouts tcp 600
            }
            virtual_server 192.0.2.100 80 {
                real_server 198.51.100.11 80 {
                }
            }
            """
        let applier = IPVSConfigApplier(client: kernel)
        let first = try applier.apply(try desired(text))
        #expect(first.failures.isEmpty)
        #expect(first.writes == 5)
        #expect(try applier.apply(try desired(text)).writes == 0)
        let edited = try applier.apply(
            try desired(
                """
                global_defs {
                    lvs_sync_daemon eth0
                    lvs_timeouts tcp 600
                }
                virtual_server 192.0.2.100 80 {
                    real_server 198.51.100.11 80 {
                        weight 4
                    }
                }
                """))
        #expect(edited.operations == [.editDestination(destination("198.51.100.11", 80, weight: 4), service: web)])
        let removed = try applier.remove(try desired(text))
        #expect(removed.operations == [.deleteService(web)])
        #expect(try kernel.table() == IPVSTable())
    }

    @Test("adoption: configured services and all their real servers are owned, other services are not")
    func adoption() {
        let other = IPVSServiceKey.address(ip("192.0.2.101"), port: 80, protocol: .tcp)
        let current = IPVSTable([
            IPVSVirtualServer(
                service: IPVSService(key: web, scheduler: "wlc"), destinations: [destination("198.51.100.13", 80)]),
            IPVSVirtualServer(service: IPVSService(key: other, scheduler: "rr")),
        ])
        let desired = IPVSTable([IPVSVirtualServer(service: IPVSService(key: web, scheduler: "rr"))])
        let ownership = IPVSOwnership.adopting(desired, current: current)
        #expect(ownership.services == [web])
        #expect(ownership.destinations == [IPVSDestinationKey(service: web, address: ip("198.51.100.13"), port: 80)])
    }

    @Test("an unknown scheduler's ENOENT names the scheduler")
    func unknownScheduler() {
        let error = NetlinkError(kernelErrno: LinuxErrno.ENOENT, operation: "adding virtual server TCP 192.0.2.100:80")
        let explained = IPVSNetlinkClient.explained(error, .addService(IPVSService(key: web, scheduler: "twos")))
        #expect(explained.message.contains("scheduler 'twos' not available"))
        #expect(explained.errno == LinuxErrno.ENOENT)
        let other = IPVSNetlinkClient.explained(error, .deleteService(web))
        #expect(other == error)
    }

    @Test("timeouts: only a configured value that differs is written; sync daemons that differ are restarted")
    func globalsPlan() {
        let state = IPVSDesiredState(
            syncDaemons: [IPVSSyncDaemon(state: .master, interface: "eth1", syncID: 2)],
            timeouts: IPVSTimeouts(tcp: 900, udp: 0))
        let same = state.plan(
            current: IPVSTable(), currentSyncDaemons: [IPVSSyncDaemon(state: .master, interface: "eth1", syncID: 2)],
            currentTimeouts: IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300), ownership: IPVSOwnership())
        #expect(same.operations.isEmpty)
        let different = state.plan(
            current: IPVSTable(), currentSyncDaemons: [IPVSSyncDaemon(state: .master, interface: "eth0", syncID: 2)],
            currentTimeouts: IPVSTimeouts(tcp: 600, tcpFin: 120, udp: 300), ownership: IPVSOwnership())
        #expect(
            different.operations == [
                .stopSyncDaemon(.master),
                .startSyncDaemon(IPVSSyncDaemon(state: .master, interface: "eth1", syncID: 2)),
                .setTimeouts(IPVSTimeouts(tcp: 900)),
            ])
    }

    @Test("sync daemons: an instance that became MASTER stops the backup daemon and starts the master one")
    func syncDaemonTransition() {
        let backup = IPVSSyncDaemon(state: .backup, interface: "eth1", syncID: 9)
        let master = IPVSSyncDaemon(state: .master, interface: "eth1", syncID: 9)
        #expect(
            IPVSSyncDaemon.operations(wanted: [master], current: [backup]) == [
                .stopSyncDaemon(.backup), .startSyncDaemon(master),
            ])
        #expect(
            IPVSSyncDaemon.operations(wanted: [backup], current: [master]) == [
                .stopSyncDaemon(.master), .startSyncDaemon(backup),
            ])
        #expect(IPVSSyncDaemon.operations(wanted: [master, backup], current: [master, backup]).isEmpty)
        // Nothing configured: daemons someone else started are left alone.
        #expect(IPVSSyncDaemon.operations(wanted: [], current: [master]).isEmpty)
    }

    @Test("quorum: the sorry server comes in when the live weight drops below it")
    func quorum() throws {
        let text = """
            virtual_server 192.0.2.100 80 {
                quorum 4
                sorry_server 203.0.113.9 80
                real_server 198.51.100.11 80 {
                    weight 3
                }
                real_server 198.51.100.12 80 {
                    weight 2
                }
            }
            """
        #expect(try desired(text).table[web]?.destinations.count == 2)
        let lost = try desired(text, health: [IPVSRealServerID(virtualServer: 0, realServer: 1): false])
        #expect(
            lost.table[web]?.destinations == [
                destination("198.51.100.11", 80, weight: 3), destination("203.0.113.9", 80),
            ])
    }

    @Test("hysteresis: the checker's quorum verdict decides the sorry server, not the bare live weight")
    func quorumVerdict() throws {
        let text = """
            virtual_server 192.0.2.100 80 {
                quorum 4
                hysteresis 1
                sorry_server 203.0.113.9 80
                real_server 198.51.100.11 80 {
                    weight 3
                }
                real_server 198.51.100.12 80 {
                    weight 2
                }
            }
            """
        let oneDown = [IPVSRealServerID(virtualServer: 0, realServer: 1): false]
        // Live weight 3 < quorum 4, but within the hysteresis band the quorum is still met: no sorry server.
        let kept = try desired(text, health: oneDown, quorumMet: [0: true])
        #expect(kept.table[web]?.destinations == [destination("198.51.100.11", 80, weight: 3)])
        // All up (live weight 5) but the checker has not regained the quorum yet: the sorry server stays in.
        let notRegained = try desired(text, quorumMet: [0: false])
        #expect(notRegained.table[web]?.destinations.contains(destination("203.0.113.9", 80)) == true)
        // Without a verdict the bare comparison still applies.
        #expect(
            try desired(text, health: oneDown).table[web]?.destinations.contains(destination("203.0.113.9", 80))
                == true)
    }

    @Test("JSON: services in ipvsadm's order, settings and counters, escaped strings")
    func json() {
        var real = destination("198.51.100.11", 80, .directRouting, weight: 3)
        real.activeConnections = 2
        let table = IPVSTable([
            IPVSVirtualServer(
                service: IPVSService(key: .firewallMark(8, family: .ipv6), scheduler: "sh", flags: .shPort)),
            IPVSVirtualServer(
                service: IPVSService(
                    key: web, scheduler: "wrr", flags: .persistent, timeout: 50, persistenceEngine: "sip"),
                destinations: [real]),
        ])
        #expect(
            IPVSTableJSON.render(table)
                == #"{"version":"1.2.1","connectionTableSize":4096,"virtualServers":[{"protocol":"TCP","address":"192.0.2.100","port":80,"scheduler":"wrr","flags":[],"onePacket":false,"persistent":true,"timeout":50,"netmask":4294967295,"persistenceEngine":"sip","realServers":[{"address":"198.51.100.11","port":80,"forward":"Route","weight":3,"upperThreshold":0,"lowerThreshold":0,"activeConnections":2,"inactiveConnections":0,"connections":0}]},{"fwmark":8,"family":"inet6","scheduler":"sh","flags":["sh-port"],"onePacket":false,"persistent":false,"realServers":[]}]}"#
                + "\n")
        #expect(IPVSTableJSON.string("a\"b\\c\u{1}") == #""a\"b\\c\u0001""#)
    }
}
