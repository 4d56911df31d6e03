import Synchronization
import WorkerIPC

/// Work the watchdog's loop must not wait for, on a thread of its own: a configuration read
/// (`Supervisor.loadCandidate`), the IPVS rules of a start (`Supervisor.beginStartRules`). The loop polls `wake` and
/// takes `result` once it is there. The thread is detached: when vigild stops before the work is over (an include
/// that never ends), it is left to the process's exit.
final class ThreadResult<Value: Sendable>: Sendable {
    /// Readable once the result is there.
    let wake = WakePipe()
    private let value = Mutex<Value?>(nil)

    init(_ work: @escaping @Sendable () -> Value) {
        WorkerThread.run { [self] in
            let result = work()
            value.withLock { $0 = result }
            wake.wake()
        }
    }

    /// The result, once the thread is done.
    var result: Value? { value.withLock { $0 } }

    /// Closes the wake pipe (after `result` was taken).
    func close() { wake.close() }
}
