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

    /// Applies a plan: every operation is tried, and the failures come back in order (empty when everything was
    /// applied). The netlink client sends many operations per system call.
    func apply(_ operations: [IPVSOperation]) -> [NetlinkError]

    /// The same, each operation's failure in the operation's place (nil where it was applied).
    func applyEach(_ operations: [IPVSOperation]) -> [NetlinkError?]
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

    /// Applies a plan one operation at a time, going on past failures so one bad rule does not hold back the
    /// others; operations on a service whose addition failed are skipped, as they could only fail too.
    /// - Returns: the failures, in order; empty when everything was applied.
    @discardableResult
    public func apply(_ operations: [IPVSOperation]) -> [NetlinkError] {
        eachApplied(operations).compactMap { $0.skipped ? nil : $0.failure }
    }

    /// The same, each operation's failure in its place; a skipped one fails with `ESRCH`, as it would have.
    public func applyEach(_ operations: [IPVSOperation]) -> [NetlinkError?] {
        eachApplied(operations).map(\.failure)
    }

    private func eachApplied(_ operations: [IPVSOperation]) -> [(failure: NetlinkError?, skipped: Bool)] {
        var failedServices: Set<IPVSServiceKey> = []
        return operations.map { operation in
            if case .addService = operation {
            } else if let key = operation.serviceKey, failedServices.contains(key) {
                return (NetlinkError(kernelErrno: LinuxErrno.ESRCH, operation: operation.description), true)
            }
            do throws(NetlinkError) {
                try apply(operation)
                return (nil, false)
            } catch {
                if case .addService(let service) = operation { failedServices.insert(service.key) }
                return (error, false)
            }
        }
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

    /// Many operations per `sendmsg` (`GenericNetlinkTransport.exchangeAcknowledged`), their acknowledgements
    /// collected after: a 10,000-rule start is about a hundred system calls, not 20,000.
    @discardableResult
    public func apply(_ operations: [IPVSOperation]) -> [NetlinkError] {
        applyEach(operations).compactMap { $0 }
    }

    public func applyEach(_ operations: [IPVSOperation]) -> [NetlinkError?] {
        let requests = operations.map {
            (message: IPVSMessage.request(for: $0, family: family), operation: $0.description)
        }
        do {
            let results = try transport.exchangeAcknowledged(requests)
            return zip(results, operations).map { failure, operation in
                failure.map { IPVSNetlinkClient.explained($0, operation) }
            }
        } catch {
            // The socket failed: every operation's fate is unknown.
            return operations.map { _ in error }
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
