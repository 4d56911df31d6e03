/// The version of the watchdog ⇄ worker message protocol. A worker whose hello carries another
/// version is refused, so a half-upgraded daemon fails loudly instead of misreading messages.
/// 5: durations, source locations and addresses written as values (`BinaryCodec`'s tags 0x0A–0x0D).
/// 6: an IPVS statistics report may say only that nothing changed (`IPVSStatisticsReport.unchanged`).
public let workerProtocolVersion = 8

/// The roles a re-executed `vigild` can take.
public enum WorkerRole: String, Codable, Sendable, CaseIterable {
    case vrrp
    case checker
    /// BFD sessions (`bfd_instance`), whose states the VRRP and checker workers track.
    case bfd
}
