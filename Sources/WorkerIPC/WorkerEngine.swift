import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What a worker role runs: the VRRP engine or the checker engine.
///
/// The worker runtime owns the IPC socket and the signal descriptor on the process's main thread; the
/// engine owns one event loop of its own. Every call below is made through `execute`, so it runs on
/// the engine's loop, and heartbeats are answered from that loop too: a wedged engine stops answering
/// and the watchdog kills and restarts it.
public protocol WorkerEngine: AnyObject, Sendable {
    /// Runs `body` on the engine's event loop.
    func execute(_ body: @escaping @Sendable () -> Void)
    /// Applies the first configuration (`isReload` false) or a reloaded one (true): only the difference.
    /// `configuration.savedState` is what the previous incarnation of this worker last reported.
    func apply(_ configuration: WorkerConfiguration, isReload: Bool)
    /// The text of the `SIGUSR1` data dump for this worker.
    func dump() -> String
    /// The text of the `SIGUSR2` statistics dump for this worker (`name value` lines).
    func statistics() -> String
    /// Stops the engine: releases VIPs / IPVS rules first when `release` is true, then calls `done`
    /// (the runtime exits right after). Must call `done` even when releasing fails.
    func stop(release: Bool, done: @escaping @Sendable () -> Void)
    /// The other worker's last state report, relayed by the watchdog (the checker engine gets the VRRP
    /// instances' states for `ha_suspend`).
    func peerStateChanged(_ state: WorkerState)
}

extension WorkerEngine {
    public func peerStateChanged(_ state: WorkerState) {}
}

/// How an engine talks back to the watchdog. Thread-safe: engines call it from their loop, the runtime
/// from the main thread.
public final class WorkerReporter: @unchecked Sendable {
    private let socket: MessageSocket
    private let logger: Logger
    private var lock = pthread_mutex_t()

    public init(socket: MessageSocket, logger: Logger) {
        self.socket = socket
        self.logger = logger
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// Sends one message (frames of one message are never interleaved with another's).
    public func send(_ message: WorkerMessage) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        do {
            try socket.send(message)
        } catch {
            logger.error("cannot send to the watchdog: \(error)")
        }
    }

    /// Everything the worker owns now; the watchdog keeps the last one across restarts.
    public func report(_ state: WorkerState) { send(.state(state)) }

    /// A state change or other happening, for the watchdog's log.
    public func event(_ summary: String) { send(.event(WorkerEvent(summary: summary))) }
}

/// Makes the engine for a role; `vigild` passes one that knows every engine module.
public typealias WorkerEngineFactory = @Sendable (WorkerRole, WorkerReporter, Logger) -> WorkerEngine
