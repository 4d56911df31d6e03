/// The IPVS rules of a daemon's start, written by the watchdog while the checker worker starts (issue 12).
///
/// A start of keepalived forks its checker process, which reads the file again and adds the rules. vigild re-executes
/// its checker worker, and a process start of vigild (its runtime, its relocations) takes a few hundred milliseconds
/// under emulation, followed by the decode of its configuration: the rules waited for both. Now the watchdog, which
/// has the configuration already, works out the rules the checker's core starts with (every real server as its
/// checkers start it: up, or down with `alpha`) and writes the ones the kernel lacks, on a thread, while the worker
/// execs. The worker is sent its configuration once they are written, so its first full sync (which reads the table
/// and adopts the rules there) finds them in place and writes nothing, and no two writers ever meet.
///
/// Only the services and real servers are written here: the sync daemons, the timeouts, `lvs_flush` and the sysctls
/// stay the worker's, as does everything after the start (a restarted worker adopts the rules as before).
public struct StartRulesReport: Codable, Sendable, Hashable {
    /// Operations written (one netlink request each, many a system call), and those the kernel refused.
    public var written: Int
    public var refused: Int
    /// Services the configuration asks for.
    public var services: Int
    /// From the thread's start to the last acknowledgement, and to the plan (the rules worked out, the kernel's table
    /// read and compared): the rest is the writing.
    public var milliseconds: Double
    public var plannedMilliseconds: Double?
    /// Why nothing was written (IPVS not there, a namespace that cannot be entered): the worker then does it all.
    public var failure: String?

    public init(
        written: Int, refused: Int, services: Int, milliseconds: Double, plannedMilliseconds: Double? = nil,
        failure: String? = nil
    ) {
        self.written = written
        self.refused = refused
        self.services = services
        self.milliseconds = milliseconds
        self.plannedMilliseconds = plannedMilliseconds
        self.failure = failure
    }

    /// `vigilctl status`'s line.
    public var rendered: String {
        if let failure { return "IPVS rules at start: left to the checker worker (\(failure))" }
        let refusals = refused == 0 ? "" : ", \(refused) refused"
        let planned = plannedMilliseconds.map { " (planned in \(fixedPoint($0, digits: 1)))" } ?? ""
        return "IPVS rules at start: \(written) changes for \(services) services written by the watchdog in "
            + "\(fixedPoint(milliseconds, digits: 1)) ms\(planned) while the checker worker started\(refusals)"
    }
}

/// What the watchdog's programming did, and how to take it back.
public struct StartRulesOutcome: Sendable {
    public var report: StartRulesReport
    /// Removes the configured services again (as a stopping checker worker does); for a daemon that stops before its
    /// checker worker was sent the configuration and so could not own them. Returns the operations written.
    public var release: (@Sendable () -> Int)?

    public init(report: StartRulesReport, release: (@Sendable () -> Int)? = nil) {
        self.report = report
        self.release = release
    }
}

/// Works out and writes the rules of the checker worker's first configuration (`CheckerWorker`'s `StartRules`).
public typealias StartRulesProgram = @Sendable (WorkerConfiguration) -> StartRulesOutcome
