import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A `notify_fifo` writer that never blocks: lines nobody reads are dropped and counted.
///
/// The FIFO is created (mode 0600) if missing, opened `O_WRONLY | O_NONBLOCK` on the first line and
/// kept open. With no reader, open fails with ENXIO and the line is dropped; when the reader goes away
/// the write fails with EPIPE (SIGPIPE is ignored process-wide, as keepalived does), the descriptor is
/// closed and the line is retried once on a fresh open; a full pipe (EAGAIN) drops the line. Lines are
/// shorter than PIPE_BUF, so a write is all or nothing.
public final class NotifyFIFO: Sendable {
    public let path: String
    private let logger: Logger
    private let openFlags: Int32
    private let state = Mutex((fd: Int32(-1), written: 0, dropped: 0))

    /// - Parameters:
    ///   - owner: `notify_fifo FIFO [USER [GROUP]]`: who gets the FIFO when it is created here.
    ///   - keepsLinesForALateReader: open it read-write, as keepalived does: lines written while no reader has
    ///     it open wait in the pipe (up to its 64 KiB; then they are dropped) for the next reader — a
    ///     `…_fifo_script` started with the FIFO gets every line from the first.
    public init(path: String, owner: ScriptIdentity? = nil, keepsLinesForALateReader: Bool = false, logger: Logger) {
        self.path = path
        self.logger = logger
        openFlags = (keepsLinesForALateReader ? O_RDWR : O_WRONLY) | O_NONBLOCK | O_CLOEXEC
        signal(SIGPIPE, SIG_IGN)
        var info = stat()
        guard stat(path, &info) != 0 && errno == ENOENT else { return }
        guard mkfifo(path, 0o600) == 0 else {
            logger.error("notify fifo \(path): mkfifo: \(String(cString: strerror(errno)))")
            return
        }
        if let owner, chown(path, owner.uid, owner.gid) != 0 {
            logger.error("notify fifo \(path): chown to \(owner.userName): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Lines written so far.
    public var writtenLines: Int { state.withLock { $0.written } }
    /// Lines dropped (no reader, full pipe, errors).
    public var droppedLines: Int { state.withLock { $0.dropped } }

    /// Writes `line` (a newline is added if missing) or drops it; never blocks.
    public func write(_ line: String) {
        let text = line.hasSuffix("\n") ? line : line + "\n"
        let bytes = Array(text.utf8)
        let path = self.path
        let openFlags = self.openFlags
        let failure: String? = state.withLock { state in
            for attempt in 0..<2 {
                if state.fd < 0 {
                    let fd = open(path, openFlags)
                    guard fd >= 0 else {
                        let code = errno
                        state.dropped += 1
                        // ENXIO: no reader yet — normal, not worth a log line each time.
                        return code == ENXIO ? nil : "open: \(String(cString: strerror(code)))"
                    }
                    state.fd = fd
                }
                var count: Int
                repeat { count = Glibc.write(state.fd, bytes, bytes.count) } while count < 0 && errno == EINTR
                if count == bytes.count {
                    state.written += 1
                    return nil
                }
                let code = errno
                if count < 0 && code == EPIPE && attempt == 0 {
                    close(state.fd)
                    state.fd = -1
                    continue
                }
                state.dropped += 1
                if count < 0 && code == EAGAIN { return "reader too slow, line dropped" }
                return count < 0 ? "write: \(String(cString: strerror(code)))" : "short write, line cut"
            }
            state.dropped += 1
            return "no reader"
        }
        if let failure { logger.warning("notify fifo \(path): \(failure)") }
    }
}
