import Config
import Synchronization
import Testing
import WorkerIPC

@testable import Watchdog

#if canImport(Glibc)
    import Glibc
#endif

/// The IPVS rules of a start: the watchdog writes them on a thread while the checker worker starts, and the worker's
/// configuration waits for them, so the two never write at once (`Supervisor+StartRules.swift`). Here the writing is
/// a stand-in the test controls; the rules themselves are checked in the kernel lab (resilience suite, scale step).
@Suite("The start's IPVS rules, before the checker worker's configuration")
struct StartRulesTests {
    /// A supervisor of LoadLeftoversTests' one-virtual-server file with a checker worker "spawned": its socket is one
    /// end of a pair, the test reads the other.
    static func supervisor(
        _ program: StartRulesProgram?, spawned: Bool = true, options: DaemonOptions = DaemonOptions()
    ) throws -> (Supervisor, MessageSocket) {
        let supervisor = Supervisor(
            options: options, hostName: "test", loaded: LoadLeftoversTests.loaded(), startRules: program)
        let (ours, theirs) = try MessageSocket.pair()
        var slot = WorkerSlot(role: .checker)
        if spawned {
            slot.pid = getpid()
            slot.socket = MessageSocket(fd: ours)
        } else {
            close(ours)
        }
        supervisor.slots[.checker] = slot
        return (supervisor, MessageSocket(fd: theirs))
    }

    /// Waits until the thread's outcome is there, then lets the supervisor take it.
    static func collect(_ supervisor: Supervisor) {
        if let run = supervisor.startRules.run {
            var wake = [pollfd(fd: run.wake.reader, events: Int16(POLLIN), revents: 0)]
            _ = poll(&wake, 1, 10_000)
        }
        supervisor.collectStartRules()
    }

    static let report = StartRulesReport(written: 2, refused: 0, services: 1, milliseconds: 1.5)

    @Test func theCheckersConfigurationWaitsForTheRules() throws {
        var gate: [Int32] = [-1, -1]
        #expect(pipe(&gate) == 0)
        let reader = gate[0]
        let seen = Mutex<WorkerConfiguration?>(nil)
        let (supervisor, worker) = try Self.supervisor { configuration in
            seen.withLock { $0 = configuration }
            var byte: UInt8 = 0
            _ = read(reader, &byte, 1)
            return StartRulesOutcome(report: Self.report)
        }
        supervisor.beginStartRules()
        #expect(supervisor.startRules.run != nil)
        // Held while the rules are written: nothing is sent, and a trim after the load waits too.
        supervisor.sendConfiguration(to: .checker)
        supervisor.collectStartRules()
        #expect(supervisor.slots[.checker]?.configurationsSent == 0)
        #expect(supervisor.slots[.checker]?.socket?.hasOutgoing == false)
        supervisor.trimAfterLoad()
        #expect(supervisor.trimPending)
        #expect(supervisor.status().startRules == nil)
        // Written: the configuration goes out, and the status says what the watchdog did.
        var byte: UInt8 = 1
        #expect(write(gate[1], &byte, 1) == 1)
        Self.collect(supervisor)
        #expect(supervisor.startRules.run == nil)
        #expect(supervisor.slots[.checker]?.configurationsSent == 1)
        #expect(supervisor.startRules.handedOver)
        #expect(supervisor.status().startRules == Self.report)
        supervisor.flush(.checker)
        guard case .message(.configure(let sent)) = worker.receive(WorkerMessage.self, timeoutMilliseconds: 5_000)
        else {
            Issue.record("the checker worker was not sent its configuration")
            return
        }
        // The rules were worked out from the configuration the worker gets.
        #expect(seen.withLock { $0?.lvs } == sent.lvs)
        #expect(sent.lvs?.virtualServers.count == 1)
        close(gate[0])
        close(gate[1])
    }

    @Test func aStopBeforeTheHandOverTakesTheRulesBack() throws {
        let released = Mutex(0)
        let program: StartRulesProgram = { _ in
            StartRulesOutcome(
                report: Self.report,
                release: {
                    released.withLock { $0 += 1 }
                    return 2
                })
        }
        // The checker worker was never spawned (its spawn failed, or vigild stopped first): nobody else owns them.
        let (supervisor, _) = try Self.supervisor(program, spawned: false)
        supervisor.beginStartRules()
        Self.collect(supervisor)
        #expect(supervisor.slots[.checker]?.configurationsSent == 0)
        supervisor.releaseStartRules()
        #expect(released.withLock { $0 } == 1)
        // Once only.
        supervisor.releaseStartRules()
        #expect(released.withLock { $0 } == 1)

        // Sent to the worker: its own, released at its stop, not here.
        let (handedOver, worker) = try Self.supervisor(program)
        handedOver.beginStartRules()
        Self.collect(handedOver)
        #expect(handedOver.startRules.handedOver)
        handedOver.releaseStartRules()
        #expect(released.withLock { $0 } == 1)
        withExtendedLifetime(worker) {}

        // `--dont-release-ipvs`: kept, as the worker keeps its rules.
        var options = DaemonOptions()
        options.dontReleaseIPVS = true
        let kept = try Self.supervisor(program, spawned: false, options: options).0
        kept.beginStartRules()
        Self.collect(kept)
        kept.releaseStartRules()
        #expect(released.withLock { $0 } == 1)
    }

    @Test func aWorkerBeingStoppedIsNotSentThem() throws {
        let released = Mutex(0)
        let (supervisor, worker) = try Self.supervisor { _ in
            StartRulesOutcome(
                report: Self.report,
                release: {
                    released.withLock { $0 += 1 }
                    return 2
                })
        }
        supervisor.beginStartRules()
        // SIGTERM while they were written: the worker was told to stop with no configuration, and is not sent one.
        supervisor.stopping = true
        Self.collect(supervisor)
        #expect(supervisor.slots[.checker]?.configurationsSent == 0)
        #expect(!supervisor.startRules.handedOver)
        supervisor.releaseStartRules()
        #expect(released.withLock { $0 } == 1)
        withExtendedLifetime(worker) {}
    }

    @Test func withoutAProgramTheWorkerIsNotHeld() throws {
        let (supervisor, worker) = try Self.supervisor(nil)
        supervisor.beginStartRules()
        #expect(supervisor.startRules.run == nil)
        supervisor.sendConfiguration(to: .checker)
        #expect(supervisor.slots[.checker]?.configurationsSent == 1)
        #expect(supervisor.status().startRules == nil)
        withExtendedLifetime(worker) {}
    }

    @Test func theStatusLine() {
        #expect(
            Self.report.rendered
                == "IPVS rules at start: 2 changes for 1 services written by the watchdog in 1.5 ms while the checker "
                + "worker started")
        let failed = StartRulesReport(
            written: 0, refused: 0, services: 1, milliseconds: 0.2, failure: "IPVS not available: no family")
        #expect(failed.rendered == "IPVS rules at start: left to the checker worker (IPVS not available: no family)")
        var status = DaemonStatus(pid: 1, version: "0", configFile: "f", uptimeSeconds: 1, stopping: false, workers: [])
        status.startRules = Self.report
        #expect(status.rendered.contains(Self.report.rendered))
    }
}
