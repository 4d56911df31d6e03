#if canImport(Glibc)
    import Glibc
#endif

/// Threads of a worker's own, outside NIO: the receivers' poll loops (VRRP, process monitor, `PollThread`), and short
/// ones whose namespace changes must not touch the event loop's thread.
public enum WorkerThread {
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Runs `body` on a new thread; `join`: waits for it to end. Returns the `pthread_create` error, 0 on success.
    /// The corresponding C calls are `pthread_create` and `pthread_join` / `pthread_detach`.
    @discardableResult
    public static func run(join: Bool = false, _ body: @escaping @Sendable () -> Void) -> Int32 {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Body(body))
        let created = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box.toOpaque())
        guard created == 0 else {
            box.release()
            return created
        }
        if join { pthread_join(thread, nil) } else { pthread_detach(thread) }
        return 0
    }
}

/// A pipe that interrupts a poll thread (a socket added, a stop): `reader` goes in the poll set.
public struct WakePipe: Sendable {
    public let reader: Int32
    private let writer: Int32

    /// Non-blocking and close-on-exec. The corresponding C call is `pipe`.
    public init() {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        for end in ends {
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        reader = ends[0]
        writer = ends[1]
    }

    public func wake() {
        var one: UInt8 = 1
        _ = write(writer, &one, 1)
    }

    /// Empties the pipe after a wake-up.
    public func drain() {
        var drained = [UInt8](repeating: 0, count: 64)
        _ = read(reader, &drained, drained.count)
    }

    public func close() {
        _ = Glibc.close(reader)
        _ = Glibc.close(writer)
    }
}
