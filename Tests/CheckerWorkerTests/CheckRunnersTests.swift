import Config
import Testing

@testable import CheckerWorker

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Check runners and socket plans")
struct CheckRunnersTests {
    static func plan(
        _ address: String, port: Int? = 80, timeout: Duration = .seconds(1), keyword: String = "TCP_CHECK",
        bindTo: String? = nil, bindInterface: String? = nil, fwmark: UInt32? = nil
    ) -> Result<SocketPlan, ProbeFailure> {
        let target = ProbeTarget(
            address: IPAddress(address)!, port: port, bindAddress: bindTo.flatMap(IPAddress.init),
            bindInterface: bindInterface, fwmark: fwmark, connectTimeout: timeout)
        return SocketPlan.make(target: target, port: port, label: .endpoint(keyword))
    }

    /// The bytes `connect` is given.
    static func bytes(_ address: SockaddrBytes) -> [UInt8] {
        address.withPointer { pointer, length in
            Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: Int(length)))
        }
    }

    @Test("an IPv4 plan: a 16-byte sockaddr_in, its endpoint read back into the label, the timeout's text")
    func ipv4() throws {
        let plan = try Self.plan("198.51.100.11", port: 8080, timeout: .milliseconds(1_500)).get()
        var expected = sockaddr_in()
        expected.sin_family = sa_family_t(AF_INET)
        expected.sin_port = UInt16(8080).bigEndian
        expected.sin_addr.s_addr = inet_addr("198.51.100.11")
        #expect(Self.bytes(plan.remote) == withUnsafeBytes(of: expected) { Array($0) })
        #expect(plan.family == AF_INET)
        #expect(plan.label == "TCP_CHECK 198.51.100.11:8080")
        #expect(plan.timeoutText == "1.5s")
        #expect(plan.timeout == 1_500_000_000)
        #expect(plan.source == nil)
    }

    @Test("an IPv6 plan: a 28-byte sockaddr_in6, the endpoint bracketed; whole seconds print without a fraction")
    func ipv6() throws {
        let plan = try Self.plan("2001:db8::7", port: 443, timeout: .seconds(3), keyword: "SSL_GET").get()
        var expected = sockaddr_in6()
        expected.sin6_family = sa_family_t(AF_INET6)
        expected.sin6_port = UInt16(443).bigEndian
        _ = inet_pton(AF_INET6, "2001:db8::7", &expected.sin6_addr)
        #expect(Self.bytes(plan.remote) == withUnsafeBytes(of: expected) { Array($0) })
        #expect(plan.family == AF_INET6)
        #expect(plan.label == "SSL_GET [2001:db8::7]:443")
        #expect(plan.timeoutText == "3s")
        #expect(plan.relabelled("HTTP_GET [2001:db8::7]:443/health").label == "HTTP_GET [2001:db8::7]:443/health")
    }

    @Test("the source options are kept only when set; bad ones and a missing port are reasons, named as before")
    func sourceAndFailures() throws {
        let bound = try Self.plan("192.0.2.5", bindTo: "192.0.2.1", fwmark: 9).get()
        let local = try #require(bound.source?.local)
        #expect(local.address == IPAddress("192.0.2.1") && local.port == 0 && bound.source?.mark == 9)
        #expect(bound.source?.device == nil)
        #expect(try Self.plan("192.0.2.5", bindInterface: "veth0").get().source?.device == Array("veth0".utf8))
        func reason(_ result: Result<SocketPlan, ProbeFailure>) -> String? {
            if case .failure(let failure) = result { return failure.message }
            return nil
        }
        #expect(reason(Self.plan("192.0.2.5", port: nil)) == "TCP_CHECK 192.0.2.5: no port to connect to")
        #expect(
            reason(Self.plan("192.0.2.5", bindTo: "2001:db8::1"))
                == "TCP_CHECK 192.0.2.5:80: bindto 2001:db8::1 is not of the target's family")
        #expect(
            reason(Self.plan("192.0.2.5", bindInterface: "an-interface-name-too-long"))
                == "TCP_CHECK 192.0.2.5:80: bind_if an-interface-name-too-long: not an interface name")
    }

    @Test("runners: a TCP_CHECK with a port connects, other kinds run their probe; one runner held inline, several")
    func runners() throws {
        let text = """
            virtual_server 192.0.2.1 80 {
             real_server 198.51.100.11 80 {
              TCP_CHECK {
              }
             }
             real_server 198.51.100.12 80 {
              TCP_CHECK {
              }
              MISC_CHECK {
               misc_path /bin/true
              }
             }
            }
            virtual_server fwmark 5 {
             real_server 198.51.100.13 {
              TCP_CHECK {
              }
             }
            }
            """
        let configuration = CheckerCoreTests.workerConfiguration(text)
        var core = CheckerCore()
        var random = SplitMix64(seed: 1)
        _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
        let tokens = core.entries.map(\.token)
        #expect(tokens.count == 3)
        var runners = CheckRunners()
        var progress = 0
        runners.build(
            tokens, core: core, lvs: try #require(configuration.lvs),
            make: {
                HealthProbes.make(
                    checker: $0, realServer: $1, virtualServer: $2, group: nil, scripts: nil, sslContext: nil)
            }, progress: { progress += 1 })
        #expect(runners.count == 3 && progress == 1)
        func kind(_ runner: CheckRunner?) -> String {
            switch runner {
            case .connect(let plan)?: "connect \(plan.label)"
            case .probe(let box)?: "probe \(type(of: box.probe))"
            case nil: "none"
            }
        }
        #expect(kind(runners[tokens[0], 0]) == "connect TCP_CHECK 198.51.100.11:80")
        #expect(kind(runners[tokens[0], 1]) == "none")
        #expect(kind(runners[tokens[1], 0]) == "connect TCP_CHECK 198.51.100.12:80")
        #expect(kind(runners[tokens[1], 1]).hasPrefix("probe ") && kind(runners[tokens[1], 1]) != "probe TCPProbe")
        #expect(kind(runners[tokens[1], 2]) == "none")
        // No port to connect to: the probe runs, and fails with its reason.
        #expect(kind(runners[tokens[2], 0]) == "probe TCPProbe")
        runners.remove(token: tokens[1])
        #expect(runners.count == 2 && kind(runners[tokens[1], 0]) == "none")
        #expect(kind(runners[tokens[0], 0]) == "connect TCP_CHECK 198.51.100.11:80")
    }
}
