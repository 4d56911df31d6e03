import CVigilShim
import Logging

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
        cvigil_syslog(priority, "\(label): \(event.message)")
    }
}

/// Logging for `vigild` and its workers: syslog always, the console with `-l`, debug detail with `-D`.
public enum DaemonLogging {
    public static func bootstrap(_ options: DaemonOptions) {
        SyslogLogHandler.open(facility: options.logFacility)
        let level: Logger.Level = options.logDetail ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handlers: [any LogHandler] = [SyslogLogHandler(label: label)]
            if options.logConsole {
                handlers.append(StreamLogHandler.standardError(label: label))
            }
            var handler = MultiplexLogHandler(handlers)
            handler.logLevel = level
            return handler
        }
    }
}
