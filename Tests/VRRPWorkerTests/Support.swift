import Config
import VRRPWorker

/// An instant of a virtual clock, so the state machine runs in virtual time.
struct VirtualInstant: InstantProtocol, CustomStringConvertible {
    var sinceStart: Duration

    static let start = VirtualInstant(sinceStart: .zero)

    func advanced(by duration: Duration) -> VirtualInstant { VirtualInstant(sinceStart: sinceStart + duration) }
    func duration(to other: VirtualInstant) -> Duration { other.sinceStart - sinceStart }
    static func < (lhs: VirtualInstant, rhs: VirtualInstant) -> Bool { lhs.sinceStart < rhs.sinceStart }

    var description: String { "t+\(sinceStart)" }
}

/// The virtual instant `microseconds` after the start.
func at(_ microseconds: Int64) -> VirtualInstant { .start.advanced(by: .microseconds(microseconds)) }

typealias Machine = VRRPInstanceStateMachine<VirtualInstant>
typealias Action = VRRPAction<VirtualInstant>

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
