/// Durations in logarithmic buckets (eight per decade, 10 µs to 100 s): how late checks start and how long they
/// take. Cumulative counts for metrics, and a sliding window (the current and the previous `window`) for the
/// p50/p99 that `vigilctl status` shows. Pure: the caller passes `now`.
public struct LatencyHistogram: Sendable, Hashable {
    /// Upper bounds of the buckets, in nanoseconds; the last bucket takes everything above.
    public static let bounds: [Int64] = {
        var bounds: [Int64] = []
        var value = 10_000.0
        while value <= 100e9 {
            bounds.append(Int64(value.rounded()))
            value *= 1.333_521_432_163_324  // 10^(1/8)
        }
        return bounds
    }()

    public let window: Duration
    /// `window * 2`, multiplied once: a `Duration` product goes through 128-bit arithmetic, and `record` runs for
    /// every check.
    private let twoWindows: Duration
    /// Every sample since start, per bucket (the last one is "above the largest bound").
    public private(set) var total: [UInt64]
    public private(set) var sum: Duration = .zero
    public private(set) var count: UInt64 = 0
    private var current: [UInt32]
    private var previous: [UInt32]
    private var windowStart: Duration?

    public init(window: Duration = .seconds(30)) {
        self.window = window
        twoWindows = window * 2
        total = [UInt64](repeating: 0, count: Self.bounds.count + 1)
        current = [UInt32](repeating: 0, count: Self.bounds.count + 1)
        previous = current
    }

    static func bucket(_ nanoseconds: Int64) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < nanoseconds { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public mutating func record(_ value: Duration, now: Duration) {
        rotate(now: now)
        let bucket = Self.bucket(HealthScheduler.nanoseconds(value))
        total[bucket] += 1
        current[bucket] &+= 1
        sum += value
        count += 1
    }

    private mutating func rotate(now: Duration) {
        guard let start = windowStart else {
            windowStart = now
            return
        }
        if now - start >= twoWindows {
            previous = [UInt32](repeating: 0, count: current.count)
            current = previous
            windowStart = now
        } else if now - start >= window {
            previous = current
            current = [UInt32](repeating: 0, count: current.count)
            windowStart = start + window
        }
    }

    /// The counts of the last one to two windows, as of `now`.
    private func recent(now: Duration) -> [UInt64] {
        guard let start = windowStart else { return [] }
        if now - start >= twoWindows { return [] }
        if now - start >= window { return current.map(UInt64.init) }
        return zip(current, previous).map { UInt64($0) + UInt64($1) }
    }

    /// The `fraction` quantile (0.5, 0.99) of the samples of the last one to two windows, as the upper bound of
    /// its bucket; nil without samples.
    public func quantile(_ fraction: Double, now: Duration) -> Duration? {
        let counts = recent(now: now)
        let samples = counts.reduce(0, +)
        guard samples > 0 else { return nil }
        let rank = UInt64((Double(samples) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if seen >= max(1, rank) {
                return .nanoseconds(index < Self.bounds.count ? Self.bounds[index] : Self.bounds.last! * 10)
            }
        }
        return nil
    }

    /// Samples in the last one to two windows.
    public func recentCount(now: Duration) -> UInt64 {
        recent(now: now).reduce(0, +)
    }
}
