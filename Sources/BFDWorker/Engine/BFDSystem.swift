import Config

/// The UDP ports of BFD Control packets: RFC 5881 §4 (single hop) and RFC 5883 §2 (multihop).
public enum BFDPort {
    public static let singleHop: UInt16 = 3784
    public static let multihop: UInt16 = 4784
    /// RFC 5881 §4: the source port of a session, the same for all its packets.
    public static let sourceRange: ClosedRange<UInt16> = 49152...65535
}

/// What one session sends from: its source address (nil: the kernel's choice) and TTL.
public struct BFDSessionEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var neighbor: IPAddress
    public var source: IPAddress?
    public var ttl: Int

    public init(neighbor: IPAddress, source: IPAddress?, ttl: Int) {
        self.neighbor = neighbor
        self.source = source
        self.ttl = ttl
    }

    public var description: String { "\(source.map { "\($0) → " } ?? "")\(neighbor)" }
}

/// A received datagram on a BFD port, with the IP facts the receive checks need.
public struct BFDDatagram: Sendable {
    public var payload: [UInt8]
    public var source: IPAddress
    /// The address it was sent to (IP_PKTINFO), when known.
    public var destination: IPAddress?
    /// The UDP port it arrived on: 3784 or 4784.
    public var port: UInt16
    /// The TTL or hop limit it arrived with, when known.
    public var ttl: Int?

    public init(payload: [UInt8], source: IPAddress, destination: IPAddress?, port: UInt16, ttl: Int?) {
        self.payload = payload
        self.source = source
        self.destination = destination
        self.port = port
        self.ttl = ttl
    }
}

/// Everything the BFD engine asks of the host: sockets, timers, the monotonic clock and random numbers. The
/// daemon's `LinuxBFDSystem` talks to the kernel; tests use a fake in virtual time.
public protocol BFDSystem: AnyObject {
    associatedtype Instant: InstantProtocol where Instant.Duration == Duration

    /// The current instant of the monotonic clock.
    var now: Instant { get }
    /// CLOCK_MONOTONIC in nanoseconds at `instant` (the reports' `since`).
    func monotonicNanoseconds(_ instant: Instant) -> Int64
    /// A random number: discriminators and transmit jitter.
    func random() -> UInt64

    /// Listens on the BFD ports (3784 and 4784) for `family`; false when the single-hop port cannot be bound.
    func listen(family: IPAddress.Family) -> Bool
    /// Opens the socket session `name` sends from (the TTL, a source port in 49152–65535: `preferredPort` when it
    /// is free — a resumed session keeps its port, RFC 5881 §4); the port, or nil when it fails.
    func openSession(_ name: String, endpoint: BFDSessionEndpoint, preferredPort: UInt16?) -> UInt16?
    func closeSession(_ name: String)
    /// Sends one Control packet of session `name` to its neighbour's `port`.
    func send(_ packet: [UInt8], session name: String, to neighbor: IPAddress, port: UInt16) -> Bool

    /// Arms one session's timer (replacing an earlier arming of the same timer).
    func schedule(_ timer: BFDTimer, session: String, at deadline: Instant)
    func cancel(_ timer: BFDTimer, session: String)
}

/// A `RandomNumberGenerator` drawing from a `BFDSystem`.
struct SystemRandom<System: BFDSystem>: RandomNumberGenerator {
    let system: System
    mutating func next() -> UInt64 { system.random() }
}
