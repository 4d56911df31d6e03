/// `max_auto_priority` / `min_auto_priority_delay`: when a worker's loop runs later than the delay, the worker
/// moves to SCHED_RR at the lowest real-time priority, and up one priority at each later delay, up to the maximum
/// (keepalived's `increment_process_priority`, called when its scheduler wakes long after a timer was due). Pure:
/// the worker's runtime measures the lateness (its beacon through the engine's loop) and sets the scheduler.
public struct AutoPriority: Sendable, Hashable {
    /// The highest SCHED_RR priority; 0: never raised.
    public let maximum: Int
    /// Lateness, in nanoseconds, past which the priority goes up.
    public let minimumDelay: Int64
    /// The current SCHED_RR priority; 0: the normal scheduler.
    public private(set) var current: Int

    /// - Parameter current: the worker's real-time priority at its start (`…_rt_priority`), 0 for none.
    public init(maximum: Int, minimumDelayMicroseconds: Int, current: Int = 0) {
        self.maximum = maximum
        self.minimumDelay = Int64(minimumDelayMicroseconds) * 1_000
        self.current = current
    }

    /// The loop ran `lateness` nanoseconds after it should have; returns the SCHED_RR priority to set now, or nil
    /// to leave the scheduler as it is.
    public mutating func loopRan(late lateness: Int64) -> Int? {
        guard maximum > 0, lateness > minimumDelay, current < maximum else { return nil }
        // sched_get_priority_min(SCHED_RR) is 1 on Linux.
        current = current == 0 ? 1 : current + 1
        return current
    }
}
