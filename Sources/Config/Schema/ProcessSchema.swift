/// The `global_defs` keywords that shape the processes: scheduling, memory, names and the file mode mask.
enum ProcessSchema {
    typealias Global = Field<GlobalDefs>

    /// SCHED_RR's priorities on Linux (`sched_get_priority_min/max`).
    static let realtimePriorities = 1...99

    /// `…_rt_priority N`: keepalived clamps a number outside 1…99 to the nearest (with a message) and runs.
    static func realtimePriority(_ path: Global.Path<Int?>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let text = context.single(node) else { return }
            guard let value = context.integer(text, in: Int(Int32.min)...Int(Int32.max), for: node) else { return }
            let clamped = min(max(value, realtimePriorities.lowerBound), realtimePriorities.upperBound)
            if clamped != value {
                context.warning(
                    "'\(node.keyword)' \(value) is outside \(realtimePriorities.lowerBound)…"
                        + "\(realtimePriorities.upperBound); using \(clamped) (as keepalived)", at: node)
            }
            globals[keyPath: path] = clamped
        }
    }

    /// `…_rlimit_rttime MICROSECONDS` (1…2³²−1; keepalived raises 1 to 2, as the soft limit is half).
    static func rlimitRTTime(_ path: Global.Path<Int>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let value = context.integer(node, in: 1...Int(UInt32.max)) else { return }
            globals[keyPath: path] = max(value, 2)
        }
    }

    /// `…_cpu_affinity CPU…`: CPU numbers (checked against the CPUs online when the worker applies them).
    static func cpuAffinity(_ path: Global.Path<[Int]>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let words = context.arguments(node, count: 1...1024) else { return }
            var cpus: [Int] = []
            for word in words {
                guard let cpu = context.integer(word, in: 0...1023, for: node, what: "a CPU number") else { return }
                if !cpus.contains(cpu) { cpus.append(cpu) }
            }
            globals[keyPath: path] = cpus
        }
    }

    /// `…process_name NAME`: the kernel keeps 15 bytes; keepalived cuts a longer name with a message.
    static func processName(_ path: Global.Path<String?>) -> Global.Handler {
        { globals, node, context in
            guard context.noBlock(node), let name = context.single(node) else { return }
            guard !name.isEmpty else {
                context.error("'\(node.keyword)' needs a name", at: node)
                return
            }
            var bytes = Array(name.utf8)
            if bytes.count > 15 {
                bytes = Array(bytes.prefix(15))
                while String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
                let cut = String(decoding: bytes, as: UTF8.self)
                context.warning("'\(node.keyword)' '\(name)' is longer than 15 bytes; using '\(cut)'", at: node)
            }
            globals[keyPath: path] = String(decoding: bytes, as: UTF8.self)
        }
    }

    /// `umask MODE`: a number (`022`, `0x12`, as strtol with base 0 reads it) or permission names joined by `|`
    /// (`IWGRP | IWOTH`).
    static let umask: Global.Handler = { globals, node, context in
        guard context.noBlock(node), let words = context.arguments(node, count: 1...64) else { return }
        if words.count == 1, let first = words[0].first, first.isNumber {
            guard let value = parseNumber(words[0]), value & ~0o777 == 0 else {
                context.error("invalid umask value '\(words[0])' (a mode from 0 to 0777)", at: node)
                return
            }
            globals.umask = value
            return
        }
        let names: [String: UInt32] = [
            "IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o040, "IWGRP": 0o020, "IXGRP": 0o010,
            "IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
        ]
        var mask: UInt32 = 0
        for part in words.joined().split(separator: "|", omittingEmptySubsequences: false) {
            guard let bit = names[String(part)] else {
                context.error(
                    "unknown umask bit '\(part)' (IRUSR, IWUSR, IXUSR, IRGRP, IWGRP, IXGRP, IROTH, IWOTH, IXOTH)",
                    at: node)
                return
            }
            mask |= bit
        }
        globals.umask = mask
    }

    /// strtol(3) with base 0: `0x` hexadecimal, a leading `0` octal, else decimal.
    static func parseNumber(_ text: String) -> UInt32? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt32(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0") && text.count > 1 { return UInt32(text.dropFirst(), radix: 8) }
        return UInt32(text)
    }
}
