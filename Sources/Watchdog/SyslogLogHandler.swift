import CVigilShim
import Logging
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler that writes to syslog(3) (ident `vigild`, the facility from `-S`).
public struct SyslogLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) {
        self.label = label
    }

    /// Opens syslog once per process. The corresponding C call is `openlog`.
    /// - Parameter facility: `-S`: 0 to 7 for local0 to local7.
    public static func open(facility: Int) {
        cvigil_openlog(Int32((16 + facility) << 3))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let priority: Int32
        switch event.level {
        case .trace, .debug: priority = LOG_DEBUG
        case .info: priority = LOG_INFO
        case .notice: priority = LOG_NOTICE
        case .warning: priority = LOG_WARNING
        case .error: priority = LOG_ERR
        case .critical: priority = LOG_CRIT
        }
        LogWriter.shared.enqueue(.syslog(priority, "\(label): \(event.message)"))
    }
}

/// Writes the process's log lines on a thread of its own, so the thread that logs never waits on the log: a slow
/// console (a full pipe, a starved disk) or a busy syslog would otherwise hold a worker's engine in one task long
/// enough for the watchdog to take it for hung. Lines are formatted (and time-stamped) when logged; past
/// `limit` lines waiting, new ones are counted and dropped, and the count is logged when the writer catches up.
/// What is queued is written at `exit` too.
final class LogWriter: Sendable {
    enum Line: Sendable {
        case console(String)
        case syslog(Int32, String)
    }

    static let shared = LogWriter()
    static let limit = 10_000
    private let state = Mutex<(lines: [Line], dropped: Int, started: Bool)>(([], 0, false))
    /// Held while lines taken off the queue are written, by the writer thread or by `flush`: lines the thread has
    /// taken are in neither the queue nor the output until it lets go, so `flush` at exit waits for them.
    private let writing = Mutex<Void>(())
    private let wake = eventfd(0, Int32(EFD_CLOEXEC))

    func enqueue(_ line: Line) {
        let (signal, start) = state.withLock { state -> (Bool, Bool) in
            guard state.lines.count < Self.limit else {
                state.dropped += 1
                return (false, false)
            }
            state.lines.append(line)
            let start = !state.started
            state.started = true
            return (state.lines.count == 1, start)
        }
        if start { startThread() }
        if signal {
            var one: UInt64 = 1
            _ = Glibc.write(wake, &one, 8)
        }
    }

    /// Writes what is queued, on the calling thread (at exit), after what the writer thread is writing. It waits for
    /// the thread at most `exitWait`: a log that takes no more lines (a full pipe nobody reads, a stalled syslog) must
    /// not keep the process from exiting.
    func flush() {
        let deadline = monotonicNanoseconds() + Self.exitWait
        while monotonicNanoseconds() < deadline {
            if writing.withLockIfAvailable({ _ in writeQueued() }) != nil { return }
            usleep(1_000)
        }
        writeQueued()
    }

    static let exitWait: Int64 = 5_000_000_000

    private func writeQueued() {
        let (lines, dropped) = take()
        write(lines, dropped: dropped)
    }

    private func take() -> ([Line], Int) {
        state.withLock { state in
            defer {
                state.lines = []
                state.dropped = 0
            }
            return (state.lines, state.dropped)
        }
    }

    private func write(_ lines: [Line], dropped: Int) {
        for line in lines {
            switch line {
            case .console(let text): try? Syscalls.writeAll(2, text, path: "standard error")
            case .syslog(let priority, let text): cvigil_syslog(priority, text)
            }
        }
        if dropped > 0 {
            let text = "vigild: \(dropped) log lines dropped: the log could not keep up"
            try? Syscalls.writeAll(2, text + "\n", path: "standard error")
            cvigil_syslog(LOG_WARNING, text)
        }
    }

    private func startThread() {
        atexit { LogWriter.shared.flush() }
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { _ in
                LogWriter.shared.run()
                return nil
            }, nil)
        if created == 0 { pthread_detach(thread) }
    }

    private func run() {
        while true {
            var value: UInt64 = 0
            if read(wake, &value, 8) < 0 && errno != EINTR { return }
            writing.withLock { _ in writeQueued() }
        }
    }
}

/// The console half of the log: swift-log's own format, written by `LogWriter`.
struct ConsoleLogStream: TextOutputStream, Sendable {
    mutating func write(_ string: String) { LogWriter.shared.enqueue(.console(string)) }
}

/// Logging for `vigild` and its workers: syslog always, the console with `-l`, debug detail with `-D`.
public enum DaemonLogging {
    public static func bootstrap(_ options: DaemonOptions) {
        SyslogLogHandler.open(facility: options.logFacility)
        let level: Logger.Level = options.logDetail ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handlers: [any LogHandler] = [SyslogLogHandler(label: label)]
            if options.logConsole {
                handlers.append(StreamLogHandler(label: label, stream: ConsoleLogStream(), metadataProvider: nil))
            }
            var handler = MultiplexLogHandler(handlers)
            handler.logLevel = level
            return handler
        }
    }
}
