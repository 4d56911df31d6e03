import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The IPVS rules of a start, written by the watchdog on a thread while the checker worker execs (`StartRulesReport`
/// says why). The checker's configuration waits in the watchdog until they are written, so the worker's first full
/// sync reads a table that has them and writes nothing: one writer at a time, never two.
struct StartRulesState {
    /// What works the rules out and writes them (the checker's `StartRules.program`); nil: the worker does it all.
    let program: StartRulesProgram?
    /// The thread at work; nil before and after.
    var run: ThreadResult<StartRulesOutcome>?
    /// When the worker stops waiting for it (`Supervisor.startRulesPatience`).
    var deadline: Int64?
    /// A run given up on at its deadline: kept, not closed, since its thread still writes to its wake pipe at the end.
    var abandoned: ThreadResult<StartRulesOutcome>?
    var report: StartRulesReport?
    /// Takes the rules back when vigild stops before the checker worker could own them.
    var release: (@Sendable () -> Int)?
    /// The checker worker was sent a configuration: the rules are its own from then on.
    var handedOver = false

    init(program: StartRulesProgram?) { self.program = program }
}

extension Supervisor {
    /// Most the checker worker's configuration waits for the rules. Past it the worker is sent its configuration: its
    /// first full sync reads the table as it is, and a write refused because the watchdog's came first makes it read
    /// again, so the two writers still end with the configured rules.
    static let startRulesPatience = Duration.seconds(20)

    /// At the start only (a restarted or reloaded checker worker adopts what is there), when a checker worker runs
    /// and the configuration has virtual servers.
    func beginStartRules() {
        guard let program = startRules.program, !loaded.config.lvs.virtualServers.isEmpty,
            neededRoles().contains(.checker)
        else { return }
        let configuration = configuration(for: .checker)
        guard configuration.lvs?.virtualServers.isEmpty == false else { return }
        startRules.run = ThreadResult { program(configuration) }
        startRules.deadline = monotonicNanoseconds() + Self.startRulesPatience.nanoseconds
    }

    /// Takes the thread's outcome once it is there (or gives up on it at its deadline), then sends the checker worker
    /// its configuration if it was spawned meanwhile.
    func collectStartRules() {
        guard let run = startRules.run else { return }
        if let outcome = run.result {
            run.close()
            startRules.report = outcome.report
            startRules.release = outcome.release
            logger.info("\(outcome.report.rendered)")
            if outcome.report.refused > 0 {
                recordEvent("watchdog", "\(outcome.report.refused) IPVS rules of the start refused by the kernel")
            }
        } else if let deadline = startRules.deadline, monotonicNanoseconds() >= deadline {
            startRules.abandoned = run
            logger.warning(
                .init(
                    stringLiteral: "the IPVS rules of the start take the watchdog more than "
                        + "\(Self.startRulesPatience): the checker worker takes over"))
        } else {
            return
        }
        startRules.run = nil
        startRules.deadline = nil
        // Not to a worker being stopped: it was told to stop before it had a configuration, and would not release
        // rules it never took; the watchdog does (`releaseStartRules`).
        if !stopping, let slot = slots[.checker], slot.pid != nil, slot.configurationsSent == 0 {
            sendConfiguration(to: .checker)
        }
    }

    /// At the end: rules the watchdog wrote that no checker worker was sent the configuration of are removed, as the
    /// worker would have removed them at its stop (unless `--dont-release-ipvs`). A run still under way is waited
    /// for, up to its deadline.
    func releaseStartRules() {
        while startRules.run != nil {
            var wake = [pollfd(fd: startRules.run!.wake.reader, events: Int16(POLLIN), revents: 0)]
            let left = (startRules.deadline ?? 0) - monotonicNanoseconds()
            Syscalls.poll(&wake, timeoutMilliseconds: Int32(clamping: max(0, left / 1_000_000)))
            if left <= 0 { startRules.deadline = 0 }
            collectStartRules()
        }
        guard !startRules.handedOver, !options.dontReleaseIPVS, let release = startRules.release else { return }
        startRules.release = nil
        logger.info("removed \(release()) IPVS rules of the start: vigild stopped before its checker worker took them")
    }
}
