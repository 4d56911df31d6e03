import Config
import Testing

@testable import VRRPWorker

/// `vrrp_track_process`: keepalived's matching (track_process.c check_params) and quorum rules, the delays as
/// timers asked of the shell, and the connector's datagrams decoded.
@Suite("vrrp_track_process")
struct ProcessTrackerTests {
    static let location = SourceLocation(file: "t.conf", line: 1)

    static func definition(
        _ name: String, process: String, parameters: [String] = [], match: VRRPTrackProcess.ParameterMatch? = nil,
        fullCommand: Bool = false, quorum: Int = 1, quorumMax: Int = Int(UInt32.max), forkDelay: Duration = .zero,
        terminateDelay: Duration = .zero
    ) -> VRRPTrackProcess {
        var definition = VRRPTrackProcess(name: name, location: location)
        definition.process = process
        definition.parameters = parameters
        definition.fullCommand = fullCommand || !parameters.isEmpty || match != nil
        definition.parameterMatch = match ?? (parameters.isEmpty ? .none : .exact)
        definition.quorum = quorum
        definition.quorumMax = quorumMax
        definition.forkDelay = forkDelay
        definition.terminateDelay = terminateDelay
        return definition
    }

    static func identity(_ argv: String...) -> ProcessIdentity {
        ProcessIdentity(
            name: String(argv[0].split(separator: "/").last ?? "").prefix(15).description, commandLine: argv)
    }

    @Test(
        "Matching: the name exactly, argv[0] and parameters with full_command as param_match says",
        arguments: [
            // (process, parameters, match, fullCommand, argv, matches)
            ("sleep", [], nil, false, ["/bin/sleep", "10"], true),
            ("slee", [], nil, false, ["/bin/sleep"], false),
            ("/bin/sleep", [], nil, false, ["/bin/sleep"], false),
            ("/bin/sleep", [], nil, true, ["/bin/sleep", "10"], true),
            ("/bin/sleep", [], .exact, true, ["/bin/sleep", "10"], false),
            ("/bin/sleep", [], .exact, true, ["/bin/sleep"], true),
            ("/bin/sleep", ["10"], nil, true, ["/bin/sleep", "10"], true),
            ("/bin/sleep", ["10"], nil, true, ["/bin/sleep", "100"], false),
            ("/bin/sleep", ["10"], nil, true, ["/bin/sleep", "10", "x"], false),
            ("/bin/sleep", ["10"], .partial, true, ["/bin/sleep", "10", "x"], true),
            ("/bin/sleep", ["10"], .partial, true, ["/bin/sleep", "100"], false),
            ("/bin/sleep", ["10"], .initial, true, ["/bin/sleep", "100", "x"], true),
            ("/bin/sleep", ["a", "10"], .initial, true, ["/bin/sleep", "b", "100"], false),
            ("/bin/sleep", ["10"], .initial, true, ["/bin/sleep"], false),
            ("/bin/sleep", [], .initial, true, ["/bin/sleep", "x"], true),
        ] as [(String, [String], VRRPTrackProcess.ParameterMatch?, Bool, [String], Bool)])
    func matching(
        _ process: String, _ parameters: [String], _ match: VRRPTrackProcess.ParameterMatch?, _ fullCommand: Bool,
        _ argv: [String], _ matches: Bool
    ) {
        let pattern = ProcessPattern(
            Self.definition(
                "p", process: process, parameters: parameters, match: match, fullCommand: fullCommand))
        let identity = ProcessIdentity(name: String(argv[0].split(separator: "/").last!), commandLine: argv)
        #expect(pattern.matches(identity) == matches)
    }

    @Test("cmdline's NUL-terminated words, an empty parameter kept")
    func commandLine() {
        #expect(ProcessIdentity.arguments(fromCommandLine: Array("a\0\0b c\0".utf8)) == ["a", "", "b c"])
        #expect(ProcessIdentity.arguments(fromCommandLine: [UInt8]()) == [])
    }

    @Test("The scan counts; exec, fork, exit and renames move the count; quorum changes are reported once")
    func quorum() {
        var tracker = ProcessTracker([Self.definition("s", process: "sleep", quorum: 2, quorumMax: 3)])
        #expect(!tracker.hasQuorum("s"))
        #expect(
            tracker.scan([10: Self.identity("/bin/sleep"), 11: Self.identity("/bin/bash")], initial: true) == [])
        #expect(tracker.count("s") == 1)
        #expect(tracker.exec(pid: 11, identity: Self.identity("/bin/sleep")) == [.quorum("s", true)])
        #expect(tracker.fork(parent: 11, child: 12) == [])
        #expect(tracker.count("s") == 3)
        // A fourth is above quorum_max.
        #expect(tracker.fork(parent: 12, child: 13) == [.quorum("s", false)])
        #expect(tracker.exit(pid: 13) == [.quorum("s", true)])
        // Exit of an untracked process, fork of an untracked parent, a child already counted: nothing.
        #expect(tracker.exit(pid: 99) == [] && tracker.fork(parent: 98, child: 97) == [])
        #expect(tracker.fork(parent: 11, child: 12) == [] && tracker.count("s") == 3)
        // exec into something else, a rename away: counted no more.
        #expect(tracker.exec(pid: 12, identity: Self.identity("/bin/true")) == [])
        #expect(tracker.renamed(pid: 11, name: "worker", commandLine: nil) == [.quorum("s", false)])
        #expect(tracker.count("s") == 1)
        #expect(tracker.renamed(pid: 11, name: "sleep", commandLine: nil) == [.quorum("s", true)])
        // exec of a process already gone (no identity): it stops counting.
        #expect(tracker.exec(pid: 10, identity: nil) == [.quorum("s", false)])
    }

    @Test("quorum_max 0: OK while no process matches")
    func quorumMaxZero() {
        var tracker = ProcessTracker([Self.definition("x", process: "bad", quorum: 0, quorumMax: 0)])
        #expect(tracker.hasQuorum("x"))
        #expect(tracker.scan([5: ProcessIdentity(name: "bad")], initial: true) == [.quorum("x", false)])
        #expect(tracker.exit(pid: 5) == [.quorum("x", true)])
    }

    @Test("fork_delay: a quorum gained by a fork counts after the delay, and not at all if lost before")
    func forkDelay() {
        var tracker = ProcessTracker([Self.definition("s", process: "sleep", forkDelay: .seconds(2))])
        _ = tracker.scan([10: ProcessIdentity(name: "bash")], initial: true)
        #expect(tracker.exec(pid: 10, identity: ProcessIdentity(name: "sleep")) == [.quorum("s", true)])
        #expect(tracker.exit(pid: 10) == [.quorum("s", false)])
        _ = tracker.exec(pid: 20, identity: ProcessIdentity(name: "sleep"))
        _ = tracker.exit(pid: 20)
        // Now through a fork of a counted parent: parent 30 counted, exits, the count back at 0.
        _ = tracker.exec(pid: 30, identity: ProcessIdentity(name: "sleep"))
        #expect(tracker.fork(parent: 30, child: 31) == [])
        #expect(tracker.exit(pid: 30) == [] && tracker.exit(pid: 31) == [.quorum("s", false)])
        // A fork from 0 is impossible (the parent counts), so with quorum 2 the fork gains it.
        var two = ProcessTracker([Self.definition("s", process: "sleep", quorum: 2, forkDelay: .seconds(2))])
        _ = two.scan([40: ProcessIdentity(name: "sleep")], initial: true)
        #expect(two.fork(parent: 40, child: 41) == [.startTimer("s", .seconds(2))])
        #expect(!two.hasQuorum("s"))
        #expect(two.timerFired("s") == [.quorum("s", true)])
        #expect(two.exit(pid: 41) == [.quorum("s", false)])
        #expect(two.fork(parent: 40, child: 42) == [.startTimer("s", .seconds(2))])
        #expect(two.exit(pid: 42) == [.cancelTimer("s")])
        #expect(two.timerFired("s") == [] && !two.hasQuorum("s"))
    }

    @Test("terminate_delay: a quorum lost by an exit counts after the delay; a restart within it changes nothing")
    func terminateDelay() {
        var tracker = ProcessTracker([Self.definition("s", process: "sleep", terminateDelay: .seconds(3))])
        #expect(tracker.scan([10: ProcessIdentity(name: "sleep")], initial: true) == [.quorum("s", true)])
        #expect(tracker.exit(pid: 10) == [.startTimer("s", .seconds(3))])
        #expect(tracker.hasQuorum("s"))
        #expect(tracker.exec(pid: 11, identity: ProcessIdentity(name: "sleep")) == [.cancelTimer("s")])
        #expect(tracker.exit(pid: 11) == [.startTimer("s", .seconds(3))])
        #expect(tracker.timerFired("s") == [.quorum("s", false)])
        // A rescan after lost events counts a loss after the delay too, a gain at once.
        #expect(tracker.scan([12: ProcessIdentity(name: "sleep")], initial: false) == [.quorum("s", true)])
        #expect(tracker.scan([:], initial: false) == [.startTimer("s", .seconds(3))])
        #expect(tracker.scan([:], initial: true) == [.cancelTimer("s"), .quorum("s", false)])
    }

    @Test("Connector datagrams: fork, exec, comm and exit of processes decoded; threads and others ignored")
    func decode() {
        func datagram(index: UInt32 = 1, what: UInt32, _ words: [UInt32], name: String = "", ack: UInt32 = 0)
            -> [UInt8]
        {
            var bytes = [UInt8](repeating: 0, count: 16)
            func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
            append(index)
            append(1)
            append(0)
            append(ack)
            bytes += [UInt8](repeating: 0, count: 4)
            append(what)
            bytes += [UInt8](repeating: 0, count: 12)
            for word in words { append(word) }
            if !name.isEmpty { bytes += Array(name.utf8) + [UInt8](repeating: 0, count: 16 - name.utf8.count) }
            return bytes
        }
        #expect(ProcessEvent.decode(datagram(what: 1, [10, 10, 11, 11])) == .fork(parent: 10, child: 11))
        #expect(ProcessEvent.decode(datagram(what: 1, [10, 10, 12, 11])) == nil)
        #expect(ProcessEvent.decode(datagram(what: 2, [7, 7])) == .exec(7))
        #expect(ProcessEvent.decode(datagram(what: 2, [8, 7])) == nil)
        #expect(ProcessEvent.decode(datagram(what: 0x8000_0000, [7, 7, 0, 9])) == .exit(7))
        #expect(ProcessEvent.decode(datagram(what: 0x200, [7, 7], name: "worker")) == .renamed(7, "worker"))
        // The kernel answers a subscription with the request's ack + 1, to every listener: only this process's own.
        #expect(ProcessEvent.decode(datagram(what: 0, [0], ack: 43), cookie: 42) == .acknowledged(error: 0))
        #expect(ProcessEvent.decode(datagram(what: 0, [1], ack: 43), cookie: 42) == .acknowledged(error: 1))
        #expect(ProcessEvent.decode(datagram(what: 0, [1], ack: 8), cookie: 42) == nil)
        #expect(ProcessEvent.decode(datagram(what: 4, [7, 7])) == nil)
        #expect(ProcessEvent.decode(datagram(index: 2, what: 2, [7, 7])) == nil)
        #expect(ProcessEvent.decode(datagram(what: 2, [7]).dropLast(2)) == nil)
    }
}
