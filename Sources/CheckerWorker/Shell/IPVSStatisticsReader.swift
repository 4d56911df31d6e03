import Config
import IPVSShim
import Netlink
import WorkerIPC

/// Reads the kernel's traffic counters (connections, packets, bytes; connections open now) of the IPVS services
/// this worker manages, every `interval`, a slice of services per turn of the check loop so checks keep their
/// time; each complete read goes to `report` (the watchdog's metrics and status page).
///
/// It reads with a netlink socket of its own and writes nothing: a failed read is retried at the next interval.
final class IPVSStatisticsReader {
    /// What the configuration calls a service and its real servers.
    struct Names {
        /// The virtual server's name as the reports give it (`192.0.2.100 80`).
        var virtualServer: String
        var realServers: [RealServer]
    }

    static let interval: Duration = .seconds(5)
    /// Services whose real servers are read per turn of the loop (each one netlink dump).
    static let servicesPerSlice = 32

    private let loop: CheckLoop
    private let makeClient: () throws(NetlinkError) -> any IPVSClient
    private let names: () -> [IPVSServiceKey: Names]
    private let report: (IPVSStatisticsReport) -> Void
    private var client: (any IPVSClient)?
    private var timer: TimerID?
    private var reading = false
    private var stopped = false

    init(
        loop: CheckLoop, makeClient: @escaping () throws(NetlinkError) -> any IPVSClient,
        names: @escaping () -> [IPVSServiceKey: Names], report: @escaping (IPVSStatisticsReport) -> Void
    ) {
        self.loop = loop
        self.makeClient = makeClient
        self.names = names
        self.report = report
    }

    /// Reads now and every `interval` after (a second call keeps the schedule).
    func start() {
        guard timer == nil, !reading, !stopped else { return }
        read()
    }

    func stop() {
        stopped = true
        if let timer { loop.cancel(timer) }
        timer = nil
        client = nil
    }

    private func scheduleNext() {
        guard !stopped else { return }
        let deadline = loop.now.uptimeNanoseconds + UInt64(HealthScheduler.nanoseconds(Self.interval))
        timer = loop.at(deadline) { [self] in
            timer = nil
            read()
        }
    }

    private func read() {
        guard !stopped else { return }
        let managed = names()
        guard !managed.isEmpty else { return scheduleNext() }
        if client == nil { client = try? makeClient() }
        guard let client else { return scheduleNext() }
        let services: [IPVSService]
        do {
            services = try client.services().filter { managed[$0.key] != nil }.sorted { $0.key < $1.key }
        } catch {
            self.client = nil
            return scheduleNext()
        }
        reading = true
        var result: [IPVSServiceStatistics] = []
        result.reserveCapacity(services.count)
        func slice(from start: Int) {
            guard !stopped, let client = self.client else {
                reading = false
                return
            }
            let end = min(services.count, start + Self.servicesPerSlice)
            for service in services[start..<end] {
                guard let owner = managed[service.key] else { continue }
                do {
                    let destinations = try client.destinations(of: service.key)
                    result.append(Self.statistics(of: service, destinations, names: owner))
                } catch {
                    // The service went away meanwhile (a reload, ipvsadm -D): its counters are left out this time.
                    continue
                }
            }
            guard end >= services.count else {
                loop.later { slice(from: end) }
                return
            }
            reading = false
            report(IPVSStatisticsReport(services: result, readAt: monotonicNanoseconds()))
            scheduleNext()
        }
        slice(from: 0)
    }

    /// One service's counters, its real servers named as the configuration names them.
    static func statistics(of service: IPVSService, _ destinations: [IPVSDestination], names: Names)
        -> IPVSServiceStatistics
    {
        let address: String
        let protocolNumber: Int
        let servicePort: UInt16
        switch service.key {
        case .address(let ip, let port, let proto):
            address = IPVSFormat.endpoint(ip, port)
            protocolNumber = Int(proto.rawValue)
            servicePort = port
        case .firewallMark(let mark, _):
            address = "fwmark:\(mark)"
            protocolNumber = 0
            servicePort = 0
        }
        let reals = destinations.map { destination in
            let named = names.realServers.first { real in
                real.address == destination.address && (real.port.map(UInt16.init) ?? servicePort) == destination.port
            }
            return IPVSRealServerStatistics(
                address: destination.endpoint, realServer: named?.configName, weight: Int(destination.weight),
                activeConnections: destination.activeConnections, inactiveConnections: destination.inactiveConnections,
                persistentConnections: destination.persistentConnections, counters: counters(destination.statistics))
        }
        return IPVSServiceStatistics(
            virtualServer: names.virtualServer, address: address, protocolNumber: protocolNumber,
            counters: counters(service.statistics), realServers: reals)
    }

    static func counters(_ statistics: IPVSStatistics?) -> IPVSCounters {
        guard let statistics else { return IPVSCounters() }
        return IPVSCounters(
            connections: statistics.connections, inPackets: statistics.incomingPackets,
            outPackets: statistics.outgoingPackets, inBytes: statistics.incomingBytes,
            outBytes: statistics.outgoingBytes)
    }
}
