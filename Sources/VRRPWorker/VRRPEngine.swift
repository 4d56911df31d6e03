import Dispatch
import Logging
import WorkerIPC

/// The VRRP worker's engine. Placeholder until the socket layer lands: reports every configured instance
/// in its initial state.
public final class VRRPEngine: WorkerEngine, @unchecked Sendable {
    private let queue = DispatchQueue(label: "vrrp-engine")
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
        logger.info("configured: \(state.vrrpInstances.count) VRRP instances")
        reporter.report(state)
    }

    public func dump() -> String { state.dumpText }

    public func statistics() -> String { "" }

    public func stop(release: Bool, done: @escaping @Sendable () -> Void) { done() }
}
