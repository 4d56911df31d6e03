import Config
import Netlink

/// An in-memory IPVS that answers like the kernel's `ip_vs_ctl.c`, for tests of code driving an `IPVSClient`.
///
/// It refuses what the kernel refuses with the same errno (`EEXIST` for a duplicate, `ESRCH` for a missing service,
/// `ENOENT` for a missing real server or an unknown scheduler or persistence engine, `ERANGE` for thresholds the
/// wrong way round, `EINVAL` for GUE without a port), sets `IP_VS_SVC_F_HASHED` on services it holds, and counts
/// every write, failed or not, so "a second run issues zero writes" can be asserted.
public final class IPVSFakeKernel: IPVSClient {
    /// The rules, in insertion order.
    public private(set) var state: IPVSTable
    public private(set) var daemons: [IPVSSyncDaemon] = []
    public private(set) var currentTimeouts = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
    /// Every operation received, in order.
    public private(set) var log: [IPVSOperation] = []
    /// Schedulers the fake "has loaded" (`ip_vs_scheduler_get`).
    public var schedulers: Set<String> = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
    ]
    /// Persistence engines (`ip_vs_pe_getbyname`).
    public var persistenceEngines: Set<String> = ["sip"]

    /// Starts with `table` in the kernel, e.g. rules another tool put there.
    public init(_ table: IPVSTable = IPVSTable()) {
        state = table
        for index in state.virtualServers.indices { state.virtualServers[index].service.flags.insert(.hashed) }
    }

    /// How many writes were received.
    public var writeCount: Int { log.count }

    /// Forgets the log, e.g. between the first and second run of a test.
    public func resetLog() { log = [] }

    public func apply(_ operation: IPVSOperation) throws(NetlinkError) {
        log.append(operation)
        func fail(_ errno: Int32) -> NetlinkError { NetlinkError(kernelErrno: errno, operation: operation.description) }
        let index = operation.serviceKey.flatMap { key in state.virtualServers.firstIndex { $0.service.key == key } }

        switch operation {
        case .addService(var service):
            guard index == nil else { throw fail(LinuxErrno.EEXIST) }
            try check(service, fail)
            service.flags = service.flags.configurable.union(.hashed)
            service.statistics = IPVSStatistics()
            state.virtualServers.append(IPVSVirtualServer(service: service))
        case .editService(var service):
            guard let index else { throw fail(LinuxErrno.ESRCH) }
            try check(service, fail)
            service.flags = service.flags.configurable.union(.hashed)
            service.statistics = state.virtualServers[index].service.statistics
            state.virtualServers[index].service = service
        case .deleteService:
            guard let index else { throw fail(LinuxErrno.ESRCH) }
            state.virtualServers.remove(at: index)
        case .addDestination(let destination, _):
            guard let index else { throw fail(LinuxErrno.ESRCH) }
            try check(destination, fail)
            guard state.virtualServers[index].destination(at: destination.address, port: destination.port) == nil else {
                throw fail(LinuxErrno.EEXIST)
            }
            var added = destination
            added.statistics = IPVSStatistics()
            state.virtualServers[index].destinations.append(added)
        case .editDestination(let destination, _):
            guard let index else { throw fail(LinuxErrno.ESRCH) }
            try check(destination, fail)
            guard
                let position = state.virtualServers[index].destinations.firstIndex(where: {
                    $0.address == destination.address && $0.port == destination.port
                })
            else { throw fail(LinuxErrno.ENOENT) }
            var edited = destination
            let old = state.virtualServers[index].destinations[position]
            (edited.activeConnections, edited.inactiveConnections) = (old.activeConnections, old.inactiveConnections)
            (edited.persistentConnections, edited.statistics) = (old.persistentConnections, old.statistics)
            state.virtualServers[index].destinations[position] = edited
        case .deleteDestination(let key):
            guard let index else { throw fail(LinuxErrno.ESRCH) }
            guard
                let position = state.virtualServers[index].destinations.firstIndex(where: {
                    $0.address == key.address && $0.port == key.port
                })
            else { throw fail(LinuxErrno.ENOENT) }
            state.virtualServers[index].destinations.remove(at: position)
        case .startSyncDaemon(let daemon):
            guard !daemons.contains(where: { $0.state == daemon.state }) else { throw fail(LinuxErrno.EEXIST) }
            daemons.append(daemon)
        case .stopSyncDaemon(let state):
            guard daemons.contains(where: { $0.state == state }) else { throw fail(LinuxErrno.ESRCH) }
            daemons.removeAll { $0.state == state }
        case .setTimeouts(let timeouts):
            // ip_vs_set_timeout: 0 leaves a value unchanged.
            if timeouts.tcp > 0 { currentTimeouts.tcp = timeouts.tcp }
            if timeouts.tcpFin > 0 { currentTimeouts.tcpFin = timeouts.tcpFin }
            if timeouts.udp > 0 { currentTimeouts.udp = timeouts.udp }
        case .zeroCounters(let key):
            if key != nil, index == nil { throw fail(LinuxErrno.ESRCH) }
        case .flush:
            state = IPVSTable()
        }
    }

    /// How many times the services were listed (`services()`).
    public private(set) var servicesListings = 0

    public func services() throws(NetlinkError) -> [IPVSService] {
        servicesListings += 1
        return state.virtualServers.map(\.service)
    }

    /// Traffic through the real server at `address` of the service `key`: `connections` new connections of one
    /// packet each way, counted in the real server's counters and the service's, as the kernel does.
    public func carry(connections: UInt64, to address: IPAddress, of key: IPVSServiceKey) {
        guard let index = state.virtualServers.firstIndex(where: { $0.service.key == key }),
            let position = state.virtualServers[index].destinations.firstIndex(where: { $0.address == address })
        else { return }
        func count(_ statistics: inout IPVSStatistics?) {
            var counted = statistics ?? IPVSStatistics()
            counted.connections += connections
            counted.incomingPackets += connections
            counted.outgoingPackets += connections
            statistics = counted
        }
        count(&state.virtualServers[index].service.statistics)
        count(&state.virtualServers[index].destinations[position].statistics)
    }

    public func destinations(of service: IPVSServiceKey) throws(NetlinkError) -> [IPVSDestination] {
        state[service]?.destinations ?? []
    }

    public func syncDaemons() throws(NetlinkError) -> [IPVSSyncDaemon] { daemons }

    public func timeouts() throws(NetlinkError) -> IPVSTimeouts { currentTimeouts }

    public func info() throws(NetlinkError) -> IPVSInfo { IPVSInfo() }

    /// ip_vs_add_service / ip_vs_edit_service: the scheduler and persistence engine must exist.
    private func check(_ service: IPVSService, _ fail: (Int32) -> NetlinkError) throws(NetlinkError) {
        guard schedulers.contains(service.scheduler) else { throw fail(LinuxErrno.ENOENT) }
        if let engine = service.persistenceEngine, !engine.isEmpty, !persistenceEngines.contains(engine) {
            throw fail(LinuxErrno.ENOENT)
        }
        // ip_vs_add_service: an IPv6 persistence "netmask" is a prefix length, 1 to 128.
        if service.key.family == .ipv6, !(1...128).contains(service.netmask) { throw fail(LinuxErrno.EINVAL) }
    }

    /// ip_vs_add_dest / ip_vs_edit_dest.
    private func check(_ destination: IPVSDestination, _ fail: (Int32) -> NetlinkError) throws(NetlinkError) {
        if Int32(bitPattern: destination.weight) < 0 { throw fail(LinuxErrno.ERANGE) }
        if destination.lowerThreshold > destination.upperThreshold { throw fail(LinuxErrno.ERANGE) }
        if destination.forwarding == .tunnel, destination.tunnel.type == .gue, destination.tunnel.port == 0 {
            throw fail(LinuxErrno.EINVAL)
        }
    }
}
