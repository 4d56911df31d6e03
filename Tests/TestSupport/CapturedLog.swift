import Logging
import Synchronization

/// Collects log messages so tests can assert what was reported.
public final class CapturedLog: Sendable {
    public let messages = Mutex<[String]>([])

    public init() {}

    /// A logger whose every message (at any level) lands here as "LEVEL: MESSAGE".
    public var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(log: self) }
    }

    public var all: [String] { messages.withLock { $0 } }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.messages.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}
