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

/// SplitMix64: a seeded generator, so a failing fuzz run repeats.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
