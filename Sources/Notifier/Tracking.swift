import Config

/// A `vrrp_script`'s state as keepalived keeps it: a counter of recent results in `0…rise+fall−1`.
///
/// The script is up while the counter is at least `rise`. A success moves it up by one, and on reaching
/// `rise` jumps to the top (so `fall` failures are then needed to go down); a failure moves it down by
/// one, and on dropping below `rise` jumps to 0 (so `rise` successes are then needed). It starts at the
/// top (up), or at 0 (down) with `init_fail`. Exit status 0 is success; anything else, a signal, a
/// timeout or a failure to start is a failure.
public struct TrackedScriptState: Hashable, Sendable {
    public let rise: Int
    public let fall: Int
    /// `weight`: 0 means the script being down puts trackers in FAULT.
    public let weight: Int
    /// `weight … reverse`.
    public let reverse: Bool
    private var counter: Int

    public init(script: VRRPScript) {
        self.init(
            rise: script.rise, fall: script.fall, weight: script.weight, reverse: script.reverse,
            initFail: script.initFail)
    }

    public init(rise: Int, fall: Int, weight: Int = 0, reverse: Bool = false, initFail: Bool = false) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.weight = weight
        self.reverse = reverse
        counter = initFail ? 0 : self.rise + self.fall - 1
    }

    /// Whether the script is up (after `rise` successes, until `fall` failures).
    public var isUp: Bool { counter >= rise }

    /// The priority change trackers apply: with a positive weight, `+weight` while up; with a negative
    /// weight, `weight` while down; 0 otherwise. `reverse` negates the change (up lowers the priority).
    public var priorityDelta: Int {
        let delta = isUp ? (weight > 0 ? weight : 0) : (weight < 0 ? weight : 0)
        return reverse ? -delta : delta
    }

    /// With weight 0 the script decides FAULT: down means fault, or up means fault with `reverse`.
    public var causesFault: Bool { weight == 0 && isUp == reverse }

    /// Counts one run; returns whether `isUp` changed.
    public mutating func record(_ result: ScriptResult) -> Bool {
        let wasUp = isUp
        if result.succeeded {
            if counter < rise - 1 {
                counter += 1
            } else {
                counter = rise + fall - 1
            }
        } else {
            if counter > rise {
                counter -= 1
            } else {
                counter = 0
            }
        }
        return wasUp != isUp
    }
}

/// What a `track_file` says.
public enum TrackFileValue: Hashable, Sendable {
    /// Add this to the tracker's priority (already multiplied by the weight, limited to ±253).
    case weight(Int)
    /// Trackers go to FAULT.
    case fault
}

/// `track_file`: a file holding an integer that adjusts the priority of the instances tracking it.
public enum TrackFile {
    /// The value of a track file's `contents` (`nil`: missing or unreadable) under `weight` as keepalived
    /// (keepalived.conf(5), "track_file"): a missing file, an unreadable one or one without a leading
    /// integer counts as 0. With weight 0 a non-zero value is a fault and 0 is OK; otherwise the value
    /// times the weight (negated with `reverse`) is added to the priority, a result below −253 is a fault,
    /// and one above 253 counts as 253.
    public static func weight(fromContents contents: String?, weight: Int, reverse: Bool = false) -> TrackFileValue {
        let value = contents.flatMap(leadingInteger) ?? 0
        if weight == 0 { return value == 0 ? .weight(0) : .fault }
        let (product, overflow) = value.multipliedReportingOverflow(by: reverse ? -weight : weight)
        if overflow { return value.signum() * weight.signum() * (reverse ? -1 : 1) < 0 ? .fault : .weight(253) }
        if product < -253 { return .fault }
        return .weight(min(product, 253))
    }

    /// Reads `path` (at most 64 bytes matter) and applies `weight(fromContents:weight:reverse:)`.
    public static func read(path: String, weight: Int, reverse: Bool = false) -> TrackFileValue {
        Self.weight(fromContents: FileContents.read(path, limit: 64), weight: weight, reverse: reverse)
    }

    /// The value as `strtol` reads it: optional blanks, a sign, digits; `nil` without digits.
    static func leadingInteger(_ text: String) -> Int? {
        var scalars = Substring(text).drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        var negative = false
        if let sign = scalars.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            scalars = scalars.dropFirst()
        }
        let digits = scalars.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return nil }
        // Saturate like strtol on overflow.
        guard let magnitude = Int(digits) else { return negative ? Int.min : Int.max }
        return negative ? -magnitude : magnitude
    }
}
