import Config
import NIOCore
import NIOSSL

/// Where one check goes: the real server's address/port unless `connect_ip`/`connect_port` override them;
/// `bindto`/`bind_port`/`bind_if`/`fwmark` shape the source side.
public struct ProbeTarget: Hashable, Sendable {
    public var address: IPAddress
    /// `nil` when neither the checker, the real server nor the virtual server names one (fwmark services).
    public var port: Int?
    public var bindAddress: IPAddress?
    public var bindPort: Int?
    public var bindInterface: String?
    public var fwmark: UInt32?
    public var connectTimeout: Duration

    public init(
        address: IPAddress, port: Int?, bindAddress: IPAddress? = nil, bindPort: Int? = nil,
        bindInterface: String? = nil, fwmark: UInt32? = nil, connectTimeout: Duration
    ) {
        self.address = address
        self.port = port
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.bindInterface = bindInterface
        self.fwmark = fwmark
        self.connectTimeout = connectTimeout
    }

    /// Applies keepalived.conf(5)'s overrides: `connect_ip`, `connect_port` (else the real server's port,
    /// else the virtual server's), `bindto`, `bind_port`, `bind_if`, `fwmark`, `connect_timeout`.
    public init(checker: Checker, realServer: RealServer, virtualServer: VirtualServer) {
        self.init(
            connection: checker.connection, checker: checker, realServer: realServer, virtualServer: virtualServer)
    }

    /// The same for one of SMTP_CHECK's legacy `host { }` blocks, whose options replace the checker's. A host's
    /// `connect_timeout` is its own, else (keepalived 2.2.7, `check_smtp.c`) the real server's, else the virtual
    /// server's, else the default: not the SMTP_CHECK block's.
    init(connection: ConnectionOptions, checker: Checker, realServer: RealServer, virtualServer: VirtualServer) {
        var servicePort: Int?
        if case .endpoint(_, let port) = virtualServer.address, port != 0 { servicePort = port }
        self.init(
            address: connection.connectIP ?? realServer.address,
            port: connection.connectPort ?? realServer.port ?? servicePort,
            bindAddress: connection.bindTo,
            bindPort: connection.bindPort,
            bindInterface: connection.bindInterface,
            fwmark: connection.fwmark,
            connectTimeout: connection.connectTimeout ?? checker.timing.connectTimeout
        )
    }

    /// `198.51.100.11:80` / `[2001:db8::1]:80`, as reasons print it.
    public var endpointText: String { CheckerWorker.endpointText(address, port: port) }
}

/// `198.51.100.11:80` / `[2001:db8::1]:80` (just the address without a port): how reasons, events and notify
/// lines name an endpoint.
func endpointText(_ address: IPAddress, port: Int?) -> String {
    let host = address.family == .ipv6 ? "[\(address)]" : "\(address)"
    return port.map { "\(host):\($0)" } ?? host
}

/// The result of one probe attempt.
public enum ProbeOutcome: Hashable, Sendable {
    /// `weight`: set by `misc_dynamic` (exit 2–255 → code − 2) and FILE_CHECK; `nil` leaves it alone.
    case success(weight: Int? = nil)
    /// The operator-facing reason, e.g. `HTTP_GET 198.51.100.11:80/: status 503`.
    case failure(String)
    /// The check could not run for a reason of this host's, not the real server's (out of descriptors, buffers
    /// or local ports): not a failure; it runs again shortly.
    case notRun(String)

    public var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// One health check of one real server.
public protocol HealthProbe: Sendable {
    /// One attempt (retries are the engine's job), on the checker's loop. Always completes, bounded by
    /// `connect_timeout` (MISC_CHECK: `misc_timeout`), and never blocks the loop.
    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome>
}

/// How a MISC_CHECK program ended.
public enum ProbeScriptResult: Hashable, Sendable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut
    case failedToStart(String)
}

/// Runs MISC_CHECK programs; the Notifier module's script runner is adapted to it.
public protocol ProbeScriptRunning: Sendable {
    func runCheckScript(_ command: ScriptCommand, timeout: Duration?, on loop: any EventLoop)
        -> EventLoopFuture<ProbeScriptResult>
}

/// Builds probes from the configuration.
public enum HealthProbes {
    /// The probe for one checker of one real server. `scripts` runs MISC_CHECK programs; `sslContext`
    /// is SSL_GET's client context (default: no certificate verification, as keepalived);
    /// `trackFiles` resolves FILE_CHECK's `track_file` names.
    public static func make(
        checker: Checker, realServer: RealServer, virtualServer: VirtualServer, group: (any EventLoopGroup)?,
        scripts: (any ProbeScriptRunning)?, sslContext: NIOSSLContext?, trackFiles: [TrackFile] = []
    ) -> any HealthProbe {
        let target = ProbeTarget(checker: checker, realServer: realServer, virtualServer: virtualServer)
        switch checker.kind {
        case .tcp:
            return TCPProbe(target: target)
        case .http(let check), .ssl(let check):
            let secure = checker.kind.keyword == "SSL_GET"
            do {
                return try HTTPProbe(
                    check: check, secure: secure, target: target, realServer: realServer, virtualServer: virtualServer,
                    sslContext: sslContext, tlsGroup: group)
            } catch {
                return UnavailableProbe(reason: "\(checker.kind.keyword) \(target.endpointText): \(error)")
            }
        case .smtp(let check):
            let targets =
                check.hosts.isEmpty
                ? [target]
                : check.hosts.map { host in
                    var host = host
                    host.connectTimeout =
                        host.connectTimeout ?? realServer.checkDefaults.connectTimeout
                        ?? virtualServer.checkDefaults.connectTimeout ?? CheckTiming.defaultConnectTimeout
                    return ProbeTarget(
                        connection: host, checker: checker, realServer: realServer, virtualServer: virtualServer)
                }
            return SMTPProbe(targets: targets, heloName: check.heloName)
        case .dns(let check):
            return DNSProbe(target: target, check: check)
        case .udp(let check):
            return UDPProbe(target: target, check: check)
        case .ping:
            PingProbe.allowPingSockets()
            return PingProbe(target: target)
        case .file(let check):
            let label = "FILE_CHECK \(check.trackFile)"
            guard let path = trackFiles.first(where: { $0.name == check.trackFile })?.file else {
                return UnavailableProbe(reason: "\(label): no track_file block with a file of that name")
            }
            return FileProbe(path: path, check: check, baseWeight: realServer.weight, label: label)
        case .bfd(let check):
            // Never scheduled: its verdict is the session's state (`CheckerCore.bfdSessionsReceived`).
            return UnavailableProbe(reason: "BFD_CHECK \(check.name) follows its session and is not probed")
        case .misc(let check):
            guard let scripts else { return UnavailableProbe(reason: "MISC_CHECK \(check.path): no script runner") }
            let command = ScriptCommand(text: check.path, user: check.user?.user, group: check.user?.group)
            return MiscProbe(
                command: command, check: check, timeout: check.timeout ?? checker.timing.delayLoop, scripts: scripts)
        }
    }
}

/// A probe that cannot run (a missing script runner, an unknown track file): fails every time, saying why.
struct UnavailableProbe: HealthProbe {
    let reason: String

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        loop.makeSucceededFuture(.failure(reason))
    }
}
