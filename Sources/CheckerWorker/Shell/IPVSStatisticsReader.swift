import Config
import IPVSShim
import Netlink
import WorkerIPC

/// Reads the kernel's traffic counters (connections, packets, bytes; connections open now) of the IPVS services
/// this worker manages, every `interval`, a slice of services per turn of the check loop so checks keep their
/// time; each complete read goes to `report` (the watchdog's metrics and status page).
///
/// It reads with a netlink socket of its own and writes nothing: a failed read is retried at the next interval.
///
/// What did not move is not read again. A service's real servers are dumped only when the service's own counters
/// (one services dump for all) changed since they were last read, when this worker wrote rules of that service since
/// (a weight, a real server removed: no counter moves), or when that read is `refresh` old (connections that time out
/// move no counter). What did not change is not sent again either: after a whole report, the watchdog gets the
/// services whose counters changed, by their place in the list it holds (`IPVSStatisticsReport.changed`); a read that
/// found nothing changed sends it only its time. A standby director, whose services carry no traffic, reads one
/// services dump per interval and sends a few bytes: for 1,000 × 10 without traffic, under emulation, the checker's
/// CPU went from 34 % to 14 % of a CPU and the watchdog's (which decoded every report) from 12 % to 3 % (BENCHMARKS.md).
/// One real server flapping in that farm is one service read and reported again, not all of them.
///
/// The drift check reads every service's real servers once per repair interval anyway: it hands each of its reads
/// here (`observe`), and that reading counts as this reader's own. With the default interval (30 s, no more than
/// `refresh`), the 30 s refresh then costs no dump of its own. In return, each services list read here goes to the
/// drift check (`listed`), which then need not list the services itself.
final class IPVSStatisticsReader {
    /// What the configuration calls a service and its real servers.
    struct Names {
        /// The virtual server's name as the reports give it (`192.0.2.100 80`).
        var virtualServer: String
        var realServers: [RealServer]
    }

    static let interval: Duration = .seconds(5)
    /// The oldest a service's real servers' reading is used again while its counters stand still.
    static let refresh: Duration = .seconds(30)
    /// Services whose real servers are read per turn of the loop (each one netlink dump).
    static let servicesPerSlice = 32

    /// A service's last reading: its own counters then, and what it gives to report.
    private struct Reading {
        var kernel: IPVSStatistics?
        var statistics: IPVSServiceStatistics
        /// The loop's time of the read.
        var readAt: Int64
        /// This worker's writes (`writes()`) at the read: a write since (a weight, a real server removed) moves no
        /// counter, so the reading is not used again.
        var writes: UInt64
        /// `statistics` went to the watchdog (a reading the drift check made has not, until the next report).
        var reported: Bool
    }

    private let loop: CheckLoop
    private let makeClient: () throws(NetlinkError) -> any IPVSClient
    private let names: () -> [IPVSServiceKey: Names]
    /// Moves when this worker writes rules of the service (`IPVSSync.writeMark(of:)`).
    private let writes: (IPVSServiceKey) -> UInt64
    private let report: (IPVSStatisticsReport) -> Void
    private var client: (any IPVSClient)?
    private var timer: TimerID?
    private var reading = false
    private var stopped = false
    private var readings: [IPVSServiceKey: Reading] = [:]
    /// The names of the last read (`names()` builds them for every service), for `observe`; nil after `forget`.
    private var knownNames: [IPVSServiceKey: Names]?
    /// Counts `forget()`s: a read that began before one does not keep its readings.
    private var generation = 0
    /// The services of the last report, in its order, as the watchdog holds them: a report of the same services
    /// sends only those that changed, by index. Nil: the next report is whole (none yet, or a new configuration).
    private var reportedKeys: [IPVSServiceKey]?
    /// Real servers' dumps made, and services whose last reading was used instead (tests, `vigilctl status`).
    private(set) var destinationDumps: UInt64 = 0
    private(set) var readingsKept: UInt64 = 0
    /// Readings taken from the drift check's reads (`observe`).
    private(set) var readingsObserved: UInt64 = 0
    /// Gets every services list this reader reads (the drift check compares it instead of reading its own).
    var listed: ([IPVSService]) -> Void = { _ in }

    init(
        loop: CheckLoop, makeClient: @escaping () throws(NetlinkError) -> any IPVSClient,
        names: @escaping () -> [IPVSServiceKey: Names], writes: @escaping (IPVSServiceKey) -> UInt64,
        report: @escaping (IPVSStatisticsReport) -> Void
    ) {
        self.loop = loop
        self.makeClient = makeClient
        self.names = names
        self.writes = writes
        self.report = report
    }

    /// A new configuration may name services and real servers differently: nothing read before is used again.
    func forget() {
        readings = [:]
        knownNames = nil
        reportedKeys = nil
        generation += 1
    }

    /// A read of one service's real servers made by someone else (the drift check), with `service` from a services
    /// dump of the same turn: kept as this reader's reading of it, so its next read need not dump them again.
    func observe(_ service: IPVSService, destinations: [IPVSDestination]) {
        guard !stopped, let owner = knownNames?[service.key] else { return }
        let statistics = Self.statistics(of: service, destinations, names: owner)
        let last = readings[service.key]
        readings[service.key] = Reading(
            kernel: service.statistics, statistics: statistics, readAt: Int64(loop.now.uptimeNanoseconds),
            writes: writes(service.key), reported: last.map { $0.reported && $0.statistics == statistics } ?? false)
        readingsObserved += 1
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
        knownNames = managed
        guard !managed.isEmpty else { return scheduleNext() }
        if client == nil { client = try? makeClient() }
        guard let client else { return scheduleNext() }
        let services: [IPVSService]
        do {
            let all = try client.services()
            listed(all)
            services = all.filter { managed[$0.key] != nil }.sorted { $0.key < $1.key }
        } catch {
            self.client = nil
            return scheduleNext()
        }
        reading = true
        var previous = readings
        var current: [IPVSServiceKey: Reading] = [:]
        current.reserveCapacity(services.count)
        var result: [IPVSServiceStatistics] = []
        result.reserveCapacity(services.count)
        var keys: [IPVSServiceKey] = []
        keys.reserveCapacity(services.count)
        // Places in `result` of the services whose statistics differ from those last reported.
        var changed: [Int] = []
        // The loop's clock (virtual in tests), not the report's.
        let readAt = Int64(loop.now.uptimeNanoseconds)
        let startedIn = generation
        func slice(from start: Int) {
            guard !stopped, let client = self.client else {
                reading = false
                return
            }
            let end = min(services.count, start + Self.servicesPerSlice)
            for service in services[start..<end] {
                guard let owner = managed[service.key] else { continue }
                let last = previous.removeValue(forKey: service.key)
                // A reading from before a write of this worker to the service is not used: its real servers' weights
                // or presence may differ with no counter moved.
                let written = writes(service.key)
                if var last, last.kernel == service.statistics, last.writes == written,
                    readAt - last.readAt < HealthScheduler.nanoseconds(Self.refresh)
                {
                    readingsKept += 1
                    if !last.reported { changed.append(result.count) }
                    last.reported = true
                    current[service.key] = last
                    keys.append(service.key)
                    result.append(last.statistics)
                    continue
                }
                do {
                    destinationDumps += 1
                    let destinations = try client.destinations(of: service.key)
                    let statistics = Self.statistics(of: service, destinations, names: owner)
                    if statistics != last?.statistics || last?.reported != true { changed.append(result.count) }
                    current[service.key] = Reading(
                        kernel: service.statistics, statistics: statistics, readAt: readAt, writes: written,
                        reported: true)
                    keys.append(service.key)
                    result.append(statistics)
                } catch {
                    // The service went away meanwhile (a reload, ipvsadm -D): its counters are left out this time, and
                    // the report is whole.
                    continue
                }
            }
            guard end >= services.count else {
                loop.later { slice(from: end) }
                return
            }
            reading = false
            if startedIn == generation {
                // Readings the drift check made while this read went on, newer than the read's own.
                for (key, observed) in readings where observed.readAt > readAt { current[key] = observed }
                readings = current
            } else {
                readings = [:]
            }
            // The watchdog's clock for the report; `readAt` above is the loop's. (A `forget()` since the read began
            // left `reportedKeys` nil: the report is whole.)
            let finishedAt = monotonicNanoseconds()
            if keys == reportedKeys {
                report(
                    IPVSStatisticsReport(
                        services: changed.map { result[$0] }, readAt: finishedAt, serviceCount: keys.count,
                        changed: changed))
            } else {
                report(IPVSStatisticsReport(services: result, readAt: finishedAt, serviceCount: keys.count))
            }
            reportedKeys = startedIn == generation ? keys : nil
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
                endpoint: ServerAddress(destination.address, port: destination.port),
                naming: named.map { $0.port == nil ? .withoutPort : .withPort } ?? .unnamed,
                weight: Int(destination.weight),
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
