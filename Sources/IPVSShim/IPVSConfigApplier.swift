import Config
import Netlink

/// Programs a desired state into the kernel through any `IPVSClient`: reads the kernel's state, plans, applies.
/// The shell around the pure planners, shared by the daemon-less `vigil-ipvs` tool and the checker worker.
public struct IPVSConfigApplier {
    /// What one run did: the operations sent (one netlink write each) and those the kernel refused.
    public struct Outcome: Sendable {
        public var operations: [IPVSOperation]
        public var failures: [NetlinkError]

        /// Netlink write requests sent: one per operation.
        public var writes: Int { operations.count }
    }

    private let client: any IPVSClient

    public init(client: any IPVSClient) {
        self.client = client
    }

    /// Brings the kernel to `desired`, adopting the rules it already has for configured services.
    /// - Parameter foreignRules: `.remove` also deletes services the configuration does not name (`lvs_flush`).
    /// - Throws: `NetlinkError` when the kernel's state cannot be read; refused operations are in the outcome.
    public func apply(_ desired: IPVSDesiredState, foreignRules: IPVSForeignRulePolicy = .leave)
        throws(NetlinkError) -> Outcome
    {
        let operations = try plan(desired, foreignRules: foreignRules)
        return Outcome(operations: operations, failures: client.apply(operations))
    }

    /// The operations `apply` would send, without sending them (a caller may send them in slices).
    /// - Parameter isRetired: picks, among the services the kernel has, those to delete: ones this program put
    ///   there for a configuration that no longer names them (a reload, or a worker restarted on a newer file).
    ///   Matched against the table read for the plan, so no second dump of the kernel's table.
    public func plan(
        _ desired: IPVSDesiredState, isRetired: (IPVSServiceKey) -> Bool = { _ in false },
        foreignRules: IPVSForeignRulePolicy = .leave
    ) throws(NetlinkError) -> [IPVSOperation] {
        let current = try client.table()
        let plan = desired.plan(
            current: current, currentSyncDaemons: try client.syncDaemons(), currentTimeouts: try client.timeouts(),
            ownership: .adopting(desired.table, current: current), foreignRules: foreignRules)
        let wanted = Set(desired.table.virtualServers.map(\.service.key))
        let deletions = current.virtualServers.map(\.service.key)
            .filter { isRetired($0) && !wanted.contains($0) }
            .map { IPVSOperation.deleteService($0) }
        return deletions + plan.operations
    }

    /// Removes the configured services present in the kernel, and nothing else; with `.remove` (`lvs_flush_on_stop`
    /// without `VS`), every service in one `FLUSH`.
    public func remove(_ desired: IPVSDesiredState, foreignRules: IPVSForeignRulePolicy = .leave)
        throws(NetlinkError) -> Outcome
    {
        let current = try client.table()
        let plan = IPVSReconciler.stop(
            current: current, ownership: .adopting(desired.table, current: current), foreignRules: foreignRules)
        return Outcome(operations: plan.operations, failures: client.apply(plan.operations))
    }
}

extension IPVSClient {
    /// The kernel's table as `ipvsadm -Ln` prints it, or as JSON (`IPVSTableJSON`).
    public func listing(json: Bool = false) throws(NetlinkError) -> String {
        let table = try table()
        let info = try info()
        return json ? IPVSTableJSON.render(table, info: info) : IPVSAdmRenderer.render(table, info: info)
    }
}
