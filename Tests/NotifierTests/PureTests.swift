import Config
import Testing

@testable import Notifier

@Suite struct TrackedScriptStateTests {
    @Test func startsUpOrDownPerInitFail() {
        #expect(TrackedScriptState(rise: 2, fall: 3).isUp)
        #expect(!TrackedScriptState(rise: 2, fall: 3, initFail: true).isUp)
        var script = VRRPScript(name: "chk", location: SourceLocation(file: "k.conf", line: 1))
        script.initFail = true
        script.weight = -20
        let state = TrackedScriptState(script: script)
        #expect(!state.isUp)
        #expect(state.priorityDelta == -20)
    }

    /// Records `results` in order; which of them changed `isUp`.
    func changes(_ state: inout TrackedScriptState, _ results: [ScriptResult]) -> [Bool] {
        results.map { state.record($0) }
    }

    @Test func fallConsecutiveFailuresTakeItDown() {
        var state = TrackedScriptState(rise: 2, fall: 3, weight: 10)
        #expect(state.priorityDelta == 10)
        // A success in between resets the run of failures; a timeout, signal or failure to start all fail.
        let seen = changes(
            &state, [.exited(1), .timedOut, .exited(0), .signalled(9), .exited(2), .failedToStart("x")])
        #expect(seen == [false, false, false, false, false, true])
        #expect(!state.isUp)
        #expect(state.priorityDelta == 0)
    }

    @Test func riseConsecutiveSuccessesBringItUp() {
        var state = TrackedScriptState(rise: 3, fall: 1, weight: -5, initFail: true)
        #expect(state.priorityDelta == -5)
        let seen = changes(&state, [.exited(0), .exited(0), .exited(7), .exited(0), .exited(0), .exited(0)])
        #expect(seen == [false, false, false, false, false, true])
        #expect(state.isUp)
        #expect(state.priorityDelta == 0)
        // fall 1: one failure is enough.
        #expect(changes(&state, [.timedOut]) == [true])
    }

    @Test func weightAndReverse() {
        var positiveReverse = TrackedScriptState(rise: 1, fall: 1, weight: 10, reverse: true)
        #expect(positiveReverse.priorityDelta == -10)
        _ = positiveReverse.record(.exited(1))
        #expect(positiveReverse.priorityDelta == 0)
        var negativeReverse = TrackedScriptState(rise: 1, fall: 1, weight: -10, reverse: true)
        #expect(negativeReverse.priorityDelta == 0)
        _ = negativeReverse.record(.exited(1))
        #expect(negativeReverse.priorityDelta == 10)
    }

    @Test func weightZeroMeansFault() {
        var state = TrackedScriptState(rise: 1, fall: 1)
        #expect(!state.causesFault)
        _ = state.record(.timedOut)
        #expect(state.causesFault)
        #expect(state.priorityDelta == 0)
        var reversed = TrackedScriptState(rise: 1, fall: 1, reverse: true)
        #expect(reversed.causesFault)
        _ = reversed.record(.exited(1))
        #expect(!reversed.causesFault)
    }
}

@Suite struct TrackFileTests {
    @Test func parsesLikeStrtol() {
        #expect(TrackFile.weight(fromContents: "5\n", weight: 2) == .weight(10))
        #expect(TrackFile.weight(fromContents: "  -3 trailing", weight: 4) == .weight(-12))
        #expect(TrackFile.weight(fromContents: "+7", weight: 1) == .weight(7))
        #expect(TrackFile.weight(fromContents: "abc", weight: 10) == .weight(0))
        #expect(TrackFile.weight(fromContents: "", weight: 10) == .weight(0))
        #expect(TrackFile.weight(fromContents: nil, weight: 10) == .weight(0))
    }

    @Test func limitsAndFaults() {
        #expect(TrackFile.weight(fromContents: "-253", weight: 1) == .weight(-253))
        #expect(TrackFile.weight(fromContents: "-254", weight: 1) == .fault)
        #expect(TrackFile.weight(fromContents: "300", weight: 1) == .weight(253))
        #expect(TrackFile.weight(fromContents: "99999999999999999999999", weight: 3) == .weight(253))
        #expect(TrackFile.weight(fromContents: "-99999999999999999999999", weight: 3) == .fault)
        #expect(TrackFile.weight(fromContents: "10", weight: 2, reverse: true) == .weight(-20))
    }

    @Test func weightZeroIsStatus() {
        #expect(TrackFile.weight(fromContents: "0", weight: 0) == .weight(0))
        #expect(TrackFile.weight(fromContents: "1", weight: 0) == .fault)
        #expect(TrackFile.weight(fromContents: nil, weight: 0) == .weight(0))
    }

    @Test func readsAFile() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        directory.write("value", "-2\n")
        #expect(TrackFile.read(path: directory.file("value"), weight: 50) == .weight(-100))
        #expect(TrackFile.read(path: directory.file("missing"), weight: 50) == .weight(0))
    }
}

@Suite struct NotifyFormattingTests {
    @Test func notifyScriptGetsFourArguments() throws {
        let command = try ScriptCommand("/etc/keepalived/notify.sh 'first arg'")
        let instance = NotifyArguments.notify(command, subject: .instance, name: "VI_1", state: .master, priority: 100)
        #expect(instance.arguments == ["/etc/keepalived/notify.sh", "first arg", "INSTANCE", "VI_1", "MASTER", "100"])
        let group = NotifyArguments.notify(command, subject: .group, name: "G1", state: .fault, priority: 0)
        #expect(group.arguments.suffix(4) == ["GROUP", "G1", "FAULT", "0"])
        #expect(NotifyArguments.plain(command) == command)
        #expect(NotifyArguments.fifoScript(command, fifoPath: "/run/f").arguments.last == "/run/f")
    }

    @Test func fifoLinesAsKeepalived() {
        #expect(
            NotifyFIFOLine.instance(name: "VI_1", state: .master, priority: 100) == "INSTANCE \"VI_1\" MASTER 100\n")
        #expect(NotifyFIFOLine.group(name: "G1", state: .backup) == "GROUP \"G1\" BACKUP 0\n")
        #expect(
            NotifyFIFOLine.instance(name: "VI_1", state: .masterRxLowerPriority, priority: 90)
                == "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n")
        let vs = NotifyFIFOLine.endpoint(address: "192.0.2.100", protocol: "TCP", port: 80)
        let rs = NotifyFIFOLine.endpoint(address: "198.51.100.11", protocol: "tcp", port: 80)
        #expect(NotifyFIFOLine.virtualServer(vs, up: true) == "VS [192.0.2.100]:tcp:80 UP\n")
        #expect(
            NotifyFIFOLine.realServer(rs, of: vs, up: false) == "RS [198.51.100.11]:tcp:80 [192.0.2.100]:tcp:80 DOWN\n")
        #expect(NotifyFIFOLine.endpoint(address: "2001:db8::1", protocol: "udp", port: 53) == "[2001:db8::1]:udp:53")
        #expect(NotifyFIFOLine.virtualServer(NotifyFIFOLine.firewallMark(7), up: false) == "VS FWM 7 DOWN\n")
        #expect(NotifyFIFOLine.virtualServerGroup("web", port: 80) == "[web]:80")
    }
}

@Suite struct SMTPAlertTextTests {
    @Test func keepalivedWording() {
        let master = SMTPAlertText.instance(routerID: "lb1", name: "VI_1", state: .master)
        #expect(master.subject == "[lb1] VRRP Instance VI_1 - Entering MASTER state")
        #expect(master.body == "=> VRRP Instance is now owning VRRP VIPs <=")
        #expect(SMTPAlertText.instance(routerID: "lb1", name: "VI_1", state: .fault).body.contains("no longer owning"))
        #expect(
            SMTPAlertText.group(routerID: "lb1", name: "G1", state: .backup).subject
                == "[lb1] VRRP Group G1 - Entering BACKUP state")
        #expect(
            SMTPAlertText.instance(routerID: "lb1", name: "VI_1", state: .stop).body == "=> VRRP Instance stopping <=")
        #expect(
            SMTPAlertText.group(routerID: "lb1", name: "G1", state: .fault).body
                == "=> All VRRP group instances are now in FAULT state <=")
        let down = SMTPAlertText.realServer(
            routerID: "lb1", realServer: "[198.51.100.11]:tcp:80", virtualServer: "[192.0.2.100]:tcp:80", up: false)
        #expect(down.subject == "[lb1] Realserver [198.51.100.11]:tcp:80 of virtual server [192.0.2.100]:tcp:80 - DOWN")
        #expect(down.body == "=> CHECK failed on service <=")
        #expect(
            SMTPAlertText.virtualServer(routerID: "lb1", virtualServer: "FWM 7", up: true, body: "x").subject
                == "[lb1] Virtualserver FWM 7 - UP")
    }
}

@Suite struct SMTPConversationTests {
    func converse(_ replies: [String], recipients: [String] = ["a@example.org", "b@example.org"]) -> [SMTPConversation
        .Action]
    {
        var conversation = SMTPConversation(
            heloName: "lb1", from: "vigil@lb1", recipients: recipients, message: "Subject: x\r\n\r\nbody")
        return replies.map { conversation.receive(line: $0) }
    }

    @Test func fullConversation() {
        let actions = converse([
            "220-hello", "220 ready", "250 hi", "250 ok", "250 ok", "251 forwarding", "354 go", "250 queued", "221 bye",
        ])
        #expect(
            actions == [
                .wait, .send("HELO lb1\r\n"), .send("MAIL FROM:<vigil@lb1>\r\n"), .send("RCPT TO:<a@example.org>\r\n"),
                .send("RCPT TO:<b@example.org>\r\n"), .send("DATA\r\n"), .send("Subject: x\r\n\r\nbody\r\n.\r\n"),
                .send("QUIT\r\n"), .finished,
            ])
    }

    @Test func refusalNamesTheStep() {
        let actions = converse(["220 ready", "250 hi", "250 ok", "550 no such user"])
        #expect(actions.last == .failed("SMTP server refused RCPT TO:<a@example.org>: '550 no such user'"))
        #expect(converse(["hello"]).last == .failed("malformed SMTP reply 'hello'"))
        #expect(converse(["554 go away"]).last == .failed("SMTP server refused banner: '554 go away'"))
    }

    @Test func dotStuffingAndHeaders() {
        #expect(SMTPConversation.dotStuffed("a\n.b\r\n..c") == "a\r\n..b\r\n...c\r\n.\r\n")
        let message = SMTPMessage.render(
            from: "vigil@lb1", to: ["a@example.org", "b@example.org"],
            subject: "[lb1] VRRP Instance VI_1 - Entering MASTER state",
            date: "Tue, 24 Nov 2026 22:56:43 +0000", body: "=> VRRP Instance is now owning VRRP VIPs <=")
        #expect(
            message
                == "Date: Tue, 24 Nov 2026 22:56:43 +0000\r\nFrom: vigil@lb1\r\n"
                + "Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\nX-Mailer: Keepalived\r\n"
                + "To: a@example.org, b@example.org\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=")
    }
}
