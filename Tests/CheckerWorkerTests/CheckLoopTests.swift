import CVigilShim
import NIOCore
import Synchronization
import Testing

@testable import CheckerWorker

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Check loop", .timeLimit(.minutes(1)))
struct CheckLoopTests {
    @Test("timers run in deadline order; a cancelled one never runs; tasks from other threads run on the loop")
    func timersAndTasks() throws {
        let loop = CheckLoop(name: "test-loop")
        let order = Mutex<[Int]>([])
        let done = loop.makePromise(of: Void.self)
        loop.execute {
            let start = loop.now.uptimeNanoseconds
            loop.at(start + 30_000_000) { order.withLock { $0.append(3) } }
            loop.at(start + 10_000_000) { order.withLock { $0.append(1) } }
            let cancelled = loop.at(start + 20_000_000) { order.withLock { $0.append(99) } }
            loop.at(start + 20_000_000) { order.withLock { $0.append(2) } }
            loop.cancel(cancelled)
            loop.at(start + 40_000_000) { done.succeed() }
        }
        try done.futureResult.wait()
        #expect(order.withLock { $0 } == [1, 2, 3])
        // NIO's API: scheduled tasks, futures hopping onto the loop.
        let value = try loop.scheduleTask(in: .milliseconds(5)) { () -> Bool in loop.inEventLoop }.futureResult.wait()
        #expect(value)
        let cancelled = loop.scheduleTask(in: .milliseconds(50)) { Issue.record("a cancelled task ran") }
        cancelled.cancel()
        #expect(throws: EventLoopError.self) { try cancelled.futureResult.wait() }
        let many = (0..<1000).map { index in loop.submit { index } }
        #expect(try EventLoopFuture.whenAllSucceed(many, on: loop).wait() == Array(0..<1000))
    }

    @Test("descriptors: a handler runs when its descriptor is ready, and no more once unwatched")
    func descriptors() throws {
        let loop = CheckLoop(name: "test-fds")
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let reads = Mutex(0)
        let got = loop.makePromise(of: Void.self)
        let reader = fds[0]
        try loop.submit {
            loop.watch(reader, events: UInt32(EPOLLIN.rawValue)) { fd, _ in
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                reads.withLock { $0 += 1 }
                loop.unwatch(fd, closing: false)
                got.succeed()
            }
        }.wait()
        var byte: UInt8 = 7
        #expect(write(fds[1], &byte, 1) == 1)
        try got.futureResult.wait()
        #expect(write(fds[1], &byte, 1) == 1)
        try loop.scheduleTask(in: .milliseconds(30)) {}.futureResult.wait()
        #expect(reads.withLock { $0 } == 1)
    }

    @Test("virtual time: advance runs what falls due, in order, and no more")
    func virtualTime() {
        let loop = CheckLoop(virtualTimeFrom: .seconds(10))
        var seen: [UInt64] = []
        loop.at(11_000_000_000) { seen.append(loop.now.uptimeNanoseconds) }
        loop.at(12_500_000_000) { seen.append(loop.now.uptimeNanoseconds) }
        loop.advance(by: .seconds(2))
        #expect(seen == [11_000_000_000])
        #expect(loop.now.uptimeNanoseconds == 12_000_000_000)
        loop.advance(by: .seconds(1))
        #expect(seen == [11_000_000_000, 12_500_000_000])
    }
}

/// TCP_CHECK's connector against real sockets on loopback.
@Suite("TCP connector", .timeLimit(.minutes(1)))
struct TCPConnectorTests {
    /// A listening socket on 127.0.0.1 and its port.
    static func listener() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        _ = listen(fd, 128)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func probe(port: Int) -> TCPProbe {
        TCPProbe(target: ProbeTarget(address: .v4(0x7f00_0001), port: port, connectTimeout: .seconds(2)))
    }

    @Test("an accepting port passes; the peer sees a reset, not a FIN (no TIME_WAIT left on this side)")
    func connects() throws {
        let loop = CheckLoop(name: "test-connect")
        let (server, port) = Self.listener()
        defer { close(server) }
        #expect(try Self.probe(port: port).run(on: loop).wait() == .success())
        let accepted = accept(server, nil, nil)
        #expect(accepted >= 0)
        defer { close(accepted) }
        var byte: UInt8 = 0
        let count = read(accepted, &byte, 1)
        #expect(count < 0 && errno == ECONNRESET, "SO_LINGER 0 closes with a reset")
    }

    @Test("a closed port fails at once with the reason; a hundred checks in flight at once all finish")
    func refusedAndMany() throws {
        let loop = CheckLoop(name: "test-refused")
        let (server, port) = Self.listener()
        let closedPort = port
        close(server)
        #expect(
            try Self.probe(port: closedPort).run(on: loop).wait()
                == .failure("TCP_CHECK 127.0.0.1:\(closedPort): connection refused"))
        let (open, openPort) = Self.listener()
        defer { close(open) }
        let outcomes = try EventLoopFuture.whenAllSucceed(
            (0..<100).map { _ in Self.probe(port: openPort).run(on: loop) }, on: loop
        ).wait()
        #expect(outcomes.allSatisfy { $0 == .success() })
    }

    @Test("a shortage of this host's is 'not run', not a failure")
    func shortage() {
        #expect(
            SocketFault(errno: EMFILE, stage: .socket).outcome(label: "TCP_CHECK x", timeout: "1s")
                == .notRun("TCP_CHECK x: socket: Too many open files"))
        #expect(
            SocketFault(errno: EADDRNOTAVAIL, stage: .connect).outcome(label: "TCP_CHECK x", timeout: "1s").isNotRun)
        #expect(
            SocketFault(errno: ECONNREFUSED, stage: .connect).outcome(label: "TCP_CHECK x", timeout: "1s")
                == .failure("TCP_CHECK x: connection refused"))
    }
}

extension ProbeOutcome {
    var isNotRun: Bool {
        if case .notRun = self { return true }
        return false
    }
}
