import BFDWorker
import CheckerWorker
import Logging
import VRRPWorker
import WorkerIPC

/// The engine each worker role runs.
enum EngineFactory {
    static let make: WorkerEngineFactory = { role, reporter, logger in
        switch role {
        case .vrrp: VRRPEngine(reporter: reporter, logger: logger)
        case .checker: CheckerEngine(reporter: reporter, logger: logger)
        case .bfd: BFDEngine(reporter: reporter, logger: logger)
        }
    }
}
