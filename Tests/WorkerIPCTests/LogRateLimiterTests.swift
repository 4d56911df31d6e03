import Testing
import WorkerIPC

/// A clock for tests: whole milliseconds.
struct TestInstant: InstantProtocol, Sendable {
    var milliseconds: Int64

    func advanced(by duration: Duration) -> TestInstant {
        TestInstant(
            milliseconds: milliseconds + duration.components.seconds * 1000 + duration.components.attoseconds
                / 1_000_000_000_000_000)
    }

    func duration(to other: TestInstant) -> Duration { .milliseconds(other.milliseconds - milliseconds) }

    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

@Suite("Log rate limiter (virtual time)")
struct LogRateLimiterTests {
    typealias Limiter = LogRateLimiter<String, TestInstant>

    static func at(_ milliseconds: Int64) -> TestInstant { TestInstant(milliseconds: milliseconds) }

    /// A flood of one kind: the first is logged, the rest counted until the interval has passed; the next line
    /// carries the count held back.
    @Test func firstThenOnePerInterval() {
        var limiter = Limiter(interval: .seconds(10))
        #expect(limiter.record("ttl", at: Self.at(0)) == .log(suppressed: 0))
        for millisecond in 1..<10_000 { #expect(limiter.record("ttl", at: Self.at(Int64(millisecond))) == .suppress) }
        #expect(limiter.record("ttl", at: Self.at(10_000)) == .log(suppressed: 9_999))
        #expect(limiter.record("ttl", at: Self.at(10_001)) == .suppress)
        #expect(limiter.total == 10_002)
        #expect(limiter.heldBackText(9_999) == " (and 9999 more like it since the last such line)")
        #expect(limiter.heldBackText(0) == "")
    }

    /// 20 s of 20,000 packets a second (the flood wrote 427,967 lines) come out as 3 lines.
    @Test func aFloodBecomesAFewLines() {
        var limiter = Limiter(interval: .seconds(10))
        var lines = 0
        for packet in 0..<400_000 {
            if case .log = limiter.record("auth", at: Self.at(Int64(packet / 20))) { lines += 1 }
        }
        #expect(lines == 2)
        #expect(limiter.summaries(at: Self.at(30_000)) == [.init(kind: "auth", count: 199_999)])
        #expect(limiter.summaries(at: Self.at(30_001)) == [])
    }

    /// Kinds are limited apart; a burst's count is summarised once its interval is over, even with no new event.
    @Test func kindsAreIndependentAndSummariesComeDue() {
        var limiter = Limiter(interval: .seconds(1))
        #expect(limiter.record("a", at: Self.at(0)) == .log(suppressed: 0))
        #expect(limiter.record("b", at: Self.at(10)) == .log(suppressed: 0))
        #expect(limiter.record("a", at: Self.at(20)) == .suppress)
        #expect(limiter.record("a", at: Self.at(30)) == .suppress)
        #expect(limiter.summaries(at: Self.at(999)) == [])
        #expect(limiter.summaries(at: Self.at(1000)) == [.init(kind: "a", count: 2)])
        #expect(limiter.record("a", at: Self.at(1500)) == .suppress)  // the summary restarted its window
        #expect(limiter.record("b", at: Self.at(1500)) == .log(suppressed: 0))
    }

    /// Past `maxKinds` kinds, new kinds are counted as overflow, never logged; quiet kinds make room.
    @Test func kindsAreBounded() {
        var limiter = Limiter(interval: .seconds(1), maxKinds: 2)
        #expect(limiter.record("a", at: Self.at(0)) == .log(suppressed: 0))
        #expect(limiter.record("b", at: Self.at(0)) == .log(suppressed: 0))
        #expect(limiter.record("c", at: Self.at(0)) == .suppress)
        #expect(limiter.overflow == 1)
        #expect(limiter.record("c", at: Self.at(2000)) == .log(suppressed: 0))
    }
}
