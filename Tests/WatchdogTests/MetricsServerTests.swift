import Config
import Foundation
import Logging
import Monitoring
import Testing
import WorkerIPC

@testable import Watchdog

#if canImport(Glibc)
    import Glibc
#endif

/// A metrics listener on a free loopback port, serving a small snapshot. Its ports (30000–32767) are apart from
/// the checker tests' servers (20000–29999, `TestPorts`), which stop and listen again on the same port, and below
/// the ephemeral range, where a client's own source port could take them.
func startMetricsServer(_ limits: MetricsLimits = MetricsLimits()) throws -> MetricsServer {
    for _ in 0..<20 {
        let address = ListenAddress(address: IPAddress("127.0.0.1")!, port: Int.random(in: 30000..<32768))
        guard let server = try? MetricsServer(address: address, limits: limits, logger: Logger(label: "test")) else {
            continue
        }
        server.publish(
            MonitoringSnapshot(
                status: DaemonStatus(
                    pid: 1, version: "test", configFile: "/dev/null", uptimeSeconds: 1, stopping: false, workers: []),
                config: KeepalivedConfig(), takenAtUnixSeconds: 0, takenAtMonotonicNanoseconds: 0))
        return server
    }
    throw WaitTimeout(description: "no free port")
}

/// A blocking loopback TCP client with a receive timeout.
final class TestClient {
    let fd: Int32

    init(_ address: ListenAddress) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(address.port).bigEndian
        socketAddress.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw WaitTimeout(description: "connect: errno \(errno)")
        }
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `count` responses have arrived whole (by Content-Length), the peer closes, or 3 s pass.
    func responses(_ count: Int = 1) -> [String] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let parsed = Self.split(data)
            if parsed.count >= count { return parsed }
            let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard read > 0 else { return parsed }
            data += buffer[..<read]
        }
    }

    /// Everything until the server closes the connection (or 3 s pass).
    func all() -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard read > 0 else { return String(decoding: data, as: UTF8.self) }
            data += buffer[..<read]
        }
    }

    /// Whether the server still holds the connection open: nothing to read yet, and no end of it.
    var isOpen: Bool {
        var byte: UInt8 = 0
        let read = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return read < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// Waits up to `seconds` for each read from now on.
    func waitForReads(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// True once the server has closed the connection (read returns 0), within `seconds`.
    func closedByServer(within seconds: Int) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if read == 0 { return true }
            if read < 0 { return false }
        }
    }

    static func split(_ data: [UInt8]) -> [String] {
        var responses: [String] = []
        var rest = data[...]
        while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self)
            let length =
                head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            guard rest.count >= end.upperBound - rest.startIndex + length else { break }
            responses.append(String(decoding: rest[rest.startIndex..<(end.upperBound + length)], as: UTF8.self))
            rest = rest[(end.upperBound + length)...]
        }
        return responses
    }

    deinit { close(fd) }
}

@Suite("The metrics listener", .serialized, .timeLimit(.minutes(1)))
struct MetricsServerTests {
    @Test("Pages over keep-alive, pipelined; HEAD without a body; 404 and 405")
    func serves() throws {
        let server = try startMetricsServer()
        defer { server.stop() }
        let client = try TestClient(server.address)
        client.send(
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                + "PUT / HTTP/1.1\r\nHost: x\r\n\r\n")
        let responses = client.responses(3)
        try #require(responses.count == 3, "\(responses)")
        #expect(responses[0].hasPrefix("HTTP/1.1 200 OK") && responses[0].contains("\nkeepalived_up "))
        #expect(responses[0].contains("Content-Type: text/plain; version=0.0.4"))
        #expect(responses[1].hasPrefix("HTTP/1.1 404"))
        #expect(responses[2].hasPrefix("HTTP/1.1 405") && responses[2].contains("Allow: GET, HEAD"))
        let head = try TestClient(server.address)
        head.send("HEAD /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let text = head.all()
        #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.contains("Content-Type: application/json"))
        #expect(text.hasSuffix("Connection: close\r\n\r\n"), "\(text)")
    }

    @Test("At the connection limit one more is answered 503 and closed; a freed slot serves again")
    func connectionLimit() throws {
        var limits = MetricsLimits()
        limits.maxConnections = 4
        let server = try startMetricsServer(limits)
        defer { server.stop() }
        var idle = try (0..<4).map { _ in try TestClient(server.address) }
        usleep(100_000)
        let refused = try TestClient(server.address)
        #expect(refused.responses().first?.hasPrefix("HTTP/1.1 503") == true)
        idle.removeLast()
        usleep(100_000)
        let served = try TestClient(server.address)
        served.send("GET /metrics HTTP/1.0\r\n\r\n")
        #expect(served.responses().first?.hasPrefix("HTTP/1.1 200") == true)
    }

    @Test("A client that sends half a request, or never reads, delays no one and is closed at the timeout")
    func slowClients() throws {
        // No figure of time is asserted: each client's turn is judged against the others'. The timeout only has to
        // be long beside a request served on a loaded machine (1.2 s was seen while CI built in parallel).
        var limits = MetricsLimits()
        limits.timeout = .seconds(3)
        let server = try startMetricsServer(limits)
        defer { server.stop() }
        let slow = try TestClient(server.address)
        slow.send("GET /metrics HTTP/1.1\r\nHo")
        // Asks for pages again and again without reading them: its socket buffers fill up.
        let deaf = try TestClient(server.address)
        var small = Int32(4096)
        setsockopt(deaf.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        // As many requests as the socket takes at once (the listener stops reading while a response is unsent),
        // for far more than the kernel's buffers hold.
        var asked = 0
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        while asked < 20000,
            request.withUnsafeBytes({
                Glibc.send(deaf.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            })
                == request.count
        {
            asked += 1
        }
        let fast = try TestClient(server.address)
        fast.waitForReads(seconds: 10)
        fast.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(fast.responses().first?.hasPrefix("HTTP/1.1 200") == true)
        // Served while the half request still held its connection: the listener did not wait for its end.
        #expect(slow.isOpen, "the half request was closed before another client was served")
        #expect(slow.closedByServer(within: 10))
        // Closed once stuck past the timeout: what is still in the socket buffers is all it ever gets (the end of the
        // connection comes before all it asked for).
        deaf.waitForReads(seconds: 15)
        let answered = deaf.all().components(separatedBy: "HTTP/1.1 200 OK").count - 1
        #expect(answered < asked, "\(answered) of \(asked) answered")
        #expect(deaf.closedByServer(within: 1), "the connection ended, not the wait for it")
    }

    @Test("An oversized head is refused with 431 and the connection closed")
    func oversized() throws {
        let server = try startMetricsServer()
        defer { server.stop() }
        let client = try TestClient(server.address)
        client.send("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 10000) + "\r\n\r\n")
        #expect(client.responses().first?.hasPrefix("HTTP/1.1 431") == true)
        #expect(client.closedByServer(within: 2))
    }

    @Test("Stopped: the port is closed")
    func stop() throws {
        let server = try startMetricsServer()
        server.stop()
        #expect(throws: (any Error).self) { try TestClient(server.address) }
    }
}
