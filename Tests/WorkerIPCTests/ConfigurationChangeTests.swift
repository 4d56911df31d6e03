import Config
import Logging
import TestSupport
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A reload sent as a change of the configuration the worker holds")
struct ConfigurationChangeTests {
    /// SERVICES virtual servers of REALS real servers each, `weight` for every real server unless `weights` says.
    static func configuration(
        services: [Int], reals: Int = 3, weights: [String: Int] = [:], text extra: String = ""
    ) throws -> WorkerConfiguration {
        var text = "global_defs { router_id test }\n" + extra
        for service in services {
            text += "virtual_server 192.0.2.\(service) 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n"
            for real in 1...reals {
                let name = "\(service).\(real)"
                text += "  real_server 198.51.100.\(real) \(8000 + service) {\n    weight \(weights[name] ?? 1)\n  }\n"
            }
            text += "}\n"
        }
        let loaded = ConfigLoader.load(text: text, name: "/etc/keepalived/keepalived.conf")
        try #require(loaded.isValid, "\(loaded.diagnostics.errors)")
        return WorkerConfiguration(
            globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs)
    }

    /// Encoded and decoded as the socket carries it, then applied.
    static func carried(_ change: WorkerConfigurationChange, to old: WorkerConfiguration) throws -> WorkerConfiguration?
    {
        let bytes = MessageCodec.encode(WorkerMessage.reconfigure(change))
        guard case .reconfigure(let decoded) = try MessageCodec.decode(WorkerMessage.self, from: bytes) else {
            Issue.record("not a reconfigure")
            return nil
        }
        #expect(decoded == change)
        return decoded.applied(to: old)
    }

    @Test("one weight among many: only its virtual server travels, and the worker rebuilds the same configuration")
    func oneWeight() throws {
        let old = try Self.configuration(services: Array(1...200), reals: 10)
        let new = try Self.configuration(services: Array(1...200), reals: 10, weights: ["17.2": 5])
        let change = WorkerConfigurationChange(sequence: 1, from: old, to: new)
        #expect(change.sentWhole == 1)
        #expect(try Self.carried(change, to: old) == new)
        let whole = MessageCodec.encode(WorkerMessage.configure(new)).count
        let delta = MessageCodec.encode(WorkerMessage.reconfigure(change)).count
        #expect(delta * 10 < whole, "a change of one service must be far smaller than the whole (\(delta) of \(whole))")
    }

    @Test("services added, removed and reordered; the rest of the configuration changed too")
    func reshaped() throws {
        let old = try Self.configuration(services: [1, 2, 3, 4, 5])
        let new = try Self.configuration(
            services: [5, 2, 9, 1], text: "global_defs { router_id other }\n")
        let change = WorkerConfigurationChange(sequence: 4, from: old, to: new)
        // 9 is new; 5, 2 and 1 moved or kept, found by value, though every line moved with the added global_defs.
        #expect(change.sentWhole == 1)
        #expect(try Self.carried(change, to: old) == new)
        let same = WorkerConfigurationChange(sequence: 4, from: new, to: new)
        #expect(same.sentWhole == 0)
        #expect(same.applied(to: new) == new)
    }

    @Test("services of one address (TCP and UDP) that swap places are both kept; a changed one among them travels")
    func sameAddressSwapped() throws {
        func configuration(_ protocols: [String], udpWeight: Int = 1) throws -> WorkerConfiguration {
            var text = "global_defs { router_id test }\n"
            for name in protocols {
                let weight = name == "UDP" ? udpWeight : 1
                text += "virtual_server 192.0.2.1 53 {\n  lb_algo rr\n  lb_kind DR\n  protocol \(name)\n"
                text += "  real_server 198.51.100.1 53 {\n    weight \(weight)\n  }\n}\n"
            }
            let loaded = ConfigLoader.load(text: text, name: "/etc/keepalived/keepalived.conf")
            try #require(loaded.isValid, "\(loaded.diagnostics.errors)")
            return WorkerConfiguration(globalDefs: loaded.config.globalDefs, lvs: loaded.config.lvs)
        }
        let old = try configuration(["TCP", "UDP"])
        let swapped = try configuration(["UDP", "TCP"])
        let change = WorkerConfigurationChange(sequence: 1, from: old, to: swapped)
        #expect(change.virtualServers == [.kept(1), .kept(0)])
        #expect(try Self.carried(change, to: old) == swapped)
        let edited = try configuration(["UDP", "TCP"], udpWeight: 3)
        let edit = WorkerConfigurationChange(sequence: 1, from: old, to: edited)
        #expect(edit.sentWhole == 1)
        #expect(edit.virtualServers?.last == .kept(0))
        #expect(try Self.carried(edit, to: old) == edited)
    }

    @Test("a configuration without virtual servers, and one that gains them")
    func noLVS() throws {
        let empty = WorkerConfiguration(globalDefs: GlobalDefs())
        let change = WorkerConfigurationChange(sequence: 0, from: empty, to: empty)
        #expect(change.virtualServers == nil)
        #expect(change.applied(to: empty) == empty)
        let full = try Self.configuration(services: [1, 2])
        #expect(try Self.carried(WorkerConfigurationChange(sequence: 1, from: empty, to: full), to: empty) == full)
    }

    @Test("a change that does not fit the configuration held is refused, not guessed at")
    func misfit() throws {
        let old = try Self.configuration(services: [1, 2, 3])
        let new = try Self.configuration(services: [1, 2, 3], weights: ["1.1": 2])
        let change = WorkerConfigurationChange(sequence: 1, from: old, to: new)
        #expect(change.applied(to: try Self.configuration(services: [1])) == nil)
    }

    @Test("the saved state of a previous worker is not sent again")
    func savedState() throws {
        var new = try Self.configuration(services: [1])
        new.savedState = WorkerState(aliveAt: 7)
        let change = WorkerConfigurationChange(sequence: 1, from: new, to: new)
        #expect(change.rest.savedState == nil)
    }
}

@Suite("A worker never waits on its watchdog")
struct WorkerReporterBacklogTests {
    /// A worker's reporter and the watchdog's end of its socket.
    static func connected() throws -> (reporter: WorkerReporter, watchdog: MessageSocket) {
        let (ours, theirs) = try MessageSocket.pair()
        return (
            WorkerReporter(socket: MessageSocket(fd: ours), logger: Logger(label: "test")), MessageSocket(fd: theirs)
        )
    }

    /// What the watchdog reads, in order, with the reporter's queue flushed as it reads (the IPC thread on `POLLOUT`),
    /// until nothing more comes; `other` counts what was not a whole message.
    static func readAll(
        from reporter: WorkerReporter, at watchdog: MessageSocket
    ) -> (messages: [WorkerMessage], other: Int, rounds: Int) {
        var messages: [WorkerMessage] = []
        var other = 0
        var rounds = 0
        while rounds < 100_000 {
            rounds += 1
            reporter.flush()
            var read = false
            reading: while true {
                switch watchdog.receive(WorkerMessage.self) {
                case .message(let message):
                    read = true
                    messages.append(message)
                case .wouldBlock: break reading
                case .malformed, .closed:
                    other += 1
                    break reading
                }
            }
            if !read && !reporter.hasOutgoing { break }
        }
        return (messages, other, rounds)
    }

    @Test("a heartbeat's answer goes ahead of the messages waiting, at a message's end, in the order answered")
    func answersGoAhead() throws {
        let (reporter, watchdog) = try Self.connected()
        // Ten answers of 150 KB, each two and a half datagrams: the socket buffer takes about one and a half.
        let detail = String(repeating: "y", count: 150_000)
        for id in 0..<10 { reporter.send(.ack(id: UInt32(id), ok: true, detail: detail)) }
        #expect(reporter.hasOutgoing)
        reporter.send(.pong(WorkerHeartbeat(sequence: 1, answeredAt: 1, progressAt: 1, maxLoopLag: 0)))
        reporter.send(.ack(id: 99, ok: true, detail: ""))
        reporter.send(.pong(WorkerHeartbeat(sequence: 2, answeredAt: 2, progressAt: 2, maxLoopLag: 0)))
        let (messages, other, _) = Self.readAll(from: reporter, at: watchdog)
        #expect(other == 0)
        let order = messages.map { message in
            switch message {
            case .ack(let id, _, let text): text.isEmpty || text == detail ? "ack \(id)" : "ack \(id) damaged"
            case .pong(let heartbeat): "pong \(heartbeat.sequence)"
            default: "other"
            }
        }
        let first = try #require(order.firstIndex(of: "pong 1"))
        #expect(first <= 2, "behind at most the message the kernel had taken whole and the one taken in part: \(order)")
        #expect(order[first + 1] == "pong 2")
        #expect(order.filter { $0.hasPrefix("ack") } == (0..<10).map { "ack \($0)" } + ["ack 99"])
    }

    @Test("behind a watchdog that does not read, events are dropped past the backlog, other messages queue")
    func backlog() throws {
        let (reporter, watchdog) = try Self.connected()
        let summary = String(repeating: "x", count: 200)
        let sent = 20_000
        for index in 0..<sent { reporter.send(.event(WorkerEvent(summary: "\(index) \(summary)"))) }
        reporter.send(.state(WorkerState(aliveAt: 42)))
        #expect(reporter.hasOutgoing, "4 MB of events cannot fit the socket buffer")
        let (messages, other, rounds) = Self.readAll(from: reporter, at: watchdog)
        let events = messages.count { if case .event = $0 { true } else { false } }
        let last = messages.last
        #expect(other == 0, "every datagram the reporter sent is a whole message")
        #expect(!reporter.hasOutgoing, "everything queued went out once the watchdog read (\(rounds) rounds)")
        #expect(events > 0 && events < sent, "some events dropped, not all: \(events) of \(sent)")
        #expect(last == .state(WorkerState(aliveAt: 42)), "the state report is never dropped, and comes last")
    }
}

@Suite("A worker whose watchdog is gone")
struct WorkerReporterWatchdogGoneTests {
    /// A reporter with more queued than its socket holds (some waits), whose watchdog's end is then closed.
    static func reporterWithAGoneWatchdog() throws -> (WorkerReporter, CapturedLog) {
        let (ours, theirs) = try MessageSocket.pair()
        let log = CapturedLog()
        let reporter = WorkerReporter(socket: MessageSocket(fd: ours), logger: log.logger)
        let big = String(repeating: "x", count: 1 << 20)
        for index in 0..<4 { reporter.send(.event(WorkerEvent(summary: "\(index) \(big)"))) }
        reporter.send(.state(WorkerState(aliveAt: 1)))
        #expect(reporter.hasOutgoing)
        close(theirs)
        return (reporter, log)
    }

    @Test("the last report to a watchdog that died is given up at the first broken pipe, logged once")
    func finishAfterTheWatchdogDied() throws {
        let (reporter, log) = try Self.reporterWithAGoneWatchdog()
        reporter.finish(milliseconds: 1000)
        #expect(log.all.filter { $0.contains("cannot send to the watchdog") }.count == 1)
    }

    @Test("after the first failed send, what the engine and the IPC thread send goes nowhere, logged once")
    func sendsAfterTheWatchdogDied() throws {
        let (reporter, log) = try Self.reporterWithAGoneWatchdog()
        // The IPC thread's flush on POLLOUT, and an engine that goes on reporting (a VRRP worker's adverts' events).
        #expect(!reporter.flush())
        for index in 0..<1000 {
            reporter.send(.state(WorkerState(aliveAt: Int64(index))))
            reporter.event("event \(index)")
        }
        #expect(!reporter.flush())
        #expect(!reporter.hasOutgoing)  // the IPC thread stops polling for POLLOUT
        #expect(log.all.filter { $0.contains("cannot send to the watchdog") }.count == 1)
    }

    @Test("only a watchdog that is gone stops the reports; a failure of another kind is retried")
    func whichFailuresEndTheReports() {
        for code in [EPIPE, ECONNRESET, ENOTCONN, EBADF] {
            #expect(WorkerReporter.peerIsGone(SocketError(code: code, "send")), "\(code)")
        }
        for code in [ENOBUFS, ENOMEM, EMSGSIZE] {
            #expect(!WorkerReporter.peerIsGone(SocketError(code: code, "send")), "\(code)")
        }
    }
}
