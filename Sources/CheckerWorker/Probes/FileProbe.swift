import Config
import NIOCore
import NIOPosix
import Notifier

/// FILE_CHECK: reads the number in the `track_file`'s file (keepalived.conf(5) "Track files"). With weight 0 a
/// non-zero value is a failure; otherwise value × weight (negated with `reverse`) is added to the real server's
/// weight, and a result ≤ 0 is a failure. With `dynamic` the success carries that weight.
struct FileProbe: HealthProbe {
    let path: String
    let check: FileCheck
    let baseWeight: Int
    let label: String

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let path = path
        return NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
            FileContents.read(path, limit: 4096)
        }
        .map { [self] text in judge(text) }
        .recover { [label] error in .failure("\(label): \(error)") }
    }

    /// keepalived reads a missing or unreadable file, or one without a leading integer, as 0.
    func judge(_ text: String?) -> ProbeOutcome {
        let value = text.flatMap(FileProbe.parseValue) ?? 0
        if check.weight == 0 { return value == 0 ? .success() : .failure("\(label): value \(value)") }
        let delta = value * check.weight * (check.reverse ? -1 : 1)
        let weight = baseWeight + delta
        guard weight > 0 else { return .failure("\(label): value \(value) makes the weight \(weight)") }
        return check.dynamic ? .success(weight: min(weight, RealServer.maximumWeight)) : .success()
    }

    /// The leading integer of the file, as keepalived reads it (strtol), bounded to ±2^31; `nil` when there is
    /// none. (Our own: Notifier's `TrackFile` limits values to VRRP's ±253, real servers take ±2^31.)
    static func parseValue(_ text: String) -> Int? {
        let trimmed = text.drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        var digits = trimmed.prefix { $0 == "-" || $0 == "+" || $0.isASCII && $0.isNumber }
        if digits.dropFirst().contains(where: { $0 == "-" || $0 == "+" }) { return nil }
        if digits.first == "+" { digits = digits.dropFirst() }
        guard let value = Int(digits), abs(value) <= 1 << 31 else { return nil }
        return value
    }
}

/// MISC_CHECK: runs `misc_path` with `misc_timeout` (default `delay_loop`). Exit 0 passes; with
/// `misc_dynamic` 2–255 passes with weight code − 2 and 1 fails; without it any non-zero status fails.
struct MiscProbe: HealthProbe {
    let command: Config.ScriptCommand
    let check: MiscCheck
    let timeout: Duration
    let scripts: any ProbeScriptRunning

    var label: String { "MISC_CHECK \(check.path)" }

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        scripts.runCheckScript(command, timeout: timeout, on: loop).map { [self] in judge($0) }
    }

    func judge(_ result: ProbeScriptResult) -> ProbeOutcome {
        switch result {
        case .exited(0): .success()
        case .exited(let code) where check.dynamic && (2...255).contains(code): .success(weight: Int(code) - 2)
        case .exited(let code): .failure("\(label): exit status \(code)")
        case .signalled(let signal): .failure("\(label): killed by signal \(signal)")
        case .timedOut: .failure("\(label): timed out after \(timeout.secondsText)")
        case .failedToStart(let why): .failure("\(label): \(why)")
        }
    }
}
