import CLibcap
import Config
import Testing

@testable import Watchdog

/// A time zone where the calendar time is the epoch seconds' UTC reading: enough to test the schedule's rules.
private func utc(_ time: CalendarTime) -> (seconds: Int64, normalized: CalendarTime) {
    Supervisor.epochSeconds(time, utc: true)
}

private func at(_ text: String) -> Int64 {
    let line = ReloadTime(text + "Z")!
    guard
        case .at(let seconds, _) = line.schedule(
            now: 0, today: CalendarTime(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0), seconds: utc)
    else {
        return -1
    }
    return seconds
}

@Suite("reload_time_file: keepalived's formats and schedule")
struct ReloadTimeTests {
    @Test(
        "Exactly the three formats, with an optional Z",
        arguments: [
            ("12:34:56", true), ("12:34:56Z", true), ("26-11-30 12:34:56", true), ("2026-11-30 12:34:56Z", true),
            ("1:2:3", false), (" 12:34:56", false), ("12:34:56 ", false), ("2026-11-30  12:34:56", false),
            ("2026-11-30T12:34:56", false), ("24:00:00", false), ("12:60:00", false), ("2026-13-01 00:00:00", false),
            ("12:34", false), ("", false), ("Z", false), ("12:34:5x", false),
        ])
    func formats(_ line: String, _ valid: Bool) {
        #expect((ReloadTime(line) != nil) == valid, "\(line)")
    }

    @Test("Two-digit years as strptime's %y reads them")
    func twoDigitYears() {
        #expect(ReloadTime("26-01-02 03:04:05")?.date == [2026, 1, 2])
        #expect(ReloadTime("99-01-02 03:04:05")?.date == [1999, 1, 2])
        #expect(ReloadTime("03:04:05")?.date == nil)
        #expect(ReloadTime("03:04:05Z")?.utc == true && ReloadTime("03:04:05")?.utc == false)
    }

    @Test("A time of day: today's while ahead, else tomorrow's")
    func timeOfDay() throws {
        // 2026-11-30 19:00:00 UTC.
        let now: Int64 = 1_796_065_200
        let today = Supervisor.calendarTime(now, utc: true)
        #expect(today == CalendarTime(year: 2026, month: 11, day: 30, hour: 19, minute: 0, second: 0))
        let later = try #require(ReloadTime("19:00:05Z"))
        #expect(later.schedule(now: now, today: today, seconds: utc) == .at(seconds: now + 5, dateGiven: false))
        let now2 = try #require(ReloadTime("19:00:00Z"))
        #expect(now2.schedule(now: now, today: today, seconds: utc) == .at(seconds: now + 86_400, dateGiven: false))
        let earlier = try #require(ReloadTime("18:59:59Z"))
        #expect(
            earlier.schedule(now: now, today: today, seconds: utc) == .at(seconds: now + 86_399, dateGiven: false))
        // The last day of a month: tomorrow is the next month's first.
        let endOfMonth = Supervisor.epochSeconds(
            CalendarTime(year: 2026, month: 11, day: 30, hour: 23, minute: 0, second: 0), utc: true
        ).seconds
        let wrapped = earlier.schedule(
            now: endOfMonth, today: Supervisor.calendarTime(endOfMonth, utc: true), seconds: utc)
        #expect(wrapped == .at(seconds: now + 86_399, dateGiven: false))
    }

    @Test("A date and time: ahead, past or not a real time")
    func dates() throws {
        let now: Int64 = 1_796_065_200
        let today = Supervisor.calendarTime(now, utc: true)
        let ahead = try #require(ReloadTime("2026-11-30 19:01:00Z"))
        #expect(ahead.schedule(now: now, today: today, seconds: utc) == .at(seconds: now + 60, dateGiven: true))
        let short = try #require(ReloadTime("26-12-01 19:00:00Z"))
        #expect(short.schedule(now: now, today: today, seconds: utc) == .at(seconds: now + 86_400, dateGiven: true))
        let past = try #require(ReloadTime("2026-11-30 18:00:00Z"))
        #expect(past.schedule(now: now, today: today, seconds: utc) == .past)
        let noSuchDay = try #require(ReloadTime("2027-02-30 00:00:00Z"))
        #expect(noSuchDay.schedule(now: now, today: today, seconds: utc) == .invalid)
        #expect(at("2026-11-30 19:00:01") == now + 1)
    }
}

@Suite("max_auto_priority: how a late loop raises the worker")
struct AutoPriorityTests {
    @Test("Off at 0: never raised")
    func off() {
        var auto = AutoPriority(maximum: 0, minimumDelayMicroseconds: 1)
        #expect(auto.loopRan(late: 10_000_000_000) == nil)
    }

    @Test("Late beyond the delay: SCHED_RR 1, then one more each time, up to the maximum")
    func raises() {
        var auto = AutoPriority(maximum: 3, minimumDelayMicroseconds: 100_000)
        #expect(auto.loopRan(late: 100_000_000) == nil, "exactly the delay is not beyond it")
        #expect(auto.loopRan(late: 100_000_001) == 1)
        #expect(auto.loopRan(late: 5_000_000) == nil, "on time: unchanged")
        #expect(auto.loopRan(late: 200_000_000) == 2)
        #expect(auto.loopRan(late: 200_000_000) == 3)
        #expect(auto.loopRan(late: 900_000_000) == nil, "at the maximum")
        #expect(auto.current == 3)
    }

    @Test("From a configured real-time priority, up from it; above the maximum, never")
    func fromConfigured() {
        var auto = AutoPriority(maximum: 12, minimumDelayMicroseconds: 1, current: 10)
        #expect(auto.loopRan(late: 2_000) == 11)
        var high = AutoPriority(maximum: 5, minimumDelayMicroseconds: 1, current: 20)
        #expect(high.loopRan(late: 2_000) == nil)
    }

    @Test("The worker's settings carry both keywords through its command line")
    func settingsArgument() throws {
        var settings = WorkerProcessSettings()
        settings.maxAutoPriority = 7
        settings.minAutoPriorityDelay = 2_500
        let read = try #require(WorkerProcessSettings(argument: settings.argument))
        #expect(read == settings && !settings.isDefault)
        #expect(settings.capabilities.contains(CAP_SYS_NICE))
    }

    @Test("net_namespace_ipvs: the checker worker alone keeps CAP_SYS_ADMIN to enter the namespace")
    func ipvsNamespaceCapability() throws {
        var globals = GlobalDefs()
        globals.netNamespaceIPVS = "lab"
        let checker = WorkerProcessSettings(role: .checker, globals: globals, realtimeByDefault: true)
        #expect(checker.entersIPVSNamespace && checker.capabilities.contains(CAP_SYS_ADMIN))
        #expect(try #require(WorkerProcessSettings(argument: checker.argument)) == checker)
        let vrrp = WorkerProcessSettings(role: .vrrp, globals: globals, realtimeByDefault: true)
        #expect(!vrrp.capabilities.contains(CAP_SYS_ADMIN))
        let none = WorkerProcessSettings(role: .checker, globals: GlobalDefs(), realtimeByDefault: true)
        #expect(!none.capabilities.contains(CAP_SYS_ADMIN))
    }
}
