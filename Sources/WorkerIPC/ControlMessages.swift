import Foundation

/// The version of the `vigilctl` ⇄ `vigild` control-socket protocol.
public let controlProtocolVersion = 1

/// What `vigilctl` asks.
public enum ControlRequest: Codable, Sendable, Hashable {
    case status
    case reload
    case stop
}

/// What `vigild` answers.
public enum ControlResponse: Codable, Sendable, Hashable {
    case status(DaemonStatus)
    /// The request was carried out (or started); the text says what happened.
    case done(String)
    /// The request was refused; the text says why (an invalid configuration, a daemon stopping).
    case refused(String)
}

/// One worker as the watchdog sees it.
public struct WorkerStatus: Codable, Sendable, Hashable {
    public var role: WorkerRole
    /// Nil while the worker is being restarted.
    public var pid: Int32?
    public var uptimeSeconds: Double?
    public var restartCount: Int
    /// Seconds since the last heartbeat answer; nil before the first.
    public var lastHeartbeatSecondsAgo: Double?
    /// Milliseconds from the last worker death to its replacement's hello.
    public var lastRestartMilliseconds: Double?
    /// The last state the worker reported (kept across restarts).
    public var state: WorkerState?

    public init(
        role: WorkerRole, pid: Int32?, uptimeSeconds: Double?, restartCount: Int, lastHeartbeatSecondsAgo: Double?,
        lastRestartMilliseconds: Double?, state: WorkerState?
    ) {
        self.role = role
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.restartCount = restartCount
        self.lastHeartbeatSecondsAgo = lastHeartbeatSecondsAgo
        self.lastRestartMilliseconds = lastRestartMilliseconds
        self.state = state
    }
}

/// `vigilctl status`.
public struct DaemonStatus: Codable, Sendable, Hashable {
    public var pid: Int32
    public var version: String
    public var configFile: String
    public var uptimeSeconds: Double
    public var stopping: Bool
    public var workers: [WorkerStatus]

    public init(
        pid: Int32, version: String, configFile: String, uptimeSeconds: Double, stopping: Bool, workers: [WorkerStatus]
    ) {
        self.pid = pid
        self.version = version
        self.configFile = configFile
        self.uptimeSeconds = uptimeSeconds
        self.stopping = stopping
        self.workers = workers
    }

    /// The operator's view, as `vigilctl status` prints it.
    public var rendered: String {
        var lines = [
            "vigild \(version), pid \(pid), up \(Self.seconds(uptimeSeconds)), config \(configFile)"
                + (stopping ? " (stopping)" : "")
        ]
        for worker in workers {
            let pid = worker.pid.map { "pid \($0)" } ?? "not running"
            let uptime = worker.uptimeSeconds.map { ", up \(Self.seconds($0))" } ?? ""
            let heartbeat = worker.lastHeartbeatSecondsAgo.map { ", last heartbeat \(Self.seconds($0)) ago" } ?? ""
            lines.append("\(worker.role) worker: \(pid)\(uptime), \(worker.restartCount) restarts\(heartbeat)")
            for instance in worker.state?.vrrpInstances ?? [] {
                let held =
                    instance.heldAddresses.isEmpty ? "" : " holding \(instance.heldAddresses.joined(separator: ", "))"
                lines.append("  vrrp_instance \(instance.name): \(instance.state.rawValue)\(held)")
            }
            for server in worker.state?.virtualServers ?? [] {
                lines.append("  virtual_server \(server.name): \(server.health.rawValue)")
                for real in server.realServers {
                    lines.append("    real_server \(real.address): \(real.health.rawValue)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func seconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.2fs", value) : String(format: "%.0fs", value)
    }
}

/// `vigilctl status --json`: the status alone, pretty-printed with sorted keys.
public enum StatusJSON {
    public static func encode(_ status: DaemonStatus) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array((try? encoder.encode(status)) ?? Data())
    }
}
