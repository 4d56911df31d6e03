/// SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator. The checker draws its jitter from it (first
/// delays, seeded once from the system's generator: each of `SystemRandomNumberGenerator`'s draws is a `getrandom`
/// system call, and a start of 10,000 real servers made 20,000 of them for numbers nobody needs to be
/// unpredictable); unit tests and fuzzers seed it themselves, so a failing run repeats with the same inputs.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// Seeded from `SystemRandomNumberGenerator`: two workers never spread their checks alike.
    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
