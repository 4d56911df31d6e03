import Config
import IPVSShim
import Netlink
import WorkerIPC

/// The rules of the checker worker's first configuration, written by the watchdog while the worker starts
/// (`StartRulesReport` says why). The rules are the checker core's (`CheckerCore.initialTable`, held equal to what the
/// core's first `configure` wants), so the worker's first full sync reads the table, adopts them and writes nothing.
public enum StartRules {
    /// Works out the services and real servers `configuration` starts with and writes those the kernel lacks or holds
    /// otherwise (the services of other programs are left alone). Blocking: the watchdog runs it on a thread.
    public static func program(_ configuration: WorkerConfiguration) -> StartRulesOutcome {
        let started = monotonicNanoseconds()
        let table = CheckerCore.initialTable(configuration)
        let services = table.virtualServers.count
        var planned: Double?
        func report(written: Int = 0, refused: Int = 0, failure: String? = nil) -> StartRulesReport {
            StartRulesReport(
                written: written, refused: refused, services: services,
                milliseconds: Double(monotonicNanoseconds() - started) / 1e6, plannedMilliseconds: planned,
                failure: failure)
        }
        guard services > 0 else { return StartRulesOutcome(report: report()) }
        let namespace = IPVSNamespace()
        namespace.set(configuration.globalDefs.netNamespaceIPVS)
        let client: IPVSNetlinkClient
        let current: IPVSTable
        do throws(NetlinkError) {
            client = try namespace.client()
            current = try client.table()
        } catch {
            return StartRulesOutcome(report: report(failure: "IPVS not available: \(error)"))
        }
        let plan = IPVSReconciler.plan(
            desired: table, current: current, ownership: .adopting(table, current: current))
        planned = Double(monotonicNanoseconds() - started) / 1e6
        let refused = client.apply(plan.operations).count
        // On a socket of its own: it runs on the watchdog's thread, at its stop. It deletes the configured services
        // (their real servers go with them), as a stopping worker does, and holds only their keys meanwhile, not the
        // rules (10,000 real servers are megabytes the watchdog would keep for its whole life).
        let keys = Set(table.virtualServers.map(\.service.key))
        let release: @Sendable () -> Int = {
            guard let client = try? namespace.client(), let services = try? client.services() else { return 0 }
            let deletions = services.map(\.key).filter { keys.contains($0) }.map { IPVSOperation.deleteService($0) }
            return deletions.count - client.apply(deletions).count
        }
        return StartRulesOutcome(
            report: report(written: plan.operations.count - refused, refused: refused), release: release)
    }
}
