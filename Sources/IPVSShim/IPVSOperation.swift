import Config

/// A real server's identity: the service it belongs to and its address and port.
public struct IPVSDestinationKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var service: IPVSServiceKey
    public var address: IPAddress
    public var port: UInt16

    public init(service: IPVSServiceKey, address: IPAddress, port: UInt16) {
        self.service = service
        self.address = address
        self.port = port
    }

    public init(service: IPVSServiceKey, destination: IPVSDestination) {
        self.init(service: service, address: destination.address, port: destination.port)
    }

    /// "192.0.2.11:80 in TCP 192.0.2.100:80".
    public var description: String { "\(IPVSFormat.endpoint(address, port)) in \(service)" }

    /// ipvsadm's real-server order (`ipvs_cmp_dests`): family, address, port.
    public static func < (lhs: IPVSDestinationKey, rhs: IPVSDestinationKey) -> Bool {
        if lhs.service != rhs.service { return lhs.service < rhs.service }
        return IPVSDestinationKey.order(lhs.address, lhs.port, rhs.address, rhs.port)
    }

    static func order(_ lhsAddress: IPAddress, _ lhsPort: UInt16, _ rhsAddress: IPAddress, _ rhsPort: UInt16) -> Bool {
        let lhs = [lhsAddress.family == .ipv4 ? 0 : 1] + lhsAddress.bytes.map(Int.init) + [Int(lhsPort)]
        let rhs = [rhsAddress.family == .ipv4 ? 0 : 1] + rhsAddress.bytes.map(Int.init) + [Int(rhsPort)]
        return lhs.lexicographicallyPrecedes(rhs)
    }
}

/// One change to the kernel's IPVS state: one request, one ACK.
public enum IPVSOperation: Hashable, Sendable, CustomStringConvertible {
    /// `IPVS_CMD_NEW_SERVICE`.
    case addService(IPVSService)
    /// `IPVS_CMD_SET_SERVICE`: scheduler, flags, persistence timeout and netmask, persistence engine.
    case editService(IPVSService)
    /// `IPVS_CMD_DEL_SERVICE`; the kernel removes the service's real servers with it.
    case deleteService(IPVSServiceKey)
    /// `IPVS_CMD_NEW_DEST`.
    case addDestination(IPVSDestination, service: IPVSServiceKey)
    /// `IPVS_CMD_SET_DEST`: forwarding method, weight, thresholds, tunnel options.
    case editDestination(IPVSDestination, service: IPVSServiceKey)
    /// `IPVS_CMD_DEL_DEST`.
    case deleteDestination(IPVSDestinationKey)
    /// `IPVS_CMD_NEW_DAEMON`.
    case startSyncDaemon(IPVSSyncDaemon)
    /// `IPVS_CMD_DEL_DAEMON`.
    case stopSyncDaemon(IPVSSyncDaemon.State)
    /// `IPVS_CMD_SET_CONFIG`.
    case setTimeouts(IPVSTimeouts)
    /// `IPVS_CMD_ZERO`: one service's counters, or all with nil.
    case zeroCounters(IPVSServiceKey?)
    /// `IPVS_CMD_FLUSH`: every service and real server, Vigil's or not (`lvs_flush`).
    case flush

    /// The service the operation is about, if any.
    public var serviceKey: IPVSServiceKey? {
        switch self {
        case .addService(let service), .editService(let service): service.key
        case .deleteService(let key): key
        case .addDestination(_, let key), .editDestination(_, let key): key
        case .deleteDestination(let key): key.service
        case .zeroCounters(let key): key
        case .startSyncDaemon, .stopSyncDaemon, .setTimeouts, .flush: nil
        }
    }

    /// What an operator reads in front of the kernel's reason: "adding real server 192.0.2.11:80 to TCP
    /// 192.0.2.100:80".
    public var description: String {
        switch self {
        case .addService(let service): "adding virtual server \(service.key)"
        case .editService(let service): "updating virtual server \(service.key)"
        case .deleteService(let key): "removing virtual server \(key)"
        case .addDestination(let destination, let key): "adding real server \(destination.endpoint) to \(key)"
        case .editDestination(let destination, let key): "updating real server \(destination.endpoint) in \(key)"
        case .deleteDestination(let key):
            "removing real server \(IPVSFormat.endpoint(key.address, key.port)) from \(key.service)"
        case .startSyncDaemon(let daemon):
            "starting the \(daemon.state) sync daemon on \(daemon.interface) (syncid \(daemon.syncID))"
        case .stopSyncDaemon(let state): "stopping the \(state) sync daemon"
        case .setTimeouts(let timeouts):
            "setting timeouts tcp \(timeouts.tcp) tcpfin \(timeouts.tcpFin) udp \(timeouts.udp)"
        case .zeroCounters(let key?): "zeroing the counters of \(key)"
        case .zeroCounters(nil): "zeroing all counters"
        case .flush: "flushing all virtual servers"
        }
    }
}
