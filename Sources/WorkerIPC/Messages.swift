import Config

/// What a worker says first: who it is and which protocol it speaks.
public struct WorkerHello: Codable, Sendable, Hashable {
    public var role: WorkerRole
    public var pid: Int32
    public var protocolVersion: Int
    public var vigilVersion: String

    public init(role: WorkerRole, pid: Int32, protocolVersion: Int = workerProtocolVersion, vigilVersion: String) {
        self.role = role
        self.pid = pid
        self.protocolVersion = protocolVersion
        self.vigilVersion = vigilVersion
    }
}

/// The part of the resolved configuration one worker runs, and what the watchdog remembers of it.
public struct WorkerConfiguration: Codable, Sendable, Hashable {
    public var globalDefs: GlobalDefs
    /// Set for the VRRP worker.
    public var vrrp: VRRPConfig?
    /// Set for the checker worker.
    public var lvs: LVSConfig?
    /// Set for the BFD worker, and for the VRRP and checker workers that track its sessions.
    public var bfd: BFDConfig?
    /// For the VRRP and checker workers: the BFD worker's sessions as it last reported them, so a (re)started
    /// tracker starts from what the sessions are (later changes arrive on the BFD channel).
    public var bfdSessions: [BFDSessionReport]?
    /// False with `-V` (VRRP) or `-I` (checker): leave VIPs / IPVS rules in place on stop.
    public var releaseOnStop: Bool
    /// The state the previous incarnation of this worker last reported, so a restart does not flap.
    public var savedState: WorkerState?

    /// This configuration without `savedState`: what a worker or the watchdog keeps for the next change (the saved
    /// state, every real server's last report, is read once, by the worker's first `apply`).
    public var withoutSavedState: WorkerConfiguration {
        var kept = self
        kept.savedState = nil
        return kept
    }

    public init(
        globalDefs: GlobalDefs, vrrp: VRRPConfig? = nil, lvs: LVSConfig? = nil, releaseOnStop: Bool = true,
        savedState: WorkerState? = nil, bfd: BFDConfig? = nil, bfdSessions: [BFDSessionReport]? = nil
    ) {
        self.globalDefs = globalDefs
        self.vrrp = vrrp
        self.lvs = lvs
        self.releaseOnStop = releaseOnStop
        self.savedState = savedState
        self.bfd = bfd
        self.bfdSessions = bfdSessions
    }
}

/// One VRRP instance as the VRRP worker reports it.
public struct VRRPInstanceReport: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        case initializing = "INIT"
        case backup = "BACKUP"
        case master = "MASTER"
        case fault = "FAULT"
        case stopped = "STOP"
    }

    public var name: String
    public var state: State
    /// The virtual addresses this instance has configured on its interfaces right now.
    public var heldAddresses: [String]
    /// The configured priority and the one in effect after tracking weights.
    public var priority: Int?
    public var effectivePriority: Int?
    /// Why the instance is in this state (`preempted by 192.0.2.2`, `interface eth0 down`, …).
    public var reason: String?
    /// CLOCK_MONOTONIC (ns) when the instance entered `state`; the clock is system-wide, so a restarted
    /// worker can tell how old a saved MASTER state is.
    public var since: Int64?
    /// The Master_Adver_Interval in effect, in centiseconds (RFC 5798 §6.1).
    public var masterAdvertIntervalCentiseconds: Int?
    /// Receive-check and send counters (`ttl_errors`, `auth_errors`, `adverts_sent`, …), for `vigilctl
    /// status` and the `SIGUSR2` dump.
    public var counters: [String: UInt64]?

    public init(
        name: String, state: State, heldAddresses: [String] = [], priority: Int? = nil,
        effectivePriority: Int? = nil, reason: String? = nil, since: Int64? = nil,
        masterAdvertIntervalCentiseconds: Int? = nil, counters: [String: UInt64]? = nil
    ) {
        self.name = name
        self.state = state
        self.heldAddresses = heldAddresses
        self.priority = priority
        self.effectivePriority = effectivePriority
        self.reason = reason
        self.since = since
        self.masterAdvertIntervalCentiseconds = masterAdvertIntervalCentiseconds
        self.counters = counters
    }
}

/// Health of a virtual or real server as the checker worker reports it.
public enum ServerHealth: String, Codable, Sendable, Hashable {
    case unknown
    case up
    case down
}

public struct RealServerReport: Codable, Sendable, Hashable {
    /// The real server as the configuration names it (`address` prints it: `ADDRESS PORT`, or `ADDRESS` for a
    /// port-less fwmark real server), held in fixed size (`ServerAddress`).
    public var server: ServerAddress
    public var health: ServerHealth
    /// The weight in effect (after `misc_dynamic` / FILE_CHECK changes), when known.
    public var weight: Int?
    /// The checkers failing now, or the last failure's reason (`TCP_CHECK: connection refused`).
    public var detail: String?

    public init(server: ServerAddress, health: ServerHealth = .unknown, weight: Int? = nil, detail: String? = nil) {
        self.server = server
        self.health = health
        self.weight = weight
        self.detail = detail
    }

    /// `ADDRESS PORT` (or `ADDRESS`), as in the configuration.
    public var address: String { server.configName }

    private enum CodingKeys: String, CodingKey {
        case address, health, weight, detail
    }

    /// Written as before the fixed-size address: `address` as text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(server.configName, forKey: .address)
        try container.encode(health, forKey: .health)
        try container.encodeIfPresent(weight, forKey: .weight)
        try container.encodeIfPresent(detail, forKey: .detail)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            server: try container.decodeServerAddress(forKey: .address, ServerAddress.init(configName:)),
            health: try container.decode(ServerHealth.self, forKey: .health),
            weight: try container.decodeIfPresent(Int.self, forKey: .weight),
            detail: try container.decodeIfPresent(String.self, forKey: .detail))
    }
}

public struct VirtualServerReport: Codable, Sendable, Hashable {
    /// The virtual server as written in the configuration (`192.0.2.10 80`, `fwmark 5`, `group web`).
    public var name: String
    /// Whether the quorum of real servers is met.
    public var health: ServerHealth
    public var realServers: [RealServerReport]

    public init(name: String, health: ServerHealth = .unknown, realServers: [RealServerReport] = []) {
        self.name = name
        self.health = health
        self.realServers = realServers
    }
}

/// Everything a worker owns, as last reported. The watchdog keeps it across worker restarts.
public struct WorkerState: Codable, Sendable, Hashable {
    public var vrrpInstances: [VRRPInstanceReport]
    public var virtualServers: [VirtualServerReport]
    /// Set by the watchdog on a saved state: CLOCK_MONOTONIC (ns) of the last moment the worker that
    /// reported it was known to be alive (its death, or its last message when it was killed for hanging).
    /// A successor compares it with Master_Down_Interval to decide whether it may resume as MASTER.
    public var aliveAt: Int64?
    /// The checker worker's IPVS services (`TCP 192.0.2.100:80`, `FWM 7`): what it owns in the kernel. A
    /// successor started on a newer configuration deletes those the configuration no longer names.
    public var ipvsServices: [String]?
    /// The VRRP worker's `vrrp_script`s some instance tracks, and whether each is up.
    public var vrrpScripts: [VRRPScriptReport]?
    /// The BFD worker's sessions.
    public var bfdSessions: [BFDSessionReport]?

    public init(
        vrrpInstances: [VRRPInstanceReport] = [], virtualServers: [VirtualServerReport] = [], aliveAt: Int64? = nil,
        ipvsServices: [String]? = nil, vrrpScripts: [VRRPScriptReport]? = nil, bfdSessions: [BFDSessionReport]? = nil
    ) {
        self.vrrpInstances = vrrpInstances
        self.virtualServers = virtualServers
        self.aliveAt = aliveAt
        self.ipvsServices = ipvsServices
        self.vrrpScripts = vrrpScripts
        self.bfdSessions = bfdSessions
    }
}

/// The checker worker's report after its first: only the virtual servers whose report changed since the last one
/// sent, by their index in the last full report (`WorkerState.virtualServers`), which the watchdog patches. A real
/// server going down in a farm of 10,000 is one virtual server's report, not the whole farm's: the whole farm encoded
/// and decoded ten times a second under flapping was seconds of CPU on a loaded machine.
public struct WorkerStateChange: Codable, Sendable, Hashable {
    /// How many virtual servers the full report holds: a change that does not fit the watchdog's copy is refused.
    public var virtualServerCount: Int
    /// Where each of `virtualServers` goes in the full report.
    public var indices: [Int]
    public var virtualServers: [VirtualServerReport]
    /// The IPVS services, when they changed since the last report.
    public var ipvsServices: [String]?

    public init(
        virtualServerCount: Int, indices: [Int], virtualServers: [VirtualServerReport], ipvsServices: [String]? = nil
    ) {
        self.virtualServerCount = virtualServerCount
        self.indices = indices
        self.virtualServers = virtualServers
        self.ipvsServices = ipvsServices
    }

    /// `state` with this change applied; nil when it does not fit (another count, an index out of range).
    public func applied(to state: WorkerState) -> WorkerState? {
        guard let servers = state.virtualServers.patched(count: virtualServerCount, at: indices, with: virtualServers)
        else { return nil }
        var state = state
        state.virtualServers = servers
        if let ipvsServices { state.ipvsServices = ipvsServices }
        return state
    }
}

extension Array {
    /// The receiver with the elements at `indices` replaced by `elements` (a report of changes applied to the whole one
    /// held); nil when it does not fit: the receiver is not `count` long, or an index has no element or is out of range.
    func patched(count: Int, at indices: [Int], with elements: [Element]) -> [Element]? {
        guard self.count == count, indices.count == elements.count, indices.allSatisfy(self.indices.contains) else {
            return nil
        }
        var result = self
        for (index, element) in zip(indices, elements) { result[index] = element }
        return result
    }
}

/// How the checker worker keeps up: its checks, how late they start, and its IPVS writes and reads.
public struct CheckerStatistics: Codable, Sendable, Hashable {
    public var checksStarted: UInt64 = 0
    public var checksSucceeded: UInt64 = 0
    public var checksFailed: UInt64 = 0
    /// Checks that could not run for a shortage of this host's (descriptors, buffers, local ports): not failures.
    public var checksNotRun: UInt64 = 0
    /// Checks in flight now, and the most it lets fly at once (from RLIMIT_NOFILE).
    public var inFlight = 0
    public var inFlightLimit = 0
    /// Checks finished per second over the last 30 to 60 s.
    public var checksPerSecond: Double?
    /// How late checks started (due time to start), over the last 30 to 60 s.
    public var latenessP50Milliseconds: Double?
    public var latenessP99Milliseconds: Double?
    /// How long checks took (start to outcome), over the last 30 to 60 s.
    public var durationP50Milliseconds: Double?
    public var durationP99Milliseconds: Double?
    /// Since start, per bucket of the checker's histogram bounds (`latencyBucketBounds`, seconds; the last bucket
    /// is everything above), and the sums: Prometheus histograms.
    public var latenessBuckets: [UInt64] = []
    public var latenessSumSeconds: Double = 0
    public var durationBuckets: [UInt64] = []
    public var durationSumSeconds: Double = 0
    public var latencyBucketBounds: [Double] = []
    public var ipvsAvailable = false
    public var ipvsWrites: UInt64 = 0
    public var ipvsFailures: UInt64 = 0
    /// Whole-table reads (start, reload, recovery): a real server going up or down causes none.
    public var ipvsFullReads: UInt64 = 0
    /// Netlink dumps of the drift checks, and the writes that put drifted rules back.
    public var ipvsVerifyDumps: UInt64 = 0
    public var ipvsRepairs: UInt64 = 0
    /// The traffic counters' reads (every 5 s): real servers' dumps made, and services whose last reading stood
    /// (their counters had not moved).
    public var ipvsCounterDumps: UInt64 = 0
    public var ipvsCountersKept: UInt64 = 0

    public init() {}
}

/// Something that happened in a worker that the watchdog logs (a state change, a checker result).
public struct WorkerEvent: Codable, Sendable, Hashable {
    public var summary: String

    public init(summary: String) {
        self.summary = summary
    }
}

/// What the watchdog asks of a worker.
public enum WorkerCommand: Codable, Sendable, Hashable {
    /// Describe the worker's state as text (`SIGUSR1`).
    case dump
    /// The worker's counters as `name value` lines (`SIGUSR2`).
    case statistics
    /// Stop; release VIPs and IPVS rules unless `release` is false (`-V`, `-I`).
    case stop(release: Bool)
    /// A `configure` with the new configuration follows.
    case reload
    /// Debug builds only (supervision tests): keep the engine's loop busy for `milliseconds`, in one task
    /// (`slices` 1) or in `slices` tasks in a row.
    case stall(milliseconds: Int, slices: Int)
}

/// The messages on a watchdog ⇄ worker socket.
public enum WorkerMessage: Codable, Sendable, Hashable {
    case hello(WorkerHello)
    case configure(WorkerConfiguration)
    /// A reload for a worker that holds the previous configuration: the change, not the whole (see
    /// `WorkerConfigurationChange`).
    case reconfigure(WorkerConfigurationChange)
    case ping(sequence: UInt64)
    /// Answered from the worker's IPC thread, not its engine's loop: see `WorkerHeartbeat`.
    case pong(WorkerHeartbeat)
    case state(WorkerState)
    /// The checker worker's report after a first, whole one: what changed (`WorkerStateChange`).
    case stateChange(WorkerStateChange)
    /// From the watchdog to the checker worker: the VRRP worker's last state report, for `ha_suspend`
    /// (checks paused while this director is not MASTER) and sorry-server decisions.
    case peerState(WorkerState)
    case event(WorkerEvent)
    /// The checker worker's counters and latencies, every second (not kept across restarts).
    case checkerStatistics(CheckerStatistics)
    /// The kernel's IPVS counters of the checker worker's services, every few seconds (not kept across restarts).
    case ipvsStatistics(IPVSStatisticsReport)
    case command(id: UInt32, WorkerCommand)
    /// Answers `command` with the same id; `detail` carries a dump's text or an error.
    case ack(id: UInt32, ok: Bool, detail: String)
}

extension WorkerMessage {
    /// Pings and their answers: queued ahead of the messages waiting for the peer
    /// (`MessageSocket.enqueue(encoded:ahead:)`), so a backlog never delays a heartbeat.
    public var goesAhead: Bool {
        switch self {
        case .ping, .pong: true
        default: false
        }
    }
}

/// A worker's answer to a heartbeat. The worker's IPC thread answers at once, so a worker whose engine is busy
/// still answers; what the engine's loop is doing travels in the answer. The watchdog tells a hung worker from a
/// busy one by it:
/// - no answer for two heartbeats: the process is stopped (SIGSTOP) or its IPC thread is stuck;
/// - answers, but `answeredAt - progressAt` above two heartbeats: the engine's loop is stuck in one task (a
///   deadlock, an endless loop) — a loop that is merely busy keeps running beacons or marking progress.
/// Before either verdict the watchdog reads the thread's scheduling from the kernel: a thread that was waiting for
/// a CPU is starved, not hung (`ThreadActivity`).
public struct WorkerHeartbeat: Codable, Sendable, Hashable {
    /// The ping's sequence.
    public var sequence: UInt64
    /// CLOCK_MONOTONIC (ns) when the worker answered.
    public var answeredAt: Int64
    /// CLOCK_MONOTONIC (ns) of the engine's last progress: a beacon that ran on its loop, or a mark from work
    /// that runs long on purpose (decoding and applying a large configuration).
    public var progressAt: Int64
    /// The longest a beacon waited for the engine's loop since the previous answer, in nanoseconds (loop lag).
    public var maxLoopLag: Int64
    /// The kernel's thread id of the engine's loop (0 before its first beacon): the watchdog reads its scheduling
    /// (`/proc/PID/task/TID`) before it judges the loop stuck.
    public var loopThread: Int32

    public init(sequence: UInt64, answeredAt: Int64, progressAt: Int64, maxLoopLag: Int64, loopThread: Int32 = 0) {
        self.sequence = sequence
        self.answeredAt = answeredAt
        self.progressAt = progressAt
        self.maxLoopLag = maxLoopLag
        self.loopThread = loopThread
    }

    /// How long the engine had made no progress when the worker answered, in nanoseconds.
    public var progressAge: Int64 { max(0, answeredAt - progressAt) }
}

/// Why a message could not be decoded; the message is logged and dropped.
public struct MessageError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case frame
        case truncated
        case malformed
        case wrongVersion
        case badMessage
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Versioned binary payloads: the protocol version (2 bytes, big endian), then the body in `BinaryCodec`. The
/// version is checked before the body is decoded, so a peer speaking another version is reported as such, not as a
/// garbled message.
public enum MessageCodec {
    public static let headerSize = 2

    public static func encode<Body: Encodable>(_ body: Body, version: Int = workerProtocolVersion) -> [UInt8] {
        let header = [UInt8(truncatingIfNeeded: version >> 8), UInt8(truncatingIfNeeded: version)]
        // Our own message types encode without throwing (no custom encoders); an empty body would fail to decode.
        return (try? BinaryCodec.encode(body, after: header)) ?? header
    }

    /// The case name of an encoded enum message (`"ping"`, `"configure"`, …) without decoding it: the worker's IPC
    /// thread answers pings itself and hands everything else to its engine. Nil when the bytes do not start a
    /// keyed container with a new key (then decoding them fails anyway).
    public static func caseName(of bytes: [UInt8]) -> String? {
        // version (2) | tag keyed | count (4) | key: varint 0, varint length, UTF-8
        let start = headerSize + 5
        guard bytes.count > start + 2, bytes[headerSize] == BinaryCodec.Tag.keyed.rawValue, bytes[start] == 0 else {
            return nil
        }
        let length = Int(bytes[start + 1])
        guard length < 0x80, bytes.count >= start + 2 + length else { return nil }
        return String(validating: bytes[(start + 2)..<(start + 2 + length)], as: UTF8.self)
    }

    /// The protocol version `bytes` carry, nil when they are too short to carry one.
    public static func version(of bytes: [UInt8]) -> Int? {
        bytes.count >= headerSize ? Int(bytes[0]) << 8 | Int(bytes[1]) : nil
    }

    /// - Parameter progress: called now and then while a large body decodes (a worker's liveness mark).
    public static func decode<Body: Decodable>(
        _ type: Body.Type, from bytes: [UInt8], version: Int = workerProtocolVersion,
        progress: (@Sendable () -> Void)? = nil
    ) throws(MessageError) -> Body {
        guard let found = Self.version(of: bytes) else {
            throw MessageError(.malformed, "message of \(bytes.count) bytes has no protocol version")
        }
        guard found == version else {
            throw MessageError(
                .wrongVersion, "message has protocol version \(found); this vigild speaks \(version)")
        }
        do {
            return try BinaryCodec.decode(Body.self, from: bytes, offset: headerSize, progress: progress)
        } catch {
            throw MessageError(.badMessage, "message of \(bytes.count) bytes does not decode: \(error)")
        }
    }
}
