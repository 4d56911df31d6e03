import Config
import Foundation
import Logging
import Synchronization
import Testing

@testable import VRRPWorker

#if canImport(Glibc)
    import Glibc
#endif

/// `VRRPReceiver`'s thread against sockets opened and written from other threads at once, as the engine's loop
/// does while the receiver polls: the case its `@unchecked Sendable` comment argues is safe (and which the
/// ThreadSanitizer run of the unit tests checks). Root: raw sockets on the host's loopback, addressed to
/// 127.0.0.1 only.
@Suite(.enabled(if: geteuid() == 0, "raw sockets"), .timeLimit(.minutes(1)))
struct VRRPReceiverTests {
    @Test func socketsOpenedAndWrittenFromManyThreadsWhileTheThreadReceives() throws {
        let receiver = VRRPReceiver(logger: Logger(label: "test"))
        // Atomics, not Mutexes: ThreadSanitizer does not see a Mutex's futex (Tests/tsan-suppressions.txt).
        let received = Atomic(0)
        receiver.onPackets = { packets in received.wrappingAdd(packets.count, ordering: .relaxed) }
        receiver.start()
        defer { receiver.stop() }
        let advertisement = VRRPAdvertisement(
            version: .v3, virtualRouterID: 99, priority: 100, advertisementInterval: .seconds(1),
            authentication: .none, addresses: [IPAddress("127.0.0.1")!])
        let loopback = IPAddress("127.0.0.1")!
        let message = try advertisement.encoded(source: loopback, destination: loopback)
        let sent = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<50 {
                guard let socket = try? receiver.socket(family: .ipv4, interface: "lo") else { continue }
                if case .success = socket.send(message, from: loopback, to: loopback) {
                    sent.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
        #expect(sent.load(ordering: .relaxed) == 200)
        let deadline = ContinuousClock.now + .seconds(10)
        while received.load(ordering: .relaxed) < 200 && ContinuousClock.now < deadline { usleep(10_000) }
        // Other tests may send VRRP on lo too: at least ours arrived.
        #expect(received.load(ordering: .relaxed) >= 200)
    }
}
