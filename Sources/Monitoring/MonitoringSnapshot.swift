import Config
import WorkerIPC

/// What the monitoring views (metrics, status page, status JSON) show: the daemon's status as `vigilctl status`
/// has it, and the configuration it runs (for the labels a report does not carry: an instance's interface,
/// VRID and addresses).
public struct MonitoringSnapshot: Sendable {
    public var status: DaemonStatus
    public var config: KeepalivedConfig
    /// When `status` was taken: seconds since the Unix epoch, and CLOCK_MONOTONIC (ns) — the clock of a VRRP
    /// report's `since`.
    public var takenAtUnixSeconds: Double
    public var takenAtMonotonicNanoseconds: Int64

    public init(
        status: DaemonStatus, config: KeepalivedConfig, takenAtUnixSeconds: Double, takenAtMonotonicNanoseconds: Int64
    ) {
        self.status = status
        self.config = config
        self.takenAtUnixSeconds = takenAtUnixSeconds
        self.takenAtMonotonicNanoseconds = takenAtMonotonicNanoseconds
    }

    /// How long ago (seconds) a CLOCK_MONOTONIC instant was.
    func secondsSince(monotonic nanoseconds: Int64) -> Double {
        Double(max(0, takenAtMonotonicNanoseconds - nanoseconds)) / 1e9
    }

    /// The configured VRRP instance named `name`, if the running configuration has it.
    func instance(named name: String) -> VRRPInstance? {
        config.vrrp.instances.first { $0.name == name }
    }

    /// The interface an instance runs on (empty when the file names none).
    func interface(of instance: VRRPInstance) -> String {
        instance.interface ?? ""
    }

    /// Every worker's status with its last state, in role order.
    var workersWithState: [(WorkerStatus, WorkerState)] {
        status.workers.compactMap { worker in worker.state.map { (worker, $0) } }
    }
}

extension VirtualAddress {
    /// As keepalived's data dump prints a virtual address, which the keepalived exporter's `ip_address` label
    /// takes: the address, with `/LENGTH` unless it is a host address.
    var exporterText: String {
        prefix.length == prefix.address.maxPrefixLength ? "\(prefix.address)" : "\(prefix)"
    }
}
