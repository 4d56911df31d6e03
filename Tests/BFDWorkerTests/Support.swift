import Config
import TestSupport
import WorkerIPC

@testable import BFDWorker

typealias Session = BFDSession<MonotonicInstant>
typealias Action = BFDSessionAction<MonotonicInstant>

/// Virtual time: `MonotonicInstant` is plain arithmetic on nanoseconds, so tests pick the instants.
let epoch = MonotonicInstant(nanoseconds: 1_000_000_000_000)

func at(milliseconds: Double) -> MonotonicInstant {
    epoch.advanced(by: .microseconds(Int64(milliseconds * 1000)))
}

func milliseconds(_ instant: MonotonicInstant) -> Double { Double(instant.nanoseconds - epoch.nanoseconds) / 1e6 }

extension [Action] {
    var sent: [BFDControlPacket] {
        compactMap { if case .send(let packet) = $0 { packet } else { nil } }
    }

    var transitions: [(BFDState, BFDState, BFDDiagnostic)] {
        compactMap { if case .stateChanged(let from, let to, let diag) = $0 { (from, to, diag) } else { nil } }
    }

    func deadline(_ timer: BFDTimer) -> MonotonicInstant? {
        for action in reversed() {
            if case .schedule(timer, let deadline) = action { return deadline }
        }
        return nil
    }
}

/// Two sessions joined by a virtual wire that delivers each packet after `delay` (or drops it while `cut`), run
/// in deadline order: the RFC's handshake, timers and Poll Sequences, end to end, in virtual time.
struct VirtualLink {
    var sessions: [Session]
    var now = epoch
    var delay = Duration.microseconds(100)
    /// While true, nothing is delivered in either direction.
    var cut = false
    /// Side 1 is frozen (its process stopped): it neither sends nor fires timers.
    var frozen = [false, false]
    var random = SplitMix64(seed: 7)
    /// Packets in flight: when they arrive, and at which side.
    private var inFlight: [(at: MonotonicInstant, to: Int, packet: BFDControlPacket)] = []
    /// Every state change: (time, side, from, to, diagnostic).
    var log: [(MonotonicInstant, Int, BFDState, BFDState, BFDDiagnostic)] = []
    /// Every packet sent: (time, side, packet).
    var sent: [(MonotonicInstant, Int, BFDControlPacket)] = []

    init(_ a: BFDSessionSettings, _ b: BFDSessionSettings) {
        sessions = [Session(settings: a, localDiscriminator: 0x0a0a), Session(settings: b, localDiscriminator: 0x0b0b)]
    }

    mutating func start() {
        for side in 0..<2 { handle(sessions[side].start(at: now, using: &random), side: side) }
    }

    mutating func handle(_ actions: [Action], side: Int) {
        for action in actions {
            switch action {
            case .send(let packet):
                sent.append((now, side, packet))
                if !cut { inFlight.append((now.advanced(by: delay), 1 - side, packet)) }
            case .stateChanged(let from, let to, let diagnostic):
                log.append((now, side, from, to, diagnostic))
            case .schedule, .cancel:
                break
            }
        }
    }

    /// Runs every packet arrival and timer due until `end`, in time order.
    mutating func run(until end: MonotonicInstant) {
        while true {
            var next: (MonotonicInstant, Int, BFDTimer?)?
            for (side, session) in sessions.enumerated() where !frozen[side] {
                for timer in BFDTimer.allCases {
                    if let deadline = session.deadline(of: timer), deadline <= end, next == nil || deadline < next!.0 {
                        next = (deadline, side, timer)
                    }
                }
            }
            if let first = inFlight.min(by: { $0.at < $1.at }), first.at <= end, next == nil || first.at <= next!.0 {
                inFlight.removeAll { $0.at == first.at && $0.to == first.to && $0.packet == first.packet }
                now = first.at
                if !cut && !frozen[first.to] {
                    if let actions = sessions[first.to].receive(first.packet, at: now, using: &random) {
                        handle(actions, side: first.to)
                    }
                }
                continue
            }
            guard let (deadline, side, timer) = next, let timer else { break }
            now = deadline
            handle(sessions[side].timerFired(timer, at: now, using: &random), side: side)
        }
        now = end
    }

    /// When side `side` last entered `state`.
    func lastEntered(_ state: BFDState, side: Int) -> MonotonicInstant? {
        log.last { $0.1 == side && $0.3 == state }?.0
    }
}
