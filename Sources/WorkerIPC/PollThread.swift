import CVigilShim
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A thread that waits on descriptors a NIO event loop cannot watch (raw sockets read with `recvmsg` for their
/// control messages, a netlink monitor) and hands the ready ones to a handler, which reads them and passes what it
/// read to the engine's loop. The VRRP and BFD workers' receivers run on it.
///
/// The set of descriptors is asked for anew after every wake-up, so adding one takes a `wake()`; `stop()` ends the
/// thread at its next wake-up. The handler and the descriptor source run on the thread only.
public final class PollThread: Sendable {
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let stopped = Atomic<Bool>(false)

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name (15 characters at most), as `ps -L` shows it.
    ///   - descriptors: the descriptors to wait on now.
    ///   - ready: called with those that are readable (or in error).
    public init(
        name: String, descriptors: @escaping @Sendable () -> [Int32], ready: @escaping @Sendable ([Int32]) -> Void
    ) {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        for end in ends {
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wakeReader = ends[0]
        wakeWriter = ends[1]
        let context = Unmanaged.passRetained(
            Context(thread: self, name: name, descriptors: descriptors, ready: ready))
        var thread = pthread_t()
        _ = pthread_create(
            &thread, nil,
            { argument in
                let context = Unmanaged<Context>.fromOpaque(argument!).takeRetainedValue()
                _ = cvigil_set_thread_name(String(context.name.prefix(15)))
                context.thread.run(context.descriptors, context.ready)
                return nil
            }, context.toOpaque())
        pthread_detach(thread)
    }

    private final class Context: Sendable {
        let thread: PollThread
        let name: String
        let descriptors: @Sendable () -> [Int32]
        let ready: @Sendable ([Int32]) -> Void

        init(
            thread: PollThread, name: String, descriptors: @escaping @Sendable () -> [Int32],
            ready: @escaping @Sendable ([Int32]) -> Void
        ) {
            self.thread = thread
            self.name = name
            self.descriptors = descriptors
            self.ready = ready
        }
    }

    /// Interrupts the wait: the descriptors are asked for again.
    public func wake() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)
    }

    /// Ends the thread at its next wake-up (now).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        wake()
    }

    private func run(_ descriptors: @Sendable () -> [Int32], _ ready: @Sendable ([Int32]) -> Void) {
        while !stopped.load(ordering: .acquiring) {
            let current = descriptors()
            var polled = [pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0)]
            polled += current.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&polled, nfds_t(polled.count), -1) > 0 else { continue }
            if polled[0].revents != 0 {
                var drained = [UInt8](repeating: 0, count: 64)
                _ = read(wakeReader, &drained, drained.count)
            }
            let readable = polled.dropFirst().filter { $0.revents != 0 }.map(\.fd)
            if !readable.isEmpty { ready(readable) }
        }
    }
}
