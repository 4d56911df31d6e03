/// How long a backup waits for the master's adverts, computed as keepalived does: in whole microseconds,
/// truncating (`VRRP_TIMER_SKEW`, `VRRP_MS_DOWN_TIMER`).
public struct MasterDownTimer: Hashable, Sendable {
    public var version: VRRPVersion
    /// The local (effective) priority.
    public var priority: UInt8
    /// Master_Adver_Interval: in v2 the configured interval, in v3 the one learnt from the master's advert.
    public var masterAdvertisementInterval: Duration
    /// keepalived's `down_timer_adverts`; the RFCs' 3.
    public var advertisements: Int

    public init(version: VRRPVersion, priority: UInt8, masterAdvertisementInterval: Duration, advertisements: Int = 3) {
        self.version = version
        self.priority = priority
        self.masterAdvertisementInterval = masterAdvertisementInterval
        self.advertisements = advertisements
    }

    /// Skew_Time.
    public var skewTime: Duration {
        let weight = Int64(256 - Int(priority))
        switch version {
        case .v2:
            // RFC 3768 §6.1: (256 - Priority) / 256 seconds.
            return .microseconds(weight * 1_000_000 / 256)
        case .v3:
            // RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256, Master_Adver_Interval in
            // centiseconds; 10 000 µs / 256 = 625 / 16.
            let centiseconds = masterAdvertisementInterval.wholeMicroseconds / 10_000
            return .microseconds(weight * centiseconds * 625 / 16)
        }
    }

    /// Master_Down_Interval (RFC 3768 §6.1, RFC 5798 §6.1): `advertisements` × Master_Adver_Interval + Skew_Time.
    public var interval: Duration {
        .microseconds(masterAdvertisementInterval.wholeMicroseconds * Int64(advertisements)) + skewTime
    }
}
