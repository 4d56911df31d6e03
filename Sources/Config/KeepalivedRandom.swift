import Synchronization

/// glibc's `random()` after `srandom(seed)` (the additive feedback generator of TYPE_3, 31 words of state): what
/// keepalived draws `${_RANDOM MIN MAX}` from, as `random() % (MAX - MIN + 1) + MIN`. With `random_seed` in the
/// file, the same seed gives the same values as keepalived.
public struct KeepalivedRandom: Sendable {
    private var state: [UInt32]
    private var front = 3
    private var rear = 0

    public init(seed: UInt32) {
        var words = [UInt32](repeating: 0, count: 31)
        words[0] = seed == 0 ? 1 : seed
        for index in 1..<31 {
            // Park and Miller's minimal standard generator, in 32-bit signed arithmetic as glibc computes it.
            let previous = Int64(Int32(bitPattern: words[index - 1]))
            var word = 16807 * (previous % 127_773) - 2836 * (previous / 127_773)
            if word < 0 { word += 2_147_483_647 }
            words[index] = UInt32(truncatingIfNeeded: word)
        }
        state = words
        for _ in 0..<310 { _ = next() }
    }

    /// The next value, 0…2³¹−1.
    public mutating func next() -> Int {
        state[front] = state[front] &+ state[rear]
        let result = Int(state[front] >> 1)
        front = (front + 1) % 31
        rear = (rear + 1) % 31
        return result
    }

    /// keepalived's `${_RANDOM}` value in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        next() % (range.upperBound - range.lowerBound + 1) + range.lowerBound
    }

    /// A `ConfigReaderOptions.random` drawing from this sequence, in the order the reader asks.
    public static func expander(seed: UInt32) -> @Sendable (ClosedRange<Int>) -> Int {
        let generator = Mutex(KeepalivedRandom(seed: seed))
        return { range in generator.withLock { $0.next(in: range) } }
    }
}
