import Foundation
import Testing
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// Random bytes, a truncated frame and a frame announcing a huge message, each as a datagram.
func malformedDatagrams() -> [[UInt8]] {
    var generator = SystemRandomNumberGenerator()
    let random = (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let frame = WorkerFrame.datagrams(for: MessageCodec.encode(WorkerMessage.ping(sequence: 1)), id: 77)[0]
    let truncated = Array(frame.prefix(WorkerFrame.headerSize + 3))
    let huge = WorkerFrame.magic + [0, 0, 0, 78, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff] + Array("{\"version\":1".utf8)
    let oversized = [UInt8](repeating: 0x56, count: WorkerFrame.headerSize + WorkerFrame.maxChunk + 1)
    return [random, truncated, huge, oversized]
}

@Suite("Malformed messages against real processes", .serialized, .timeLimit(.minutes(1)))
struct MalformedMessageTests {
    /// The test plays the watchdog for a real worker process: junk is logged and dropped, and the
    /// worker still answers a ping.
    @Test func aWorkerDropsMalformedMessagesAndKeepsAnswering() throws {
        let (ours, theirs) = try MessageSocket.pair()
        let socket = MessageSocket(fd: ours)
        let log = "/tmp/vigil-worker-\(UUID().uuidString).log"
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, theirs, 3)
        let arguments = ["vigild", "--worker", "checker", "--ipc-fd", "3", "--parent-pid", "\(getpid())", "-l"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let path = builtProducts.appendingPathComponent("vigild").path
        #expect(posix_spawn(&pid, path, &actions, nil, argv, environ) == 0)
        close(theirs)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        guard case .message(.hello(let hello)) = socket.receive(WorkerMessage.self, timeoutMilliseconds: 5000) else {
            Issue.record("no hello from the worker")
            return
        }
        #expect(hello.role == .checker && hello.pid == pid)
        for datagram in malformedDatagrams() { try socket.sendDatagram(datagram) }
        try socket.send(WorkerMessage.ping(sequence: 42))
        guard case .message(let answer) = socket.receive(WorkerMessage.self, timeoutMilliseconds: 5000) else {
            Issue.record("the worker did not answer after the junk")
            return
        }
        guard case .pong(let heartbeat) = answer else {
            Issue.record("expected a pong, got \(answer)")
            return
        }
        #expect(heartbeat.sequence == 42)
        #expect(kill(pid, 0) == 0)
        // The log is written by a thread of its own: the lines follow shortly.
        var text = ""
        for _ in 0..<100 {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.components(separatedBy: "dropped a malformed message from the watchdog").count - 1 >= 4 { break }
            usleep(50_000)
        }
        #expect(text.components(separatedBy: "dropped a malformed message from the watchdog").count - 1 == 4, "\(text)")
    }

    /// The same junk on the control socket of a running vigild: dropped and logged; vigild keeps running.
    @Test(.enabled(if: isRoot)) func vigildDropsMalformedControlMessages() throws {
        let daemon = try DaemonUnderTest()
        defer { daemon.tearDown() }
        try daemon.start()
        for datagram in malformedDatagrams() {
            let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let connection = MessageSocket(fd: fd, version: controlProtocolVersion)
            #expect(withUnixSocketAddress(daemon.socket, { connect(fd, $0, $1) }) == 0)
            try connection.sendDatagram(datagram)
            if case .message(.refused(let why)) = connection.receive(
                ControlResponse.self, timeoutMilliseconds: 2000)
            {
                #expect(why.hasPrefix("malformed request"))
            } else {
                Issue.record("vigild did not refuse the malformed request")
            }
        }
        #expect(daemon.process.isRunning)
        #expect(daemon.status()?.workers.count == 2)
        // The log is written by a thread of its own: the lines follow shortly.
        let dropped = { daemon.log.components(separatedBy: "dropped a malformed control request").count - 1 }
        try? waitFor("four logged drops", seconds: 10) { dropped() >= 4 }
        #expect(dropped() == 4, "\(daemon.log)")
    }
}
