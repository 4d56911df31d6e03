import CVigilShim
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A thread that waits on descriptors a NIO event loop cannot watch (raw sockets read with `recvmsg` for their
/// control messages, a netlink monitor) and hands the ready ones to a handler, which reads them and passes what it
/// read to the engine's loop. The BFD worker's receiver runs on it.
///
/// The set of descriptors is asked for anew after every wake-up, so adding one takes a `wake()`; `stop()` ends the
/// thread at its next wake-up. The handler and the descriptor source run on the thread only.
public final class PollThread: Sendable {
    private let wakePipe = WakePipe()
    private let stopped = Atomic<Bool>(false)

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name (15 characters at most), as `ps -L` shows it.
    ///   - descriptors: the descriptors to wait on now.
    ///   - ready: called with those that are readable (or in error).
    public init(
        name: String, descriptors: @escaping @Sendable () -> [Int32], ready: @escaping @Sendable ([Int32]) -> Void
    ) {
        WorkerThread.run { [self] in
            _ = cvigil_set_thread_name(String(name.prefix(15)))
            run(descriptors, ready)
        }
    }

    /// Interrupts the wait: the descriptors are asked for again.
    public func wake() { wakePipe.wake() }

    /// Ends the thread at its next wake-up (now).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        wake()
    }

    private func run(_ descriptors: @Sendable () -> [Int32], _ ready: @Sendable ([Int32]) -> Void) {
        while !stopped.load(ordering: .acquiring) {
            let current = descriptors()
            var polled = [pollfd(fd: wakePipe.reader, events: Int16(POLLIN), revents: 0)]
            polled += current.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&polled, nfds_t(polled.count), -1) > 0 else { continue }
            if polled[0].revents != 0 { wakePipe.drain() }
            let readable = polled.dropFirst().filter { $0.revents != 0 }.map(\.fd)
            if !readable.isEmpty { ready(readable) }
        }
    }
}
