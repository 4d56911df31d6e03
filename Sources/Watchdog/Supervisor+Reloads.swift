import Config
import Logging
import Notifier

#if canImport(Glibc)
    import Glibc
#endif

/// `reload_time_file`: the file last read (its identity, to see it change) and the reload it scheduled.
struct ReloadTimeMonitor {
    /// The `reload_time_file` being watched.
    var path: String?
    /// Inode, modification time and size at the last read; nil: missing.
    var seen: [Int]?
    /// The scheduled reload, seconds since the epoch; `dateGiven`: the line named a date.
    var due: (seconds: Int64, dateGiven: Bool)?
    /// Read the file at the next tick even if it looks unchanged (after a scheduled reload with `reload_repeat`).
    var stale = true
}

extension Supervisor {
    // MARK: reload_file

    /// `reload_file`'s path: as given, or the main pid file's name with `.reload` for `.pid` (keepalived's
    /// `keepalived.reload` beside `keepalived.pid`).
    var reloadFilePath: String? {
        switch loaded.config.globalDefs.reloadFile {
        case nil: return nil
        case .path(let path)?: return path
        case .besidePidFile?:
            let pidFile = options.pidFile
            return (pidFile.hasSuffix(".pid") ? String(pidFile.dropLast(4)) : pidFile) + ".reload"
        }
    }

    /// Creates (or empties) the `reload_file` before a reload reads the configuration, mode 0644 whatever the
    /// umask, as keepalived does.
    func createReloadFile(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            logger.error("cannot create the reload_file \(path): \(String(cString: strerror(errno)))")
            return
        }
        fchmod(fd, 0o644)
        close(fd)
    }

    // MARK: config_save_dir

    /// `config_save_dir DIR` (the running configuration's): before (`pre`) and after (`post`) each reload it applies,
    /// writes `DIR/vigild.PID.N.STAGE` with the configuration as read (`vigild -d`) and the daemon's status, as
    /// keepalived's processes write `keepalived_vrrp.PID.N.pre` and its data dump. DIR is made if missing (mode 0700;
    /// its parent must exist).
    func saveConfiguration(stage: String) {
        if stage == "pre" { reloadsSaved += 1 }
        guard let directory = loaded.config.globalDefs.configSaveDir else { return }
        var info = stat()
        if stat(directory, &info) != 0 && mkdir(directory, 0o700) != 0 {
            logger.error("config_save_dir \(directory): \(String(cString: strerror(errno)))")
            return
        }
        let path = "\(directory)/vigild.\(getpid()).\(reloadsSaved).\(stage)"
        let text =
            "# \(options.configFile) as read\n\(ConfigPrinter.render(loaded.tree.nodes))\n# status\n"
            + status().rendered + "\n"
        do {
            try Syscalls.writeNewFile(path, text)
        } catch {
            logger.error("config_save_dir: \(error)")
        }
    }

    // MARK: reload_check_config

    /// `reload_check_config FILE`: checks `candidate` as `vigild -t` does, writes the check to FILE (emptied first),
    /// and returns why the reload must not go on, or nil when the check passed.
    func checkBeforeReload(_ candidate: LoadedConfig, log: String) -> String? {
        var checking = options
        checking.configTest = true
        var lines: [String] = []
        let status = ConfigTest.check(candidate, checking, lines: { lines.append($0) })
        do {
            try Syscalls.replaceFileContents(log, lines.map { $0 + "\n" }.joined())
        } catch {
            logger.error("reload_check_config: \(error)")
        }
        guard status != 0 else { return nil }
        for line in lines.dropLast() { logger.error("reload_check_config: \(line)") }
        return "the new configuration failed validation (exit status \(status)), see \(log) for details; "
            + "still running the previous configuration"
    }

    // MARK: reload_time_file

    /// Looks at the `reload_time_file` (at every tick of the watchdog's loop: a second at most), schedules or
    /// cancels the reload it names, and reloads when it is due.
    func reloadTimeFileTick() {
        let globals = loaded.config.globalDefs
        if reloadTime.path != globals.reloadTimeFile {
            if reloadTime.due != nil { logger.info("reload_time_file: cancelling the scheduled reload") }
            reloadTime = ReloadTimeMonitor(path: globals.reloadTimeFile)
        }
        guard let path = reloadTime.path else { return }
        var status = stat()
        let seen: [Int]? =
            stat(path, &status) == 0
            ? [Int(status.st_ino), Int(status.st_mtim.tv_sec), Int(status.st_mtim.tv_nsec), Int(status.st_size)]
            : nil
        if seen != reloadTime.seen || reloadTime.stale {
            reloadTime.seen = seen
            reloadTime.stale = false
            readReloadTimeFile(path, exists: seen != nil)
        }
        guard let due = reloadTime.due, Int64(time(nil)) >= due.seconds else { return }
        reloadTime.due = nil
        if !globals.reloadRepeat || due.dateGiven {
            unlink(path)
        } else {
            reloadTime.stale = true
        }
        logger.info("reload_time_file \(path): reloading as scheduled")
        _ = reload()
    }

    /// When the scheduled reload is due on the monotonic clock, to wake the loop for it.
    func reloadTimeWakeAt(now: Int64) -> Int64? {
        guard let due = reloadTime.due else { return nil }
        return now + max(0, due.seconds - Int64(time(nil))) * 1_000_000_000
    }

    private func readReloadTimeFile(_ path: String, exists: Bool) {
        let previous = reloadTime.due
        reloadTime.due = nil
        guard exists, let text = FileContents.read(path, limit: 64) else {
            if previous != nil { logger.info("reload_time_file \(path) is gone: cancelling the scheduled reload") }
            return
        }
        let line = String(text.prefix { $0 != "\n" })
        guard let wanted = ReloadTime(line) else {
            logger.warning("reload_time_file \(path): '\(line)' is not HH:MM:SS or [YY]YY-MM-DD HH:MM:SS[Z]; ignored")
            return
        }
        let now = Int64(time(nil))
        switch wanted.schedule(
            now: now, today: Self.calendarTime(now, utc: wanted.utc),
            seconds: { Self.epochSeconds($0, utc: wanted.utc) })
        {
        case .invalid:
            logger.warning("reload_time_file \(path): '\(line)' is not a valid time; ignored")
        case .past:
            logger.warning("reload_time_file \(path): '\(line)' is in the past; ignored")
        case .at(let seconds, let dateGiven):
            reloadTime.due = (seconds, dateGiven)
            let when = Self.formatted(seconds)
            if previous?.seconds != seconds { logger.info("reload_time_file \(path): reload scheduled for \(when)") }
        }
    }

    /// `now` as a calendar time, in UTC or the local zone.
    static func calendarTime(_ seconds: Int64, utc: Bool) -> CalendarTime {
        var clock = time_t(seconds)
        var parts = tm()
        if utc { gmtime_r(&clock, &parts) } else { localtime_r(&clock, &parts) }
        return calendarTime(parts)
    }

    static func calendarTime(_ parts: tm) -> CalendarTime {
        CalendarTime(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
            hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec))
    }

    /// The corresponding C calls are `timegm` and `mktime` (daylight saving time decided by the zone).
    static func epochSeconds(_ time: CalendarTime, utc: Bool) -> (seconds: Int64, normalized: CalendarTime) {
        var parts = tm()
        parts.tm_year = Int32(time.year - 1900)
        parts.tm_mon = Int32(time.month - 1)
        parts.tm_mday = Int32(time.day)
        parts.tm_hour = Int32(time.hour)
        parts.tm_min = Int32(time.minute)
        parts.tm_sec = Int32(time.second)
        parts.tm_isdst = -1
        let seconds = utc ? timegm(&parts) : mktime(&parts)
        return (Int64(seconds), calendarTime(parts))
    }

    /// Local `YYYY-MM-DD HH:MM:SS`, for the log.
    static func formatted(_ seconds: Int64) -> String {
        let time = calendarTime(seconds, utc: false)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(time.year)-\(two(time.month))-\(two(time.day)) \(two(time.hour)):\(two(time.minute)):"
            + two(time.second)
    }
}
