import Config
import Netlink

/// Parses the kernel's IPVS replies (`ip_vs_genl_fill_*`) into typed values.
///
/// Every function takes the data messages a `NetlinkTransaction` collected; errors name what was being read.
/// Unknown attributes are skipped, so newer kernels stay readable.
public enum IPVSReply {
    private typealias Command = IPVSGenericNetlink.Command
    private typealias Attr = IPVSGenericNetlink.CommandAttribute
    private typealias ServiceAttr = IPVSGenericNetlink.ServiceAttribute
    private typealias DestAttr = IPVSGenericNetlink.DestinationAttribute
    private typealias DaemonAttr = IPVSGenericNetlink.DaemonAttribute
    private typealias StatsAttr = IPVSGenericNetlink.StatisticsAttribute

    /// The services of an `IPVS_CMD_GET_SERVICE` dump (one `IPVS_CMD_NEW_SERVICE` message each).
    public static func services(_ messages: [NetlinkMessage]) throws(NetlinkError) -> [IPVSService] {
        var services: [IPVSService] = []
        for message in messages {
            let attributes = try payload(message, expecting: .newService)
            guard let nest = try attributes.nested(Attr.service, context: "IPVS_CMD_ATTR_SERVICE") else {
                throw attributes.missing("IPVS_CMD_ATTR_SERVICE")
            }
            services.append(try service(nest))
        }
        return services
    }

    /// The real servers of an `IPVS_CMD_GET_DEST` dump of a service of `family`.
    public static func destinations(_ messages: [NetlinkMessage], serviceFamily family: IPAddress.Family)
        throws(NetlinkError) -> [IPVSDestination]
    {
        var destinations: [IPVSDestination] = []
        for message in messages {
            let attributes = try payload(message, expecting: .newDestination)
            guard let nest = try attributes.nested(Attr.destination, context: "IPVS_CMD_ATTR_DEST") else {
                throw attributes.missing("IPVS_CMD_ATTR_DEST")
            }
            destinations.append(try destination(nest, serviceFamily: family))
        }
        return destinations
    }

    /// The running sync daemons of an `IPVS_CMD_GET_DAEMON` dump.
    public static func daemons(_ messages: [NetlinkMessage]) throws(NetlinkError) -> [IPVSSyncDaemon] {
        var daemons: [IPVSSyncDaemon] = []
        for message in messages {
            let attributes = try payload(message, expecting: .newDaemon)
            guard let nest = try attributes.nested(Attr.daemon, context: "IPVS_CMD_ATTR_DAEMON") else {
                throw attributes.missing("IPVS_CMD_ATTR_DAEMON")
            }
            daemons.append(try daemon(nest))
        }
        return daemons
    }

    /// The timeouts of the `IPVS_CMD_SET_CONFIG` answer to `IPVS_CMD_GET_CONFIG`.
    public static func timeouts(_ messages: [NetlinkMessage]) throws(NetlinkError) -> IPVSTimeouts {
        let attributes = try single(messages, expecting: .setConfig)
        return IPVSTimeouts(
            tcp: try attributes.integer(Attr.timeoutTCP) ?? 0,
            tcpFin: try attributes.integer(Attr.timeoutTCPFin) ?? 0,
            udp: try attributes.integer(Attr.timeoutUDP) ?? 0)
    }

    /// The `IPVS_CMD_SET_INFO` answer to `IPVS_CMD_GET_INFO`.
    public static func info(_ messages: [NetlinkMessage]) throws(NetlinkError) -> IPVSInfo {
        let attributes = try single(messages, expecting: .setInfo)
        typealias InfoAttr = IPVSGenericNetlink.InfoAttribute
        return IPVSInfo(
            version: try attributes.required(InfoAttr.version, "IPVS_INFO_ATTR_VERSION"),
            connectionTableSize: try attributes.required(InfoAttr.connectionTableSize, "IPVS_INFO_ATTR_CONN_TAB_SIZE"))
    }

    // MARK: Nested entries

    /// A service from the attributes inside `IPVS_CMD_ATTR_SERVICE`.
    public static func service(_ attributes: NetlinkAttributeList) throws(NetlinkError) -> IPVSService {
        let family = try addressFamily(attributes.required(ServiceAttr.addressFamily, "IPVS_SVC_ATTR_AF"), attributes)
        let key: IPVSServiceKey
        if let mark: UInt32 = try attributes.integer(ServiceAttr.firewallMark), mark != 0 {
            key = .firewallMark(mark, family: family)
        } else {
            let number: UInt16 = try attributes.required(ServiceAttr.protocol, "IPVS_SVC_ATTR_PROTOCOL")
            guard let proto = IPVSProtocol(rawValue: number) else {
                throw NetlinkError(kind: .badAttribute, code: 0, message: "\(attributes.context): protocol \(number)")
            }
            let address = try self.address(ServiceAttr.address, "IPVS_SVC_ATTR_ADDR", family, attributes)
            guard let port = try attributes.networkOrderInteger(ServiceAttr.port, as: UInt16.self) else {
                throw attributes.missing("IPVS_SVC_ATTR_PORT")
            }
            key = .address(address, port: port, protocol: proto)
        }
        guard let scheduler = attributes.string(ServiceAttr.schedulerName) else {
            throw attributes.missing("IPVS_SVC_ATTR_SCHED_NAME")
        }
        // struct ip_vs_flags { __u32 flags; __u32 mask; }: the kernel reports mask ~0.
        guard let flags = attributes.bytes(ServiceAttr.flags)?.loadHostOrder(UInt32.self) else {
            throw attributes.missing("IPVS_SVC_ATTR_FLAGS")
        }
        let netmask: UInt32? =
            family == .ipv4
            ? try attributes.networkOrderInteger(ServiceAttr.netmask) : try attributes.integer(ServiceAttr.netmask)
        let engine = attributes.string(ServiceAttr.persistenceEngineName)
        return IPVSService(
            key: key, scheduler: scheduler, flags: IPVSServiceFlags(rawValue: flags),
            timeout: try attributes.integer(ServiceAttr.timeout) ?? 0, netmask: netmask,
            persistenceEngine: engine?.isEmpty == false ? engine : nil,
            statistics: try statistics(attributes, ServiceAttr.statistics64, ServiceAttr.statistics))
    }

    /// A real server from the attributes inside `IPVS_CMD_ATTR_DEST`; `ADDR_FAMILY` wins over the service's family.
    public static func destination(_ attributes: NetlinkAttributeList, serviceFamily: IPAddress.Family)
        throws(NetlinkError) -> IPVSDestination
    {
        var family = serviceFamily
        if let number: UInt16 = try attributes.integer(DestAttr.addressFamily) {
            family = try addressFamily(number, attributes)
        }
        let address = try self.address(DestAttr.address, "IPVS_DEST_ATTR_ADDR", family, attributes)
        guard let port = try attributes.networkOrderInteger(DestAttr.port, as: UInt16.self) else {
            throw attributes.missing("IPVS_DEST_ATTR_PORT")
        }
        let method: UInt32 = try attributes.required(DestAttr.forwardingMethod, "IPVS_DEST_ATTR_FWD_METHOD")
        guard let forwarding = IPVSForwardingMethod(rawValue: method & 0x7) else {  // IP_VS_CONN_F_FWD_MASK
            throw NetlinkError(
                kind: .badAttribute, code: 0, message: "\(attributes.context): forwarding method \(method)")
        }
        var tunnel = IPVSTunnel()
        if let type: UInt8 = try attributes.integer(DestAttr.tunnelType) {
            guard let tunnelType = IPVSTunnelType(rawValue: type) else {
                throw NetlinkError(kind: .badAttribute, code: 0, message: "\(attributes.context): tunnel type \(type)")
            }
            tunnel.type = tunnelType
        }
        tunnel.port = try attributes.networkOrderInteger(DestAttr.tunnelPort) ?? 0
        tunnel.flags = IPVSTunnelFlags(rawValue: try attributes.integer(DestAttr.tunnelFlags) ?? 0)
        var destination = IPVSDestination(
            address: address, port: port, forwarding: forwarding,
            weight: try attributes.required(DestAttr.weight, "IPVS_DEST_ATTR_WEIGHT"),
            upperThreshold: try attributes.integer(DestAttr.upperThreshold) ?? 0,
            lowerThreshold: try attributes.integer(DestAttr.lowerThreshold) ?? 0, tunnel: tunnel)
        destination.activeConnections = try attributes.integer(DestAttr.activeConnections) ?? 0
        destination.inactiveConnections = try attributes.integer(DestAttr.inactiveConnections) ?? 0
        destination.persistentConnections = try attributes.integer(DestAttr.persistentConnections) ?? 0
        destination.statistics = try statistics(attributes, DestAttr.statistics64, DestAttr.statistics)
        return destination
    }

    /// A sync daemon from the attributes inside `IPVS_CMD_ATTR_DAEMON`.
    public static func daemon(_ attributes: NetlinkAttributeList) throws(NetlinkError) -> IPVSSyncDaemon {
        let number: UInt32 = try attributes.required(DaemonAttr.state, "IPVS_DAEMON_ATTR_STATE")
        guard let state = IPVSSyncDaemon.State(rawValue: number) else {
            throw NetlinkError(kind: .badAttribute, code: 0, message: "\(attributes.context): daemon state \(number)")
        }
        guard let interface = attributes.string(DaemonAttr.multicastInterface) else {
            throw attributes.missing("IPVS_DAEMON_ATTR_MCAST_IFN")
        }
        var group: IPAddress?
        if let bytes = attributes.bytes(DaemonAttr.multicastGroup6), bytes.count >= 16 {
            group = IPAddress(bytes: Array(bytes.prefix(16)))
        } else if let value = try attributes.networkOrderInteger(DaemonAttr.multicastGroup, as: UInt32.self),
            value != 0
        {
            group = .v4(value)
        }
        return IPVSSyncDaemon(
            state: state, interface: interface,
            syncID: try attributes.required(DaemonAttr.syncID, "IPVS_DAEMON_ATTR_SYNC_ID"),
            maximumLength: try attributes.integer(DaemonAttr.syncMaximumLength), group: group,
            port: try attributes.integer(DaemonAttr.multicastPort), ttl: try attributes.integer(DaemonAttr.multicastTTL)
        )
    }

    // MARK: Helpers

    /// The attributes of a data message, after checking it carries `command`.
    private static func payload(_ message: NetlinkMessage, expecting command: IPVSGenericNetlink.Command)
        throws(NetlinkError) -> NetlinkAttributeList
    {
        let reply = try GenericNetlinkReply(message)
        guard reply.command == command.rawValue else {
            throw NetlinkError(
                kind: .unexpectedMessage, code: 0,
                message: "IPVS: command \(reply.command) where \(command) (\(command.rawValue)) was expected")
        }
        return reply.attributes
    }

    private static func single(_ messages: [NetlinkMessage], expecting command: IPVSGenericNetlink.Command)
        throws(NetlinkError) -> NetlinkAttributeList
    {
        guard messages.count == 1 else {
            throw NetlinkError(
                kind: .unexpectedMessage, code: 0,
                message: "IPVS: \(messages.count) replies where one \(command) was expected")
        }
        return try payload(messages[0], expecting: command)
    }

    private static func addressFamily(_ number: UInt16, _ attributes: NetlinkAttributeList) throws(NetlinkError)
        -> IPAddress.Family
    {
        switch number {
        case IPVSGenericNetlink.AddressFamily.inet: return .ipv4
        case IPVSGenericNetlink.AddressFamily.inet6: return .ipv6
        default:
            throw NetlinkError(kind: .badAttribute, code: 0, message: "\(attributes.context): address family \(number)")
        }
    }

    /// The first 4 or 16 bytes of an `nf_inet_addr` attribute.
    private static func address(
        _ type: UInt16, _ name: String, _ family: IPAddress.Family, _ attributes: NetlinkAttributeList
    ) throws(NetlinkError) -> IPAddress {
        guard let bytes = attributes.bytes(type) else { throw attributes.missing(name) }
        let length = family == .ipv4 ? 4 : 16
        guard bytes.count >= length, let address = IPAddress(bytes: Array(bytes.prefix(length))) else {
            throw NetlinkError(
                kind: .badAttribute, code: 0, message: "\(attributes.context): \(name) has \(bytes.count) bytes")
        }
        return address
    }

    /// `STATS64` when present (kernels since 4.1), else the 32-bit `STATS`; nil when neither.
    private static func statistics(_ attributes: NetlinkAttributeList, _ wide: UInt16, _ narrow: UInt16)
        throws(NetlinkError) -> IPVSStatistics?
    {
        let nest: NetlinkAttributeList
        if let found = try attributes.nested(wide, context: "STATS64") {
            nest = found
        } else if let found = try attributes.nested(narrow, context: "STATS") {
            nest = found
        } else {
            return nil
        }
        var result = IPVSStatistics()
        result.connections = try nest.counter(StatsAttr.connections) ?? 0
        result.incomingPackets = try nest.counter(StatsAttr.incomingPackets) ?? 0
        result.outgoingPackets = try nest.counter(StatsAttr.outgoingPackets) ?? 0
        result.incomingBytes = try nest.counter(StatsAttr.incomingBytes) ?? 0
        result.outgoingBytes = try nest.counter(StatsAttr.outgoingBytes) ?? 0
        result.connectionRate = try nest.counter(StatsAttr.connectionRate) ?? 0
        result.incomingPacketRate = try nest.counter(StatsAttr.incomingPacketRate) ?? 0
        result.outgoingPacketRate = try nest.counter(StatsAttr.outgoingPacketRate) ?? 0
        result.incomingByteRate = try nest.counter(StatsAttr.incomingByteRate) ?? 0
        result.outgoingByteRate = try nest.counter(StatsAttr.outgoingByteRate) ?? 0
        return result
    }
}
