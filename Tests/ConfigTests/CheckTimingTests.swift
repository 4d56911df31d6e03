import Foundation
import Testing

@testable import Config

/// `CheckTiming` is stored narrow (one per checker in the model): what it holds reads back as written.
struct CheckTimingTests {
    @Test("durations read back to the nanosecond, retry as written; the whole is 40 bytes, not 80")
    func readsBack() {
        var timing = CheckTiming()
        #expect(timing.connectTimeout == .seconds(5) && timing.delayLoop == .seconds(60))
        #expect(timing.warmup == .seconds(60) && timing.delayBeforeRetry == .seconds(1) && timing.retry == 1)
        timing.connectTimeout = .milliseconds(1_500)
        timing.delayBeforeRetry = .nanoseconds(1)
        timing.warmup = .zero
        timing.delayLoop = .seconds(86_400 * 365)
        timing.retry = Int(UInt32.max)
        timing.alpha = true
        #expect(timing.connectTimeout == .milliseconds(1_500))
        #expect(timing.delayBeforeRetry == .nanoseconds(1))
        #expect(timing.warmup == .zero)
        #expect(timing.delayLoop == .seconds(86_400 * 365))
        #expect(timing.retry == Int(UInt32.max))
        #expect(timing.alpha)
        #expect(MemoryLayout<CheckTiming>.stride <= 40)
    }

    @Test("what does not fit is clamped, never a trap: a negative retry is 0, a duration beyond 292 years the most")
    func clamps() {
        var timing = CheckTiming()
        timing.retry = -1
        #expect(timing.retry == 0)
        timing.retry = Int.max
        #expect(timing.retry == Int(UInt32.max))
        timing.delayLoop = .seconds(Int64.max)
        #expect(timing.delayLoop == .nanoseconds(Int64.max))
        timing.warmup = .seconds(Int64.min)
        #expect(timing.warmup == .nanoseconds(Int64.min))
        #expect(Duration.seconds(-2).clampedNanoseconds == -2_000_000_000)
        #expect(Duration.microseconds(-1).clampedNanoseconds == -1_000)
    }

    @Test("its Codable form keeps the settings' names and their Durations")
    func codable() throws {
        var timing = CheckTiming()
        timing.delayLoop = .milliseconds(2_500)
        timing.retry = 7
        timing.alpha = true
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(timing)) as? [String: Any]
        #expect(
            Set(json?.keys.map { $0 } ?? [])
                == ["connectTimeout", "retry", "delayBeforeRetry", "warmup", "delayLoop", "alpha"])
        let delayLoop = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Duration.milliseconds(2_500)))
        #expect((json?["delayLoop"] as? [Int64]) == (delayLoop as? [Int64]))
        #expect(json?["retry"] as? Int == 7)
        #expect(try JSONDecoder().decode(CheckTiming.self, from: JSONEncoder().encode(timing)) == timing)
    }
}
