import Config
import Synchronization
import WorkerIPC

/// A configuration read on a thread of its own (`Supervisor.loadCandidate`): the watchdog's loop polls `wake` and
/// takes `result` once it is there. The thread is detached: when vigild stops before the read is over (an include
/// that never ends), it is left to the process's exit.
final class ConfigurationRead: Sendable {
    /// Readable once the result is there.
    let wake = WakePipe()
    private let loaded = Mutex<LoadedConfig?>(nil)

    init(_ read: @escaping @Sendable () -> LoadedConfig) {
        WorkerThread.run { [self] in
            let result = read()
            loaded.withLock { $0 = result }
            wake.wake()
        }
    }

    /// The configuration read, once the thread is done.
    var result: LoadedConfig? { loaded.withLock { $0 } }

    /// Closes the wake pipe (after `result` was taken).
    func close() { wake.close() }
}
