import Testing

@testable import Config

/// Words keepalived 2.2.7 ignores without a word (each case checked with `keepalived -t`: exit 0, no
/// message; `Tests/Namespaces/realworld/silent` checks them again against the real keepalived): Vigil
/// ignores the same words, keeps what keepalived keeps, and warns at the line saying what it did.
@Suite("keepalived's silent leniency: ignored with a warning")
struct SurplusWordsTests {
    static func instance(_ line: String) -> (VRRPInstance?, [Diagnostic]) {
        let loaded = ConfigLoader.load(
            text: "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 51\n\(line)\n"
                + "virtual_ipaddress {\n192.0.2.100/24\n}\n}\n")
        return (loaded.config.vrrp.instances.first, loaded.diagnostics)
    }

    @Test("A flag keyword with words after it")
    func flagWithValue() throws {
        let (preempt, diagnostics) = Self.instance("nopreempt\npreempt delay 300")
        #expect(try #require(preempt).nopreempt == false)
        #expect(
            diagnostics.map(\.description) == [
                "<config>:5: warning: 'preempt' takes no value; ignored 'delay 300' — did you mean 'preempt_delay 300'?"
            ])
        let (nopreempt, more) = Self.instance("nopreempt yes")
        #expect(try #require(nopreempt).nopreempt)
        #expect(more.map(\.message) == ["'nopreempt' takes no value; ignored 'yes', as keepalived does"])
    }

    @Test("Two statements on one line: keepalived reads the first")
    func twoStatements() throws {
        let (instance, diagnostics) = Self.instance("state MASTER priority 200")
        #expect(try #require(instance).initialState == .master)
        // No priority statement with state MASTER: keepalived's 255 (measured: it advertises 255 at once).
        #expect(instance?.priority == 255)
        #expect(diagnostics.errors.isEmpty)
        #expect(
            diagnostics.warnings.map(\.message).contains(
                "'state' takes 1 value; used 'MASTER' and ignored 'priority 200' — keepalived reads one statement per "
                    + "line: put 'priority 200' on a line of its own"))
    }

    @Test("A second value")
    func secondValue() throws {
        let (instance, diagnostics) = Self.instance("advert_int 1 2")
        #expect(try #require(instance).advertInterval == .seconds(1))
        #expect(
            diagnostics.map(\.message) == ["'advert_int' takes 1 value; used '1' and ignored '2', as keepalived does"])
    }

    @Test("A one-line checker block: keepalived reads the first statement only")
    func oneLineChecker() throws {
        let (server, diagnostics) = loadRealServer("TCP_CHECK { connect_timeout 1 retry 3 }")
        let checker = try #require(server?.checkers.first)
        #expect(checker.timing.connectTimeout == .seconds(1))
        #expect(checker.timing.retry == CheckerKind.tcp.defaultRetry)
        #expect(
            diagnostics.map(\.description) == [
                "<config>:3: warning: 'connect_timeout' takes 1 value; used '1' and ignored 'retry 3' — keepalived reads "
                    + "one statement per line: put 'retry 3' on a line of its own"
            ])
    }

    @Test("A prefix length or range after a host address is ignored, as keepalived's inet_stosockaddr cuts it")
    func addressSuffix() throws {
        let (instance, diagnostics) = Self.instance("unicast_src_ip 192.0.2.91/24\nunicast_peer {\n192.0.2.92-95\n}")
        #expect(try #require(instance).unicastSourceIP == IPAddress("192.0.2.91"))
        #expect(instance?.unicastPeers.map(\.address) == [IPAddress("192.0.2.92")!])
        #expect(
            diagnostics.map(\.message) == [
                "'192.0.2.91/24' in 'unicast_src_ip': the '/24' is ignored, as keepalived ignores it; using 192.0.2.91",
                "'192.0.2.92-95' in '192.0.2.92-95': the '-95' is ignored, as keepalived ignores it; using 192.0.2.92",
            ])
        // Where an address must be exact (a VIP's broadcast), it stays an error.
        let (_, brd) = Self.instance("virtual_ipaddress {\n192.0.2.1/24 brd 192.0.2.255/24\n}")
        #expect(brd.errors.count == 1)
    }

    @Test("misc_path takes the whole line as the command, as keepalived does")
    func miscPathWords() throws {
        let (server, diagnostics) = loadRealServer("MISC_CHECK {\nmisc_path /usr/local/bin/check \"a b\" c\n}")
        guard case .misc(let misc) = try #require(server?.checkers.first).kind else {
            Issue.record("not a MISC_CHECK")
            return
        }
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(ScriptCommand(text: misc.path).arguments == ["/usr/local/bin/check", "a b", "c"])
    }

    @Test("--strict material: too few words stay an error, as keepalived exits on them")
    func missingValue() {
        let (_, diagnostics) = Self.instance("priority")
        #expect(diagnostics.errors.map(\.message) == ["'priority' takes 1 value, got 0"])
    }
}
