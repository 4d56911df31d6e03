import CVigilShim
import Config
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How a program ended.
public enum ScriptResult: Hashable, Sendable {
    /// It exited with this status.
    case exited(Int32)
    /// A signal it did not catch ended it (not one of ours).
    case signalled(Int32)
    /// It ran past its timeout and was terminated (TERM to its process group, KILL 1 s later).
    case timedOut
    /// It never ran: not found, not executable, spawn failed.
    case failedToStart(String)

    /// keepalived's success: exit status 0.
    public var succeeded: Bool { self == .exited(0) }
}

/// Runs programs as child processes without blocking anyone's event loop.
///
/// Each program is started with posix_spawn (no Swift between fork and exec) in its own process group,
/// with stdin, stdout and stderr on /dev/null, an empty signal mask and default signal handlers. To run
/// as another user it execs util-linux's `setpriv --reuid --regid --groups` first (keepalived's
/// setgid, setgroups, setuid in the same order), since posix_spawn cannot change identity.
///
/// Children are waited for without a thread per child: each one's pidfd (pidfd_open(2), Linux ≥ 5.3)
/// is watched by one process-wide reaper thread in poll(2), which reaps exactly that pid — never
/// `waitpid(-1)`, so children started by anyone else in the process are left alone.
public final class ScriptRunner: Sendable {
    /// Time between TERM and KILL on a timeout.
    public static let killGrace: Duration = .seconds(1)

    private let identity: ScriptIdentity
    private let logger: Logger
    private let children = Mutex<[Int32: RunningScript]>([:])
    private let isShutDown = Mutex(false)
    /// The thread that waits for children, or why it could not be started (then no script can run).
    private let reaper: Result<ChildReaper, ScriptRunnerError>

    public convenience init(identity: ScriptIdentity, logger: Logger) {
        self.init(identity: identity, logger: logger, reaper: ChildReaper.shared)
    }

    init(identity: ScriptIdentity, logger: Logger, reaper: Result<ChildReaper, ScriptRunnerError>) {
        self.identity = identity
        self.logger = logger
        self.reaper = reaper
    }

    /// Starts `command` and completes on `loop` when it ends.
    /// - Parameters:
    ///   - environment: variables set on top of this process's environment.
    ///   - timeout: after this, TERM to the program's process group, KILL one second later.
    public func run(
        _ command: ScriptCommand, environment: [String: String] = [:], timeout: Duration?,
        on loop: any EventLoop
    ) -> EventLoopFuture<ScriptResult> {
        run(command, as: identity, environment: environment, timeout: timeout, on: loop)
    }

    /// Starts `command` as `identity` rather than the runner's (a script configured with its own
    /// `USER [GROUP]`, see `ScriptIdentity.resolve(for:scriptUser:)`), and completes on `loop`.
    public func run(
        _ command: ScriptCommand, as identity: ScriptIdentity, environment: [String: String] = [:],
        timeout: Duration?, on loop: any EventLoop
    ) -> EventLoopFuture<ScriptResult> {
        let promise = loop.makePromise(of: ScriptResult.self)
        if isShutDown.withLock({ $0 }) {
            promise.succeed(.failedToStart("script '\(command.program)': runner shut down"))
            return promise.futureResult
        }
        let reaper: ChildReaper
        switch self.reaper {
        case .success(let running): reaper = running
        case .failure(let error):
            let reason = "script '\(command.program)': \(error)"
            logger.error("\(reason)")
            promise.succeed(.failedToStart(reason))
            return promise.futureResult
        }
        let path: String
        let argv: [String]
        switch Self.launch(command, as: identity, environment: environment) {
        case .ready(let program, let arguments):
            (path, argv) = (program, arguments)
        case .failed(let reason, let isMissing):
            if isMissing { logger.warning("\(reason)") } else { logger.error("\(reason)") }
            promise.succeed(.failedToStart(reason))
            return promise.futureResult
        }
        let pid: pid_t
        switch Self.spawn(path: path, arguments: argv, environment: environment) {
        case .success(let spawned): pid = spawned
        case .failure(let reason):
            let message = "script '\(command.program)': \(reason)"
            logger.error("\(message)")
            promise.succeed(.failedToStart(message))
            return promise.futureResult
        }
        let pidfd = cvigil_pidfd_open(pid)
        guard pidfd >= 0 else {
            let reason = "script '\(command.program)': pidfd_open: \(String(cString: strerror(errno)))"
            logger.error("\(reason)")
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            promise.succeed(.failedToStart(reason))
            return promise.futureResult
        }
        let child = RunningScript(pid: pid)
        children.withLock { $0[pid] = child }
        let timer = timeout.map { timeout in
            loop.scheduleTask(in: .init(timeout)) {
                guard child.signalGroup(SIGTERM, markTimedOut: true) else { return }
                loop.scheduleTask(in: .init(Self.killGrace)) { _ = child.signalGroup(SIGKILL, markTimedOut: false) }
            }
        }
        let logger = self.logger
        let program0 = command.program
        reaper.watch(pidfd: pidfd) { [self] in
            let result = child.reap()
            self.children.withLock { _ = $0.removeValue(forKey: pid) }
            timer?.cancel()
            if result == .timedOut { logger.warning("script '\(program0)' timed out and was killed") }
            promise.succeed(result)
        }
        return promise.futureResult
    }

    /// What to exec for `command` run as `identity`: the program found in `PATH` (the environment's, else this
    /// process's), through util-linux's `setpriv` when the identity is not this process's.
    enum Launch {
        case ready(path: String, arguments: [String])
        /// Why not; `isMissing` when the program itself was not found (a warning, not an error).
        case failed(String, isMissing: Bool)
    }

    static func launch(_ command: ScriptCommand, as identity: ScriptIdentity, environment: [String: String]) -> Launch {
        let searchPath =
            environment["PATH"] ?? getenv("PATH").map { String(cString: $0) } ?? ScriptCommand.defaultSearchPath
        guard
            let program = command.resolvedProgram(searchPath: searchPath, isExecutable: { access($0, X_OK) == 0 })
        else {
            return .failed("script '\(command.program)': not found or not executable", isMissing: true)
        }
        let argv = [program] + command.arguments.dropFirst()
        guard identity.uid != geteuid() || identity.gid != getegid() else {
            return .ready(path: program, arguments: argv)
        }
        let wrappers: [String] = ["/usr/bin/setpriv", "/bin/setpriv"]
        guard let setpriv = wrappers.first(where: { access($0, X_OK) == 0 }) else {
            return .failed(
                "script '\(command.program)': setpriv not found, cannot run as \(identity.userName)", isMissing: false)
        }
        return .ready(
            path: setpriv,
            arguments: [
                "setpriv", "--reuid=\(identity.uid)", "--regid=\(identity.gid)", "--groups=\(identity.gid)", "--",
            ] + argv)
    }

    /// Runs `command` as `identity` and waits for it on the calling thread, at most `timeout` (then TERM to its
    /// process group, KILL `killGrace` later): for a caller with no event loop, as the watchdog's `startup_script`
    /// and `shutdown_script`, which keepalived's parent runs before it starts its children and after they stopped.
    public static func runAndWait(_ command: ScriptCommand, as identity: ScriptIdentity, timeout: Duration)
        -> ScriptResult
    {
        let path: String
        let argv: [String]
        switch launch(command, as: identity, environment: [:]) {
        case .ready(let program, let arguments): (path, argv) = (program, arguments)
        case .failed(let reason, _): return .failedToStart(reason)
        }
        let pid: pid_t
        switch spawn(path: path, arguments: argv, environment: [:]) {
        case .success(let spawned): pid = spawned
        case .failure(let reason): return .failedToStart("script '\(command.program)': \(reason)")
        }
        let child = RunningScript(pid: pid)
        let pidfd = cvigil_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        /// Waits up to `limit` for the child to end; true when it did. Without a pidfd, the caller's `waitpid` waits.
        func ended(within limit: Duration) -> Bool {
            guard pidfd >= 0 else { return true }
            let clock = ContinuousClock()
            let deadline = clock.now + limit
            while true {
                var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                let left = (deadline - clock.now).components
                let milliseconds = Int32(
                    clamping: max(0, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))
                let ready = poll(&descriptor, 1, milliseconds)
                if ready > 0 { return true }
                if ready == 0 || errno != EINTR { return false }
            }
        }
        if !ended(within: timeout) {
            _ = child.signalGroup(SIGTERM, markTimedOut: true)
            if !ended(within: killGrace) { _ = child.signalGroup(SIGKILL, markTimedOut: false) }
        }
        return child.reap()
    }

    /// Kills (SIGKILL to the process group) every program still running; later runs fail to start.
    public func shutdown() {
        isShutDown.withLock { $0 = true }
        for child in children.withLock({ Array($0.values) }) { _ = child.signalGroup(SIGKILL, markTimedOut: false) }
    }

    /// posix_spawn with our attributes; the pid or the reason it failed.
    static func spawn(path: String, arguments: [String], environment: [String: String]) -> SpawnOutcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // Other descriptors stay out of scripts because NIO and Vigil open everything close-on-exec.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        var flags = Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF) | Int16(POSIX_SPAWN_SETPGROUP)
        // A worker running SCHED_RR (`…_rt_priority`) starts its scripts with the normal scheduler, as keepalived.
        if sched_getscheduler(0) != SCHED_OTHER {
            var normal = sched_param(sched_priority: 0)
            posix_spawnattr_setschedpolicy(&attributes, SCHED_OTHER)
            posix_spawnattr_setschedparam(&attributes, &normal)
            flags |= Int16(POSIX_SPAWN_SETSCHEDULER)
        }
        posix_spawnattr_setflags(&attributes, flags)

        var variables: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        variables.merge(environment) { _, new in new }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for entry in envp { free(entry) } }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        // With transparent huge pages as vigild was started with, as under keepalived (vigild's own are off).
        let result = HugePages.asStarted { posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        guard result == 0 else { return .failure("posix_spawn \(path): \(String(cString: strerror(result)))") }
        return .success(pid)
    }

    enum SpawnOutcome {
        case success(pid_t)
        case failure(String)
    }
}

/// One started program: signals to its group and its reaping are serialised so that a signal never
/// reaches a reused process-group id.
final class RunningScript: Sendable {
    let pid: pid_t
    private let state = Mutex((reaped: false, timedOut: false))

    init(pid: pid_t) { self.pid = pid }

    /// Signals the process group unless the leader was reaped; `true` if sent.
    func signalGroup(_ signal: Int32, markTimedOut: Bool) -> Bool {
        state.withLock { state in
            guard !state.reaped else { return false }
            if markTimedOut { state.timedOut = true }
            kill(-pid, signal)
            return true
        }
    }

    /// Collects the exit status (the pidfd said it ended).
    func reap() -> ScriptResult {
        state.withLock { state in
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
            state.reaped = true
            if state.timedOut { return .timedOut }
            guard reaped == pid else { return .failedToStart("waitpid \(pid): \(String(cString: strerror(errno)))") }
            // WIFEXITED / WTERMSIG by hand: the macros do not import.
            let signal = status & 0x7f
            return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        }
    }
}

/// Why scripts cannot run at all in this process.
public struct ScriptRunnerError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The process-wide thread that waits, in poll(2), for the pidfds of running scripts.
final class ChildReaper: Sendable {
    /// Started on first use; a failure (no descriptors for its pipe, no thread) fails every script run with the
    /// reason instead of stopping the worker.
    static let shared = Result { () throws(ScriptRunnerError) in try ChildReaper() }

    private let watched = Mutex<[Int32: @Sendable () -> Void]>([:])
    /// The pipe that wakes poll when a pidfd is added.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// - Throws: `ScriptRunnerError` naming the call that failed (`pipe`, `pthread_create`).
    init(pipe makePipe: (inout [Int32]) -> Int32 = { pipe(&$0) }) throws(ScriptRunnerError) {
        var fds: [Int32] = [0, 0]
        guard makePipe(&fds) == 0 else {
            throw ScriptRunnerError(message: "cannot wait for scripts: pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self)
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<ChildReaper>.fromOpaque(context!).takeRetainedValue().loop()
                return nil
            }, context.toOpaque())
        guard status == 0 else {
            context.release()
            close(wakeRead)
            close(wakeWrite)
            throw ScriptRunnerError(
                message: "cannot wait for scripts: pthread_create: \(String(cString: strerror(status)))")
        }
        pthread_detach(thread)
    }

    /// Calls `exited` on the reaper thread once `pidfd` is readable (the child ended), then closes it.
    func watch(pidfd: Int32, exited: @escaping @Sendable () -> Void) {
        watched.withLock { $0[pidfd] = exited }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func loop() {
        while true {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            fds += watched.withLock { $0.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }
            let count = poll(&fds, nfds_t(fds.count), -1)
            if count < 0 { continue }
            if fds[0].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 256)
                while read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            for entry in fds.dropFirst() where entry.revents != 0 {
                guard let exited = watched.withLock({ $0.removeValue(forKey: entry.fd) }) else { continue }
                close(entry.fd)
                exited()
            }
        }
    }
}

extension ScriptRunner {
    /// keepalived's `…_fifo_script` (`notify_fifo_script`, `vrrp_notify_fifo_script`, `lvs_notify_fifo_script`):
    /// started once, as its user (else `script_user`), with the FIFO's path appended, and left to read the FIFO for
    /// as long as it likes (no timeout); its end is logged.
    public func startFIFOScript(
        _ configured: Config.ScriptCommand, path: String, scriptUser: ScriptUser?, on loop: any EventLoop
    ) {
        var withPath = configured
        withPath.arguments.append(path)
        let logger = logger
        do {
            let command = try ScriptCommand(withPath)
            let identity = try ScriptIdentity.resolve(for: withPath, scriptUser: scriptUser)
            run(command, as: identity, timeout: nil, on: loop).whenSuccess { result in
                logger.info("notify fifo script \(command.program) for \(path) ended: \(result)")
            }
        } catch {
            logger.warning("notify fifo script for \(path): \(error)")
        }
    }
}
