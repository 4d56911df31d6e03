/// A calendar date and time of day, as `struct tm` holds them (month 1…12).
public struct CalendarTime: Hashable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }
}

/// The first line of a `reload_time_file`, in exactly keepalived's formats: `HH:MM:SS`, `YY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DD HH:MM:SS`, each with an optional `Z` (UTC; without it, the host's local time). Pure: the clock and
/// the time zone come in as arguments.
public struct ReloadTime: Hashable, Sendable {
    /// Year, month, day; nil: a time of day only (today's, or tomorrow's once it has passed).
    public var date: [Int]?
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// A trailing `Z`.
    public var utc: Bool

    /// Reads one line (its newline already cut); nil when it is not exactly one of the formats.
    public init?(_ line: String) {
        var text = Substring(line)
        utc = text.hasSuffix("Z")
        if utc { text = text.dropLast() }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard text.count == 8 || text.count == 17 || text.count == 19, (1...2).contains(parts.count) else {
            return nil
        }
        guard let time = Self.numbers(parts.last!, separator: ":", widths: [2, 2, 2]) else { return nil }
        (hour, minute, second) = (time[0], time[1], time[2])
        guard hour < 24, minute < 60, second < 61 else { return nil }
        if parts.count == 2 {
            let yearWidth = parts[0].count == 8 ? 2 : 4
            guard var date = Self.numbers(parts[0], separator: "-", widths: [yearWidth, 2, 2]) else { return nil }
            // strptime's %y: 69…99 are 1969…1999, 00…68 are 2000…2068.
            if yearWidth == 2 { date[0] += date[0] < 69 ? 2000 : 1900 }
            guard (1...12).contains(date[1]), (1...31).contains(date[2]) else { return nil }
            self.date = date
        }
    }

    /// Digits of exactly `widths` between `separator`s.
    private static func numbers(_ text: Substring, separator: Character, widths: [Int]) -> [Int]? {
        let fields = text.split(separator: separator, omittingEmptySubsequences: false)
        guard fields.count == widths.count else { return nil }
        var values: [Int] = []
        for (field, width) in zip(fields, widths) {
            guard field.count == width, field.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(field)
            else { return nil }
            values.append(value)
        }
        return values
    }

    /// When to reload.
    public enum Schedule: Hashable, Sendable {
        /// At `seconds` since the epoch; `dateGiven`: the line named a date (the file is removed after the reload
        /// even with `reload_repeat`, as keepalived does).
        case at(seconds: Int64, dateGiven: Bool)
        /// The time does not exist (a day past the month's end, a gap of a daylight saving change).
        case invalid
        /// A date and time already past.
        case past
    }

    /// The moment of the reload, as keepalived's `parse_datetime`: a time of day already past (or now) is
    /// tomorrow's.
    /// - Parameters:
    ///   - now: seconds since the epoch.
    ///   - today: the calendar date of `now` in this line's zone (UTC or local).
    ///   - seconds: a calendar time in this line's zone to seconds since the epoch and the calendar time it
    ///     normalizes to (`timegm` / `mktime`: the 32nd is the next month's 1st).
    public func schedule(
        now: Int64, today: CalendarTime, seconds: (CalendarTime) -> (seconds: Int64, normalized: CalendarTime)
    ) -> Schedule {
        var wanted = CalendarTime(
            year: date?[0] ?? today.year, month: date?[1] ?? today.month, day: date?[2] ?? today.day,
            hour: hour, minute: minute, second: second)
        let first = seconds(wanted)
        guard first.normalized == wanted else { return .invalid }
        if first.seconds > now { return .at(seconds: first.seconds, dateGiven: date != nil) }
        guard date == nil else { return .past }
        wanted.day += 1
        return .at(seconds: seconds(wanted).seconds, dateGiven: false)
    }
}
