import Config
import Netlink

/// Reads and changes the kernel's IPVS state. `IPVSNetlinkClient` talks to the kernel; `IPVSFakeKernel` stands in
/// for it in tests. Calls block; run them off the cooperative pool.
public protocol IPVSClient: AnyObject {
    /// Sends one change and waits for the kernel's answer.
    /// - Throws: `NetlinkError`; of kind `.kernel` with the errno when the kernel refused, e.g. `EEXIST` adding a
    ///   service twice, `ESRCH` for a missing service, `ENOENT` for a missing real server or unknown scheduler.
    func apply(_ operation: IPVSOperation) throws(NetlinkError)

    /// Every virtual service, without real servers.
    func services() throws(NetlinkError) -> [IPVSService]

    /// The real servers of `service`; empty when the service does not exist (as the kernel's dump answers).
    func destinations(of service: IPVSServiceKey) throws(NetlinkError) -> [IPVSDestination]

    /// The running sync daemons.
    func syncDaemons() throws(NetlinkError) -> [IPVSSyncDaemon]

    /// The connection timeouts.
    func timeouts() throws(NetlinkError) -> IPVSTimeouts

    /// Version and connection table size.
    func info() throws(NetlinkError) -> IPVSInfo
}

extension IPVSClient {
    /// Every virtual service with its real servers.
    public func table() throws(NetlinkError) -> IPVSTable {
        var table = IPVSTable()
        for service in try services() {
            table.virtualServers.append(
                IPVSVirtualServer(service: service, destinations: try destinations(of: service.key)))
        }
        return table
    }

    /// Applies a plan, going on past failures so one bad rule does not hold back the others; operations on a
    /// service whose addition failed are skipped, as they could only fail too.
    /// - Returns: the failures, in order; empty when everything was applied.
    @discardableResult
    public func apply(_ operations: [IPVSOperation]) -> [NetlinkError] {
        var failures: [NetlinkError] = []
        var failedServices: Set<IPVSServiceKey> = []
        for operation in operations {
            if case .addService = operation {
            } else if let key = operation.serviceKey, failedServices.contains(key) {
                continue
            }
            do {
                try apply(operation)
            } catch {
                failures.append(error)
                if case .addService(let service) = operation { failedServices.insert(service.key) }
            }
        }
        return failures
    }
}

/// The IPVS client over generic netlink: encodes with `IPVSMessage`, decodes with `IPVSReply`.
public final class IPVSNetlinkClient: IPVSClient {
    private let transport: any GenericNetlinkTransport
    /// The "IPVS" family id the kernel assigned.
    public let family: UInt16
    /// How often a dump interrupted by a concurrent change (`NLM_F_DUMP_INTR`) is tried again.
    private let dumpAttempts = 3

    /// Resolves the IPVS family over `transport`.
    /// - Throws: `NetlinkError` when the family is unknown (the `ip_vs` module is not loaded).
    public init(transport: any GenericNetlinkTransport) throws(NetlinkError) {
        self.transport = transport
        family = try transport.resolveFamily(named: IPVSGenericNetlink.familyName)
    }

    /// Opens a `GenericNetlinkSocket` and resolves the IPVS family.
    public convenience init() throws(NetlinkError) {
        try self.init(transport: GenericNetlinkSocket())
    }

    public func apply(_ operation: IPVSOperation) throws(NetlinkError) {
        do {
            _ = try transport.exchange(
                IPVSMessage.request(for: operation, family: family), style: .acknowledged,
                operation: operation.description)
        } catch {
            throw IPVSNetlinkClient.explained(error, operation)
        }
    }

    /// The kernel answers `ENOENT` both for an unknown scheduler and an unknown persistence engine
    /// (`ip_vs_scheduler_get`, `ip_vs_pe_getbyname`); name them so "twos" on a 6.1 kernel reads as what it is.
    static func explained(_ error: NetlinkError, _ operation: IPVSOperation) -> NetlinkError {
        guard error.errno == LinuxErrno.ENOENT else { return error }
        switch operation {
        case .addService(let service), .editService(let service):
            var explained = error
            explained.message +=
                " (scheduler '\(service.scheduler)' not available: no ip_vs_\(service.scheduler) module in this kernel?"
            if let engine = service.persistenceEngine, !engine.isEmpty {
                explained.message += " Or persistence engine '\(engine)': no ip_vs_pe_\(engine)?"
            }
            explained.message += ")"
            return explained
        default:
            return error
        }
    }

    public func services() throws(NetlinkError) -> [IPVSService] {
        try IPVSReply.services(dump(IPVSMessage.getServices(family: family), "listing virtual servers"))
    }

    public func destinations(of service: IPVSServiceKey) throws(NetlinkError) -> [IPVSDestination] {
        try IPVSReply.destinations(
            dump(IPVSMessage.getDestinations(of: service, family: family), "listing real servers of \(service)"),
            serviceFamily: service.family)
    }

    public func syncDaemons() throws(NetlinkError) -> [IPVSSyncDaemon] {
        try IPVSReply.daemons(dump(IPVSMessage.getDaemons(family: family), "listing sync daemons"))
    }

    public func timeouts() throws(NetlinkError) -> IPVSTimeouts {
        try IPVSReply.timeouts(
            transport.exchange(
                IPVSMessage.getConfig(family: family), style: .acknowledged, operation: "reading timeouts"))
    }

    public func info() throws(NetlinkError) -> IPVSInfo {
        try IPVSReply.info(
            transport.exchange(
                IPVSMessage.getInfo(family: family), style: .acknowledged, operation: "reading IPVS info"))
    }

    private func dump(_ request: GenericNetlinkMessage, _ operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        var attempt = 1
        while true {
            do {
                return try transport.exchange(request, style: .dump, operation: operation)
            } catch  where error.errno == LinuxErrno.EINTR && attempt < dumpAttempts {
                attempt += 1
            }
        }
    }
}
