import Config
import Testing

@testable import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Worker messages")
struct MessageTests {
    static let samples: [WorkerMessage] = [
        .hello(WorkerHello(role: .vrrp, pid: 42, vigilVersion: "0.1.0")),
        .configure(WorkerConfiguration(globalDefs: GlobalDefs(), vrrp: VRRPConfig(), releaseOnStop: false)),
        .configure(
            WorkerConfiguration(
                globalDefs: GlobalDefs(), lvs: LVSConfig(),
                savedState: WorkerState(vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master)]))),
        .ping(sequence: 7),
        .pong(WorkerHeartbeat(sequence: 7, answeredAt: 1_000, progressAt: 900, maxLoopLag: 12)),
        .state(
            WorkerState(
                vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, heldAddresses: ["192.0.2.10/24"])],
                virtualServers: [
                    VirtualServerReport(
                        name: "192.0.2.10 80", health: .up,
                        realServers: [
                            RealServerReport(server: ServerAddress(configName: "198.51.100.1 80")!, health: .down)
                        ])
                ])),
        .event(WorkerEvent(summary: "VI_1 entered MASTER")),
        .command(id: 3, .dump),
        .command(id: 4, .stop(release: true)),
        .command(id: 5, .reload),
        .ack(id: 4, ok: true, detail: "stopping"),
    ]

    @Test(arguments: samples)
    func everyMessageRoundTrips(_ message: WorkerMessage) throws {
        let bytes = MessageCodec.encode(message)
        #expect(try MessageCodec.decode(WorkerMessage.self, from: bytes) == message)
    }

    @Test func anotherProtocolVersionIsNamed() {
        let bytes = MessageCodec.encode(WorkerMessage.ping(sequence: 1), version: 99)
        #expect(
            throws: MessageError(
                .wrongVersion, "message has protocol version 99; this vigild speaks \(workerProtocolVersion)")
        ) {
            try MessageCodec.decode(WorkerMessage.self, from: bytes)
        }
    }

    @Test func junkIsRejectedNotFatal() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 5, 100, 4096] {
            let junk = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: MessageError.self) { try MessageCodec.decode(WorkerMessage.self, from: junk) }
        }
        struct Explode: Codable { var explode: [String: Int] }
        let unknownCase = MessageCodec.encode(Explode(explode: [:]))
        #expect(throws: MessageError.self) { try MessageCodec.decode(WorkerMessage.self, from: unknownCase) }
        let truncated = Array(MessageCodec.encode(MessageTests.samples[5]).dropLast(10))
        #expect(throws: MessageError.self) { try MessageCodec.decode(WorkerMessage.self, from: truncated) }
    }

    @Test func controlMessagesRoundTrip() throws {
        let status = DaemonStatus(
            pid: 1, version: "0.1.0", configFile: "/etc/keepalived/keepalived.conf", uptimeSeconds: 12,
            stopping: false,
            workers: [
                WorkerStatus(
                    role: .vrrp, pid: 2, uptimeSeconds: 3, restartCount: 1, lastHeartbeatSecondsAgo: 0.5,
                    lastRestartMilliseconds: 20, state: WorkerState())
            ])
        for response in [ControlResponse.status(status), .done("ok"), .refused("no")] {
            let bytes = MessageCodec.encode(response, version: controlProtocolVersion)
            #expect(
                try MessageCodec.decode(ControlResponse.self, from: bytes, version: controlProtocolVersion) == response)
        }
        #expect(status.rendered.contains("vrrp worker: pid 2, up 3.00s, 1 restarts, last heartbeat 0.50s ago"))
    }
}

@Suite("Message sockets", .serialized, .timeLimit(.minutes(1)))
struct MessageSocketTests {
    @Test func messagesCrossASocketPair() throws {
        let (left, right) = try MessageSocket.pair()
        let a = MessageSocket(fd: left)
        let b = MessageSocket(fd: right)
        for message in MessageTests.samples { try a.send(message) }
        for message in MessageTests.samples {
            guard case .message(let received) = b.receive(WorkerMessage.self, timeoutMilliseconds: 1000) else {
                Issue.record("no message")
                return
            }
            #expect(received == message)
        }
        if case .wouldBlock = b.receive(WorkerMessage.self) {} else { Issue.record("expected nothing more") }
    }

    @Test func largeMessagesTravelInChunks() throws {
        let (left, right) = try MessageSocket.pair()
        let a = MessageSocket(fd: left)
        let b = MessageSocket(fd: right)
        // About 130 KB: three chunks, within the default socket buffer, so one thread can send then read.
        let names = (0..<2000).map { VRRPInstanceReport(name: "instance_\($0)_with_a_long_name", state: .backup) }
        let message = WorkerMessage.state(WorkerState(vrrpInstances: names))
        try a.send(message, timeoutMilliseconds: 5000)
        guard case .message(let got) = b.receive(WorkerMessage.self, timeoutMilliseconds: 5000) else {
            Issue.record("no message")
            return
        }
        #expect(got == message)
    }

    /// Random bytes, a truncated frame, a header announcing a huge message and an oversized datagram
    /// are each reported and dropped; a good message after them still arrives.
    @Test func malformedDatagramsAreDroppedAndTheSocketStillWorks() throws {
        let (left, right) = try MessageSocket.pair()
        let a = MessageSocket(fd: left)
        let b = MessageSocket(fd: right)
        var generator = SystemRandomNumberGenerator()
        let random = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let good = WorkerFrame.datagrams(for: MessageCodec.encode(WorkerMessage.ping(sequence: 1)), id: 1)[0]
        let truncated = Array(good.prefix(WorkerFrame.headerSize + 5))
        let huge = WorkerFrame.magic + [0, 0, 0, 9, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff] + [1, 2, 3]
        let oversized = [UInt8](repeating: 0x41, count: WorkerFrame.headerSize + WorkerFrame.maxChunk + 100)
        for datagram in [random, truncated, huge, oversized, [1, 2, 3]] { try a.sendDatagram(datagram) }
        try a.send(WorkerMessage.pong(WorkerHeartbeat(sequence: 5, answeredAt: 1, progressAt: 1, maxLoopLag: 0)))
        var malformed: [String] = []
        while true {
            switch b.receive(WorkerMessage.self, timeoutMilliseconds: 1000) {
            case .malformed(let why): malformed.append(why)
            case .message(let message):
                #expect(message == .pong(WorkerHeartbeat(sequence: 5, answeredAt: 1, progressAt: 1, maxLoopLag: 0)))
                #expect(malformed.count == 5, "\(malformed)")
                #expect(b.malformedCount == 5)
                return
            case .wouldBlock, .closed:
                Issue.record("the good message did not arrive; dropped: \(malformed)")
                return
            }
        }
    }

    @Test func closedPeerIsReported() throws {
        let (left, right) = try MessageSocket.pair()
        let a = MessageSocket(fd: left)
        let b = MessageSocket(fd: right)
        a.close()
        guard case .closed = b.receive(WorkerMessage.self, timeoutMilliseconds: 1000) else {
            Issue.record("expected closed")
            return
        }
    }

    /// A missing socket is said as such (not as a timeout after waiting for an answer).
    @Test func controlClientFailsFastOnAMissingSocket() {
        #expect {
            try ControlClient.send(.status, to: "/tmp/vigil-no-such-\(getpid()).sock")
        } throws: { error in
            "\(error)".contains("no such socket; is vigild running?")
        }
    }
}
