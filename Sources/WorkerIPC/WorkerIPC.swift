/// The version of the watchdog ⇄ worker message protocol. A worker whose hello carries another
/// version is refused, so a half-upgraded daemon fails loudly instead of misreading messages.
public let workerProtocolVersion = 4

/// The roles a re-executed `vigild` can take.
public enum WorkerRole: String, Codable, Sendable, CaseIterable {
    case vrrp
    case checker
    /// BFD sessions (`bfd_instance`), whose states the VRRP and checker workers track.
    case bfd
}
