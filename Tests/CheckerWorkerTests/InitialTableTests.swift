import Config
import IPVSShim
import TestSupport
import Testing
import WorkerIPC

@testable import CheckerWorker

/// The rules the watchdog writes at a daemon's start (`CheckerCore.initialTable`) are the ones the checker worker's
/// first configuration wants: otherwise the worker's first sync would rewrite what the watchdog just wrote.
@Suite("A start's rules, worked out without the schedule")
struct InitialTableTests {
    static let text = """
        bfd_instance notifying {
            neighbor_ip 198.51.100.40
        }
        bfd_instance vrrpOnly {
            neighbor_ip 198.51.100.41
            vrrp
        }
        virtual_server_group pair {
            192.0.2.20 80
            192.0.2.21 80
            fwmark 7
        }
        virtual_server 192.0.2.1 80 {
            lb_kind NAT
            real_server 198.51.100.11 80 {
                weight 3
                TCP_CHECK {
                }
            }
            real_server 198.51.100.12 80 {
                TCP_CHECK {
                    alpha
                }
            }
            real_server 198.51.100.13 80 {
                inhibit_on_failure
                HTTP_GET {
                    url {
                        path /
                        status_code 200
                    }
                    alpha
                }
            }
            real_server 198.51.100.14 8080 {
                weight 2
            }
            real_server 198.51.100.15 80 {
                TCP_CHECK {
                }
                TCP_CHECK {
                    connect_port 81
                    alpha
                }
            }
        }
        virtual_server 192.0.2.2 443 {
            lb_kind DR
            persistence_timeout 60
            quorum 2
            hysteresis 1
            sorry_server 198.51.100.99 443
            real_server 198.51.100.11 443 {
                TCP_CHECK {
                    alpha
                }
            }
            real_server 198.51.100.12 443 {
                BFD_CHECK {
                    name notifying
                }
            }
            real_server 198.51.100.13 443 {
                BFD_CHECK {
                    name vrrpOnly
                }
                TCP_CHECK {
                }
            }
        }
        virtual_server 192.0.2.3 53 {
            protocol UDP
            lb_kind TUN
            sorry_server 198.51.100.98 53
            sorry_server_inhibit
            real_server 198.51.100.16 53 {
                MISC_CHECK {
                    misc_path /bin/true
                    misc_dynamic
                }
            }
            real_server 198.51.100.17 53 {
                BFD_CHECK {
                    name notifying
                }
                MISC_CHECK {
                    misc_path /bin/true
                    alpha
                }
            }
        }
        virtual_server group pair {
            lb_kind DR
            real_server 198.51.100.18 80 {
                TCP_CHECK {
                    alpha
                }
            }
        }
        virtual_server 2001:db8::1 80 {
            lb_kind DR
            quorum 10
            sorry_server 2001:db8::99 80
            real_server 2001:db8::11 80 {
                TCP_CHECK {
                }
            }
        }
        """

    /// What the core's first configure wants in the kernel.
    static func configured(_ configuration: WorkerConfiguration) -> IPVSTable {
        var core = CheckerCore()
        var random = SplitMix64(seed: 11)
        _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
        return core.desiredState().table
    }

    static func configuration(sessions: [BFDSessionReport]?) -> WorkerConfiguration {
        let loaded = ConfigLoader.load(text: text)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        return WorkerConfiguration(
            globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs,
            bfd: loaded.config.bfd, bfdSessions: sessions)
    }

    @Test(
        "equal to what the core's first configure wants: alpha, inhibit_on_failure, quorum, sorry servers, groups, BFD",
        arguments: [nil, [], [true], [false]] as [[Bool]?])
    func equalToTheCoresFirstConfiguration(sessionUp: [Bool]?) {
        let sessions = sessionUp.map { ups in
            ups.map { BFDSessionReport(name: "notifying", neighbor: "198.51.100.40", state: .up, up: $0, since: 1) }
        }
        let configuration = Self.configuration(sessions: sessions)
        let table = CheckerCore.initialTable(configuration)
        #expect(table == Self.configured(configuration))
        // Not an empty agreement: every service is there, and the alpha real servers are not.
        #expect(table.virtualServers.count == 7)
        let first = table.virtualServers.first { $0.service.key.description.contains("192.0.2.1:80") }
        #expect(first?.destinations.map(\.port) == [80, 80, 8080])
        // A BFD_CHECK follows its session's last report (none: passing); the one that notifies only VRRP passes. With
        // the first down, the quorum of 2 is lost and the sorry server is in.
        let bfd = table.virtualServers.first { $0.service.key.description.contains("192.0.2.2:443") }
        let bfdUp = sessionUp?.first ?? true
        #expect(bfd?.destinations.contains { $0.address == IPAddress("198.51.100.12") } == bfdUp)
        #expect(bfd?.destinations.contains { $0.address == IPAddress("198.51.100.13") } == true)
        #expect(bfd?.destinations.contains { $0.address == IPAddress("198.51.100.99") } == !bfdUp)
    }
}
