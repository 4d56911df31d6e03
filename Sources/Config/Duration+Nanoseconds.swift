extension Duration {
    /// The duration in whole nanoseconds, truncated toward zero and clamped to `Int64`'s range (about ±292 years):
    /// how compact structures store durations (`CheckTiming`, the checker's schedule).
    public var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, overflowSum) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflow, !overflowSum else { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }
}
