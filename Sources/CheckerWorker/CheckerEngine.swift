import Dispatch
import Logging
import WorkerIPC

/// The checker worker's engine. Placeholder until the checkers land: reports every configured virtual server
/// in its initial state.
public final class CheckerEngine: WorkerEngine, @unchecked Sendable {
    private let queue = DispatchQueue(label: "checker-engine")
    private let reporter: WorkerReporter
    private let logger: Logger
    private var state = WorkerState()

    public init(reporter: WorkerReporter, logger: Logger) {
        self.reporter = reporter
        self.logger = logger
    }

    public func execute(_ body: @escaping @Sendable () -> Void) { queue.async(execute: body) }

    public func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        state = WorkerState.initial(configuration)
        logger.info("configured: \(state.virtualServers.count) virtual servers")
        reporter.report(state)
    }

    public func dump() -> String { state.dumpText }

    public func statistics() -> String { "" }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) { done() }
}
