/// The protocol side of a datagram check (DNS, UDP, PING), pure; `RawDatagramExchange` runs it on the check loop.
protocol DatagramDialogue: Sendable {
    /// The one datagram sent.
    var request: [UInt8] { get }
    /// A datagram arrived from the target: decide, or `nil` to ignore it (a stale or foreign reply).
    mutating func received(_ bytes: [UInt8]) -> ProbeOutcome?
    /// Nothing decided within the timeout.
    func timedOut(after timeout: Duration) -> ProbeOutcome
}
