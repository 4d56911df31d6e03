/// What one session is configured with, in microseconds as the packets carry them.
public struct BFDSessionSettings: Hashable, Sendable {
    /// `min_tx`: bfd.DesiredMinTxInterval while Up.
    public var desiredMinTx: UInt32
    /// `min_rx`: bfd.RequiredMinRxInterval.
    public var requiredMinRx: UInt32
    /// `idle_tx`: bfd.DesiredMinTxInterval while not Up; RFC 5880 §6.8.3 wants at least a second.
    public var idleTx: UInt32
    /// `multiplier`: bfd.DetectMult.
    public var detectMultiplier: UInt8
    /// `passive`: send nothing before the neighbour has spoken (§6.1).
    public var passive: Bool

    public init(
        desiredMinTx: UInt32 = 10_000, requiredMinRx: UInt32 = 10_000, idleTx: UInt32 = 1_000_000,
        detectMultiplier: UInt8 = 5, passive: Bool = false
    ) {
        self.desiredMinTx = desiredMinTx
        self.requiredMinRx = requiredMinRx
        self.idleTx = max(idleTx, 1_000_000)
        self.detectMultiplier = max(detectMultiplier, 1)
        self.passive = passive
    }
}

/// The timers of a session.
public enum BFDTimer: String, Hashable, Sendable, CaseIterable {
    /// The next periodic Control packet (§6.8.7).
    case transmit
    /// The Detection Time since the last packet received (§6.8.4).
    case detection
}

/// What the session asks of its shell.
public enum BFDSessionAction<Instant: InstantProtocol>: Hashable, Sendable where Instant.Duration == Duration {
    case send(BFDControlPacket)
    /// Arms (or re-arms) a timer.
    case schedule(BFDTimer, at: Instant)
    case cancel(BFDTimer)
    /// bfd.SessionState changed.
    case stateChanged(from: BFDState, to: BFDState, diagnostic: BFDDiagnostic)
}

/// What a session resumes from after its worker was replaced (the previous worker's last report).
public struct BFDResumedState: Hashable, Sendable {
    public var state: BFDState
    public var remoteState: BFDState
    public var localDiscriminator: UInt32
    public var remoteDiscriminator: UInt32
    public var localDiagnostic: BFDDiagnostic
    public var remoteMinRx: UInt32
    public var remoteDesiredMinTx: UInt32
    public var remoteMultiplier: UInt8

    public init(
        state: BFDState, remoteState: BFDState, localDiscriminator: UInt32, remoteDiscriminator: UInt32,
        localDiagnostic: BFDDiagnostic = .none, remoteMinRx: UInt32, remoteDesiredMinTx: UInt32, remoteMultiplier: UInt8
    ) {
        self.state = state
        self.remoteState = remoteState
        self.localDiscriminator = localDiscriminator
        self.remoteDiscriminator = remoteDiscriminator
        self.localDiagnostic = localDiagnostic
        self.remoteMinRx = remoteMinRx
        self.remoteDesiredMinTx = remoteDesiredMinTx
        self.remoteMultiplier = remoteMultiplier
    }
}

/// One BFD session in Asynchronous mode: the state machine and timer rules of RFC 5880 §6.8, without Echo,
/// Demand mode of its own, or authentication (as keepalived).
///
/// Pure: it reads no clock and draws no random number of its own. The shell feeds it events stamped with the
/// current instant of an injected monotonic clock and a random number generator (for the transmit jitter), and
/// carries out the actions it returns; tests run it in virtual time with a seeded generator.
public struct BFDSession<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public typealias Action = BFDSessionAction<Instant>

    /// A Poll Sequence (§6.5) in progress, and the values in effect before it: until the Final, a slower transmit
    /// interval and a shorter detection time must not be used (§6.8.3).
    struct PollSequence: Hashable, Sendable {
        var previousDesiredMinTx: UInt32
        var previousRequiredMinRx: UInt32
    }

    public private(set) var settings: BFDSessionSettings
    /// bfd.SessionState.
    public private(set) var state: BFDState = .down
    /// bfd.RemoteSessionState.
    public private(set) var remoteState: BFDState = .down
    /// bfd.LocalDiscr: unique and non-zero, chosen by the shell.
    public let localDiscriminator: UInt32
    /// bfd.RemoteDiscr: zero until the neighbour is heard, and again after a Detection Time without it.
    public private(set) var remoteDiscriminator: UInt32 = 0
    /// bfd.LocalDiag: why this session last went down.
    public private(set) var localDiagnostic: BFDDiagnostic = .none
    public private(set) var remoteDiagnostic: BFDDiagnostic = .none
    /// bfd.RemoteMinRxInterval: 1 µs until the neighbour says otherwise (§6.8.1).
    public private(set) var remoteMinRx: UInt32 = 1
    /// The Desired Min TX Interval the neighbour last sent.
    public private(set) var remoteDesiredMinTx: UInt32 = 0
    /// The Detect Mult the neighbour last sent.
    public private(set) var remoteMultiplier: UInt8 = 0
    /// bfd.RemoteDemandMode.
    public private(set) var remoteDemand = false
    /// When the last valid packet arrived.
    public private(set) var lastReceived: Instant?
    private(set) var poll: PollSequence?
    private var deadlines: [BFDTimer: Instant] = [:]

    public init(settings: BFDSessionSettings, localDiscriminator: UInt32) {
        self.settings = settings
        self.localDiscriminator = localDiscriminator
    }

    // MARK: Derived values

    /// bfd.DesiredMinTxInterval as sent now: `min_tx` while Up, `idle_tx` (at least 1 s) otherwise (§6.8.3).
    public var desiredMinTx: UInt32 { state == .up ? settings.desiredMinTx : settings.idleTx }

    /// Whether a Poll Sequence is in progress.
    public var isPolling: Bool { poll != nil }

    /// The transmit interval in force (§6.8.7): the larger of our Desired Min TX and the neighbour's Required Min
    /// RX. During a Poll Sequence a slower Desired Min TX waits for the Final (§6.8.3); a faster one applies at once.
    public var transmitInterval: Duration {
        let desired = poll.map { min($0.previousDesiredMinTx, desiredMinTx) } ?? desiredMinTx
        return .microseconds(Int64(max(desired, remoteMinRx)))
    }

    /// The Detection Time (§6.8.4): the neighbour's Detect Mult times the larger of our Required Min RX and its
    /// Desired Min TX; during a Poll Sequence a smaller Required Min RX waits for the Final. Nil before the
    /// neighbour has been heard.
    public var detectionTime: Duration? {
        guard remoteMultiplier > 0 else { return nil }
        let required = poll.map { max($0.previousRequiredMinRx, settings.requiredMinRx) } ?? settings.requiredMinRx
        return .microseconds(Int64(remoteMultiplier) * Int64(max(required, remoteDesiredMinTx)))
    }

    /// Whether periodic packets go out (§6.8.7): not in AdminDown, not before the neighbour spoke in the Passive
    /// role, not when the neighbour asks for none (Required Min RX 0), not while the neighbour runs Demand mode on
    /// an Up session.
    public var transmits: Bool {
        if state == .adminDown { return false }
        if settings.passive && remoteDiscriminator == 0 { return false }
        if remoteMinRx == 0 { return false }
        if remoteDemand && state == .up && remoteState == .up { return false }
        return true
    }

    /// When an armed timer fires.
    public func deadline(of timer: BFDTimer) -> Instant? { deadlines[timer] }

    // MARK: Events

    /// Starts the session in Down: an active session sends at once, then every transmit interval.
    public mutating func start(at now: Instant, using random: inout some RandomNumberGenerator) -> [Action] {
        var actions: [Action] = []
        if transmits {
            actions.append(.send(packet()))
            scheduleTransmit(at: now, using: &random, into: &actions)
        }
        return actions
    }

    /// Takes up the session a replaced worker ran, as it last reported it: an Up session stays Up (its
    /// neighbour need not notice the change of worker), with a whole Detection Time from now to hear the
    /// neighbour again. A packet goes out at once.
    public mutating func resume(
        _ saved: BFDResumedState, at now: Instant, using random: inout some RandomNumberGenerator
    ) -> [Action] {
        state = saved.state == .adminDown ? .down : saved.state
        remoteState = saved.remoteState
        remoteDiscriminator = saved.remoteDiscriminator
        localDiagnostic = saved.localDiagnostic
        remoteMinRx = saved.remoteMinRx
        remoteDesiredMinTx = saved.remoteDesiredMinTx
        remoteMultiplier = saved.remoteMultiplier
        var actions: [Action] = []
        if remoteDiscriminator != 0, let detectionTime {
            schedule(.detection, at: now.advanced(by: detectionTime), into: &actions)
        }
        if transmits {
            actions.append(.send(packet()))
            scheduleTransmit(at: now, using: &random, into: &actions)
        }
        return actions
    }

    /// A packet that passed `BFDControlPacket`'s checks and was matched to this session (and its TTL checked):
    /// RFC 5880 §6.8.6 from "If bfd.SessionState is AdminDown" on.
    /// - Returns: nil when the packet is discarded (the session is AdminDown), else the actions.
    public mutating func receive(
        _ packet: BFDControlPacket, at now: Instant, using random: inout some RandomNumberGenerator
    ) -> [Action]? {
        guard state != .adminDown else { return nil }
        let previousInterval = transmitInterval
        let couldTransmit = transmits
        remoteDiscriminator = packet.myDiscriminator
        remoteState = packet.state
        remoteDemand = packet.demand
        remoteMinRx = packet.requiredMinRxInterval
        remoteDesiredMinTx = packet.desiredMinTxInterval
        remoteMultiplier = packet.detectMultiplier
        remoteDiagnostic = packet.diagnostic
        // §6.5: a Final ends our Poll Sequence; the new intervals apply from now.
        if packet.final { poll = nil }
        lastReceived = now
        var actions: [Action] = []
        let before = state
        if packet.state == .adminDown {
            if state != .down { goDown(.neighborSignaledSessionDown, into: &actions) }
        } else {
            switch (state, packet.state) {
            case (.down, .down): transition(to: .initializing, into: &actions)
            case (.down, .initializing), (.initializing, .initializing), (.initializing, .up):
                transition(to: .up, into: &actions)
            case (.up, .down): goDown(.neighborSignaledSessionDown, into: &actions)
            default: break
            }
        }
        // §6.8.4: every valid packet restarts the Detection Time.
        if let detectionTime { schedule(.detection, at: now.advanced(by: detectionTime), into: &actions) }
        // §6.8.6: a Poll is answered at once with a Final, whatever the transmit timer (and even to a neighbour
        // that wants no periodic packets); a new state is sent at once too, when packets may go out.
        if packet.poll || (transmits && state != before) {
            actions.append(.send(self.packet(final: packet.poll)))
        }
        if !transmits {
            cancel(.transmit, into: &actions)
        } else if !couldTransmit || deadlines[.transmit] == nil || transmitInterval < previousInterval {
            // Started to transmit (a passive session heard its neighbour), or the interval shrank: the next
            // packet is due one (new) interval from now.
            scheduleTransmit(at: now, using: &random, into: &actions)
        }
        return actions
    }

    /// An armed timer fired. A timer that is not armed is ignored; one that fired early is armed again.
    public mutating func timerFired(
        _ timer: BFDTimer, at now: Instant, using random: inout some RandomNumberGenerator
    ) -> [Action] {
        guard let deadline = deadlines[timer] else { return [] }
        guard deadline <= now else { return [.schedule(timer, at: deadline)] }
        deadlines[timer] = nil
        var actions: [Action] = []
        switch timer {
        case .transmit:
            guard transmits else { return [] }
            actions.append(.send(packet()))
            scheduleTransmit(at: now, using: &random, into: &actions)
        case .detection:
            // §6.8.1: a Detection Time without a packet clears bfd.RemoteDiscr; §6.8.4: Init or Up go Down.
            remoteDiscriminator = 0
            remoteState = .down
            remoteDemand = false
            if state == .initializing || state == .up {
                goDown(.controlDetectionTimeExpired, into: &actions)
            }
            if transmits {
                actions.append(.send(packet()))
                scheduleTransmit(at: now, using: &random, into: &actions)
            } else {
                cancel(.transmit, into: &actions)
            }
        }
        return actions
    }

    /// New settings from a reload. While Up, a change of Desired Min TX or Required Min RX starts a Poll Sequence
    /// (§6.8.3); the old values stay in force where the RFC says until the Final.
    public mutating func reconfigure(
        _ new: BFDSessionSettings, at now: Instant, using random: inout some RandomNumberGenerator
    ) -> [Action] {
        guard new != settings else { return [] }
        let old = settings
        let previousInterval = transmitInterval
        settings = new
        var actions: [Action] = []
        // Not Up, the new values take effect at once (§6.8.3); Up, a Poll Sequence announces them.
        if state == .up && (old.desiredMinTx != new.desiredMinTx || old.requiredMinRx != new.requiredMinRx) {
            startPoll(from: old.desiredMinTx, old.requiredMinRx)
        }
        if !transmits {
            cancel(.transmit, into: &actions)
        } else if deadlines[.transmit] == nil || transmitInterval < previousInterval {
            scheduleTransmit(at: now, using: &random, into: &actions)
        }
        return actions
    }

    /// Takes the session to AdminDown (stopped, or removed by a reload): one last packet tells the neighbour,
    /// which must not take it for a path failure (§6.8.16), and the timers stop.
    public mutating func shutdown(at now: Instant) -> [Action] {
        guard state != .adminDown else { return [] }
        var actions: [Action] = []
        let sends = transmits || remoteDiscriminator != 0
        let old = state
        state = .adminDown
        localDiagnostic = .administrativelyDown
        poll = nil
        actions.append(.stateChanged(from: old, to: .adminDown, diagnostic: localDiagnostic))
        if sends { actions.append(.send(packet())) }
        for timer in BFDTimer.allCases { cancel(timer, into: &actions) }
        return actions
    }

    // MARK: Packets

    /// The Control packet this session sends now (§6.8.7); `final` answers a Poll. P is set while a Poll Sequence
    /// runs, except on a Final (§6.5: never both).
    public func packet(final: Bool = false) -> BFDControlPacket {
        BFDControlPacket(
            state: state, diagnostic: localDiagnostic, poll: poll != nil && !final, final: final,
            detectMultiplier: settings.detectMultiplier, myDiscriminator: localDiscriminator,
            yourDiscriminator: remoteDiscriminator, desiredMinTxInterval: desiredMinTx,
            requiredMinRxInterval: settings.requiredMinRx)
    }

    // MARK: Transitions

    private mutating func transition(to new: BFDState, into actions: inout [Action]) {
        let old = state
        guard old != new else { return }
        state = new
        if new == .up {
            // RFC 5880 doesn't say; keepalived and FRR clear the diagnostic on the way up.
            localDiagnostic = .none
            // Up: bfd.DesiredMinTxInterval moves from idle_tx to min_tx, negotiated with a Poll (§6.8.3).
            if settings.idleTx != settings.desiredMinTx {
                startPoll(from: settings.idleTx, settings.requiredMinRx)
            }
        }
        actions.append(.stateChanged(from: old, to: new, diagnostic: localDiagnostic))
    }

    private mutating func goDown(_ diagnostic: BFDDiagnostic, into actions: inout [Action]) {
        localDiagnostic = diagnostic
        // Leaving Up, the idle interval applies at once (§6.8.3); no Poll Sequence outside Up.
        poll = nil
        transition(to: .down, into: &actions)
    }

    private mutating func startPoll(from desiredMinTx: UInt32, _ requiredMinRx: UInt32) {
        // A Poll already running keeps the values the neighbour last acknowledged.
        if poll == nil {
            poll = PollSequence(previousDesiredMinTx: desiredMinTx, previousRequiredMinRx: requiredMinRx)
        }
    }

    // MARK: Timers

    /// The next periodic packet: the transmit interval less a random 0–25 % (§6.8.7), or 10–25 % with a Detect
    /// Mult of 1 (no more than 90 % of the interval).
    private mutating func scheduleTransmit(
        at now: Instant, using random: inout some RandomNumberGenerator, into actions: inout [Action]
    ) {
        let interval = transmitInterval.microsecondsValue
        let least = settings.detectMultiplier == 1 ? interval / 10 : 0
        let reduction = interval / 4 > least ? Int64.random(in: least...(interval / 4), using: &random) : least
        schedule(.transmit, at: now.advanced(by: .microseconds(interval - reduction)), into: &actions)
    }

    private mutating func schedule(_ timer: BFDTimer, at deadline: Instant, into actions: inout [Action]) {
        deadlines[timer] = deadline
        actions.append(.schedule(timer, at: deadline))
    }

    private mutating func cancel(_ timer: BFDTimer, into actions: inout [Action]) {
        if deadlines.removeValue(forKey: timer) != nil { actions.append(.cancel(timer)) }
    }
}

extension Duration {
    /// Whole microseconds (truncated).
    var microsecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
