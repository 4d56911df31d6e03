import CVigilShim
import Config
import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `vigild` without `-t`/`-d`: detach unless `-n`, lock the pid file, then supervise the workers.
public enum Daemon {
    /// Runs the daemon; returns the process exit status.
    /// - Parameters:
    ///   - loaded: the configuration file as read (`options.loadConfiguration`), already checked and its problems
    ///     printed (`ConfigTest`).
    ///   - arguments: this process's command line (argv without argv[0]), re-used when detaching.
    ///   - errors: where messages go before logging is set up (stderr).
    ///   - startRules: writes the IPVS rules of the start while the checker worker starts (`StartRulesReport`).
    public static func run(
        _ options: DaemonOptions, hostName: String, loaded: consuming LoadedConfig, arguments: [String],
        errors: (String) -> Void, startRules: StartRulesProgram? = nil
    ) -> Int32 {
        guard loaded.isValid else {
            for diagnostic in loaded.diagnostics.errors { errors(diagnostic.description) }
            return 1
        }
        let options = options.resolvingPaths(for: loaded.config.globalDefs)
        do {
            try preparePidDirectory(options)
        } catch {
            errors("vigild: \(error)")
            return 1
        }
        if !options.dontFork && !options.detached {
            return detach(options, arguments: arguments, errors: errors)
        }
        DaemonLogging.bootstrap(options)
        let logger = Logger(label: "watchdog")
        applyProcessSettings(loaded.config.globalDefs, logger: logger)
        // Before any socket and any thread: the workers, the metrics listener and every netlink socket then live in
        // the namespace (keepalived's net_namespace). The control socket is a path, reachable from anywhere.
        if let namespace = loaded.config.globalDefs.netNamespace {
            guard cvigil_enter_net_namespace("/run/netns/\(namespace)") == 0 else {
                let why = String(cString: strerror(errno))
                logger.critical("cannot enter network namespace \(namespace) (/run/netns/\(namespace)): \(why)")
                if !options.logConsole { errors("vigild: cannot enter network namespace \(namespace): \(why)") }
                return 1
            }
            logger.info("running in network namespace \(namespace)")
        }
        if let refusal = InterfaceCheck.refusal(loaded.config, options) {
            logger.critical("\(refusal)")
            if !options.logConsole { errors("vigild: \(refusal)") }
            return 1
        }
        let pidFile: PidFile
        do {
            pidFile = try PidFile(path: options.pidFile, pid: getpid())
        } catch {
            logger.critical("\(error)")
            if !options.logConsole { errors("vigild: \(error)") }
            return 1
        }
        defer { pidFile.remove() }
        do {
            return try Supervisor(
                options: options, hostName: hostName, loaded: consume loaded, startRules: startRules
            ).run()
        } catch {
            logger.critical("\(error)")
            if !options.logConsole { errors("vigild: \(error)") }
            return 1
        }
    }

    /// Re-spawns this binary in a new session with stdio on /dev/null (`posix_spawn` with
    /// `POSIX_SPAWN_SETSID`, no fork), then waits until it has written its pid file and control socket,
    /// so `vigild` returns to an init script with the daemon ready, or with its failure.
    static func detach(_ options: DaemonOptions, arguments: [String], errors: (String) -> Void) -> Int32 {
        do {
            try PidFile.checkFree(options.pidFile)
            try ControlListener.checkAvailable(options.controlSocket)
        } catch {
            errors("vigild: \(error)")
            return 1
        }
        let pid: pid_t
        do {
            pid = try Syscalls.spawn(
                "/proc/self/exe", ["vigild"] + arguments + ["--detached"], newSession: true, nullStdio: true)
        } catch {
            errors("vigild: cannot start the daemon: \(error)")
            return 1
        }
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while monotonicNanoseconds() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = (status >> 8) & 0xff
                errors("vigild: the daemon (pid \(pid)) exited with status \(code) while starting; see syslog")
                return code == 0 ? 1 : code
            }
            // Ready once its pid file and its control socket's lock name it (the lock after the socket listens).
            if readPid(options.pidFile) == pid && readPid(ControlListener.lockPath(options.controlSocket)) == pid {
                return 0
            }
            usleep(10_000)
        }
        errors("vigild: the daemon (pid \(pid)) did not become ready within 10 s; see syslog")
        return 1
    }

    static func readPid(_ path: String) -> pid_t? { readPidFile(path) }

    /// Creates /run/vigil (and /run/vigil/NAMESPACE) when the pid files go there (`resolvingPaths`).
    static func preparePidDirectory(_ options: DaemonOptions) throws(WatchdogError) {
        let directory = directoryName(options.pidFile)
        guard directory.hasPrefix(DefaultPaths.pidDirectory) else { return }
        try Syscalls.makePrivateDirectory(DefaultPaths.pidDirectory)
        if directory != DefaultPaths.pidDirectory { try Syscalls.makePrivateDirectory(directory) }
    }

    /// `process_name` (the watchdog's name) and `umask` (the daemon's, which its workers and scripts inherit),
    /// set once at start as keepalived does.
    static func applyProcessSettings(_ globals: GlobalDefs, logger: Logger) {
        if let mask = globals.umask { _ = umask(mode_t(mask)) }
        if let name = globals.processName, cvigil_set_process_name(name) != 0 {
            logger.error("cannot set the process name '\(name)': \(String(cString: strerror(errno)))")
        }
    }
}
