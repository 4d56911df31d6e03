#if canImport(Glibc)
    import Glibc
#endif

/// One BFD session as the BFD worker reports it: to the watchdog (`vigilctl status`, and what a restarted BFD
/// worker resumes from) and on the BFD channels to the VRRP and checker workers (what `track_bfd` and
/// `BFD_CHECK` follow).
public struct BFDSessionReport: Codable, Sendable, Hashable {
    /// bfd.SessionState, spelled as keepalived and FRR print it.
    public enum State: String, Codable, Sendable, Hashable {
        case adminDown = "AdminDown"
        case down = "Down"
        case initializing = "Init"
        case up = "Up"
    }

    /// The `bfd_instance` name.
    public var name: String
    public var neighbor: String
    public var source: String?
    /// The UDP port the session sends from: a restarted worker keeps it (RFC 5881 §4).
    public var sourcePort: Int?
    /// RFC 5883 (UDP 4784) rather than RFC 5881 (3784).
    public var multihop: Bool
    public var state: State
    public var remoteState: State
    /// What trackers follow (keepalived's BFD event): true from the session's coming Up until it goes down for a
    /// reason other than the neighbour's AdminDown, which RFC 5880 §6.8.16 says is no path failure.
    public var up: Bool
    /// CLOCK_MONOTONIC (ns) when the session entered `state`. It orders reports of one session: a tracker keeps
    /// the newest it has seen, whichever way it came.
    public var since: Int64
    /// The Diag codes (RFC 5880 §4.1) this side and the neighbour last sent.
    public var localDiagnostic: Int
    public var remoteDiagnostic: Int
    public var localDiscriminator: UInt32
    public var remoteDiscriminator: UInt32
    /// What the neighbour last sent, in microseconds: a restarted worker resumes the session with them.
    public var remoteMinRxMicroseconds: UInt32
    public var remoteDesiredMinTxMicroseconds: UInt32
    public var remoteMultiplier: Int
    /// The intervals in force, in microseconds (nil before the neighbour was heard).
    public var transmitIntervalMicroseconds: Int64?
    public var detectionTimeMicroseconds: Int64?
    /// Packets sent and received, drops by receive check (`dropped_ttl`, …), state changes.
    public var counters: [String: UInt64]?

    public init(
        name: String, neighbor: String, source: String? = nil, sourcePort: Int? = nil, multihop: Bool = false,
        state: State,
        remoteState: State = .down, up: Bool, since: Int64, localDiagnostic: Int = 0, remoteDiagnostic: Int = 0,
        localDiscriminator: UInt32 = 0, remoteDiscriminator: UInt32 = 0, remoteMinRxMicroseconds: UInt32 = 1,
        remoteDesiredMinTxMicroseconds: UInt32 = 0, remoteMultiplier: Int = 0,
        transmitIntervalMicroseconds: Int64? = nil, detectionTimeMicroseconds: Int64? = nil,
        counters: [String: UInt64]? = nil
    ) {
        self.name = name
        self.neighbor = neighbor
        self.source = source
        self.sourcePort = sourcePort
        self.multihop = multihop
        self.state = state
        self.remoteState = remoteState
        self.up = up
        self.since = since
        self.localDiagnostic = localDiagnostic
        self.remoteDiagnostic = remoteDiagnostic
        self.localDiscriminator = localDiscriminator
        self.remoteDiscriminator = remoteDiscriminator
        self.remoteMinRxMicroseconds = remoteMinRxMicroseconds
        self.remoteDesiredMinTxMicroseconds = remoteDesiredMinTxMicroseconds
        self.remoteMultiplier = remoteMultiplier
        self.transmitIntervalMicroseconds = transmitIntervalMicroseconds
        self.detectionTimeMicroseconds = detectionTimeMicroseconds
        self.counters = counters
    }
}

/// What travels on a BFD channel, from the BFD worker to the VRRP or checker worker: the sessions whose state
/// changed (or all of them, after a start or a reload).
public struct BFDChannelMessage: Codable, Sendable, Hashable {
    /// CLOCK_MONOTONIC (ns) when the BFD worker sent it: the receiver measures the delivery.
    public var sentAt: Int64
    public var sessions: [BFDSessionReport]

    public init(sentAt: Int64, sessions: [BFDSessionReport]) {
        self.sentAt = sentAt
        self.sessions = sessions
    }
}

/// What a tracker (the VRRP or checker worker) knows of the BFD sessions: the newest report of each, from the
/// configuration's snapshot and the BFD channel, whichever is newer (`since`), and how fast the channel delivers.
public struct BFDSessionTable: Sendable, Hashable {
    public private(set) var sessions: [String: BFDSessionReport] = [:]
    /// Channel messages received, and the delivery of the last and the slowest (ns, sent to received).
    public private(set) var messages: UInt64 = 0
    public private(set) var lastDelivery: Int64?
    public private(set) var slowestDelivery: Int64 = 0

    public init() {}

    /// Whether trackers should hold the session up; nil when no report of it was seen.
    public func isUp(_ name: String) -> Bool? { sessions[name]?.up }

    /// Takes the reports that are newer than those known.
    /// - Returns: the reports whose `up` changed (or that were unknown), for the trackers.
    public mutating func merge(_ reports: [BFDSessionReport]) -> [BFDSessionReport] {
        var changed: [BFDSessionReport] = []
        for report in reports {
            if let known = sessions[report.name], known.since > report.since { continue }
            let previous = sessions[report.name]
            sessions[report.name] = report
            if previous?.up != report.up { changed.append(report) }
        }
        return changed
    }

    /// Takes a channel message received at `receivedAt` (CLOCK_MONOTONIC ns).
    public mutating func receive(_ message: BFDChannelMessage, at receivedAt: Int64) -> [BFDSessionReport] {
        messages += 1
        let delivery = max(0, receivedAt - message.sentAt)
        lastDelivery = delivery
        slowestDelivery = max(slowestDelivery, delivery)
        return merge(message.sessions)
    }

    /// The `SIGUSR2` lines of a tracker: channel messages and their delivery.
    public var statisticsLines: [String] {
        guard messages > 0 else { return [] }
        return [
            "bfd_channel_messages \(messages)",
            "bfd_channel_delivery_last_us \((lastDelivery ?? 0) / 1000)",
            "bfd_channel_delivery_max_us \(slowestDelivery / 1000)",
        ]
    }
}
