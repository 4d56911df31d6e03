import Config
import Netlink

/// Builds IPVS generic netlink requests, byte for byte as the kernel's `ip_vs_genl_parse_*` expect them.
///
/// Integers are in host order except where the kernel reads `__be16`/`__be32`: service and real server ports,
/// the tunnel port, the IPv4 persistence netmask and the IPv4 sync group. Addresses are sent in 16 bytes
/// (`union nf_inet_addr`), as ipvsadm's libipvs and the kernel's own replies do.
public enum IPVSMessage {
    private typealias Command = IPVSGenericNetlink.Command
    private typealias Attr = IPVSGenericNetlink.CommandAttribute
    private typealias ServiceAttr = IPVSGenericNetlink.ServiceAttribute
    private typealias DestAttr = IPVSGenericNetlink.DestinationAttribute
    private typealias DaemonAttr = IPVSGenericNetlink.DaemonAttribute

    /// Flags of requests that change state: the kernel answers with an ACK or an errno.
    public static let writeFlags: NetlinkMessageFlags = [.request, .ack]
    /// Flags of dump requests, answered with `NLM_F_MULTI` parts and `NLMSG_DONE`.
    public static let dumpFlags: NetlinkMessageFlags = [.request, .dump]

    // MARK: Requests as values

    /// The request carrying `operation`.
    public static func request(for operation: IPVSOperation, family: UInt16) -> GenericNetlinkMessage {
        switch operation {
        case .addService(let service):
            message(.newService, family, [.nested(Attr.service, serviceAttributes(service))])
        case .editService(let service):
            message(.setService, family, [.nested(Attr.service, serviceAttributes(service))])
        case .deleteService(let key):
            message(.deleteService, family, [.nested(Attr.service, serviceKeyAttributes(key))])
        case .addDestination(let destination, let key):
            message(.newDestination, family, destinationAttributes(destination, key, full: true))
        case .editDestination(let destination, let key):
            message(.setDestination, family, destinationAttributes(destination, key, full: true))
        case .deleteDestination(let key):
            message(
                .deleteDestination, family,
                destinationAttributes(IPVSDestination(address: key.address, port: key.port), key.service, full: false))
        case .startSyncDaemon(let daemon):
            message(.newDaemon, family, [.nested(Attr.daemon, daemonAttributes(daemon))])
        case .stopSyncDaemon(let state):
            message(.deleteDaemon, family, [.nested(Attr.daemon, [.u32(DaemonAttr.state, state.rawValue)])])
        case .setTimeouts(let timeouts):
            message(
                .setConfig, family,
                [
                    .u32(Attr.timeoutTCP, timeouts.tcp), .u32(Attr.timeoutTCPFin, timeouts.tcpFin),
                    .u32(Attr.timeoutUDP, timeouts.udp),
                ])
        case .zeroCounters(let key):
            message(.zero, family, key.map { [.nested(Attr.service, serviceKeyAttributes($0))] } ?? [])
        case .flush:
            message(.flush, family, [])
        }
    }

    /// `IPVS_CMD_GET_SERVICE` as a dump: every virtual service.
    public static func getServices(family: UInt16) -> GenericNetlinkMessage {
        message(.getService, family, [], flags: dumpFlags)
    }

    /// `IPVS_CMD_GET_DEST` as a dump: the real servers of `service`.
    public static func getDestinations(of service: IPVSServiceKey, family: UInt16) -> GenericNetlinkMessage {
        message(.getDestination, family, [.nested(Attr.service, serviceKeyAttributes(service))], flags: dumpFlags)
    }

    /// `IPVS_CMD_GET_DAEMON` as a dump: the running sync daemons.
    public static func getDaemons(family: UInt16) -> GenericNetlinkMessage {
        message(.getDaemon, family, [], flags: dumpFlags)
    }

    /// `IPVS_CMD_GET_CONFIG`: the timeouts, answered with one `IPVS_CMD_SET_CONFIG` message and the ACK.
    public static func getConfig(family: UInt16) -> GenericNetlinkMessage {
        message(.getConfig, family, [])
    }

    /// `IPVS_CMD_GET_INFO`: version and connection table size, answered with `IPVS_CMD_SET_INFO` and the ACK.
    public static func getInfo(family: UInt16) -> GenericNetlinkMessage {
        message(.getInfo, family, [])
    }

    // MARK: Requests as bytes

    /// The bytes of `operation`'s request.
    public static func encode(_ operation: IPVSOperation, sequence: UInt32, family: UInt16) -> [UInt8] {
        request(for: operation, family: family).encode(sequence: sequence)
    }

    public static func newService(_ service: IPVSService, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.addService(service), sequence: sequence, family: family)
    }

    public static func setService(_ service: IPVSService, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.editService(service), sequence: sequence, family: family)
    }

    public static func deleteService(_ key: IPVSServiceKey, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.deleteService(key), sequence: sequence, family: family)
    }

    public static func newDestination(
        _ destination: IPVSDestination, service: IPVSServiceKey, sequence: UInt32, family: UInt16
    ) -> [UInt8] {
        encode(.addDestination(destination, service: service), sequence: sequence, family: family)
    }

    public static func setDestination(
        _ destination: IPVSDestination, service: IPVSServiceKey, sequence: UInt32, family: UInt16
    ) -> [UInt8] {
        encode(.editDestination(destination, service: service), sequence: sequence, family: family)
    }

    public static func deleteDestination(_ key: IPVSDestinationKey, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.deleteDestination(key), sequence: sequence, family: family)
    }

    public static func newDaemon(_ daemon: IPVSSyncDaemon, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.startSyncDaemon(daemon), sequence: sequence, family: family)
    }

    public static func deleteDaemon(_ state: IPVSSyncDaemon.State, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.stopSyncDaemon(state), sequence: sequence, family: family)
    }

    public static func setConfig(_ timeouts: IPVSTimeouts, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.setTimeouts(timeouts), sequence: sequence, family: family)
    }

    public static func zero(_ service: IPVSServiceKey?, sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.zeroCounters(service), sequence: sequence, family: family)
    }

    public static func flush(sequence: UInt32, family: UInt16) -> [UInt8] {
        encode(.flush, sequence: sequence, family: family)
    }

    // MARK: Attributes

    /// The identifying attributes: AF, then FWMARK or PROTOCOL, ADDR, PORT (`ip_vs_genl_parse_service`).
    public static func serviceKeyAttributes(_ key: IPVSServiceKey) -> [NetlinkAttribute] {
        switch key {
        case .address(let address, let port, let proto):
            [
                .u16(ServiceAttr.addressFamily, addressFamily(address.family)),
                .u16(ServiceAttr.protocol, proto.rawValue),
                .bytes(ServiceAttr.address, addressBytes(address)),
                .be16(ServiceAttr.port, port),
            ]
        case .firewallMark(let mark, let family):
            [.u16(ServiceAttr.addressFamily, addressFamily(family)), .u32(ServiceAttr.firewallMark, mark)]
        }
    }

    /// A full service entry, as NEW_SERVICE and SET_SERVICE require: the key, SCHED_NAME, [PE_NAME,] FLAGS
    /// (`struct ip_vs_flags` with mask ~0, so the kernel takes every flag from us), TIMEOUT, NETMASK.
    public static func serviceAttributes(_ service: IPVSService) -> [NetlinkAttribute] {
        var attributes = serviceKeyAttributes(service.key)
        attributes.append(.string(ServiceAttr.schedulerName, service.scheduler))
        if let engine = service.persistenceEngine, !engine.isEmpty {
            attributes.append(.string(ServiceAttr.persistenceEngineName, engine))
        }
        var flags: [UInt8] = []
        flags.appendHostOrder(service.flags.configurable.rawValue)
        flags.appendHostOrder(UInt32.max)
        attributes.append(.bytes(ServiceAttr.flags, flags))
        attributes.append(.u32(ServiceAttr.timeout, service.timeout))
        attributes.append(netmaskAttribute(service.netmask, family: service.key.family))
        return attributes
    }

    /// The service key and the real server (`ip_vs_genl_parse_dest`): ADDR, PORT, ADDR_FAMILY, and for NEW_DEST and
    /// SET_DEST also FWD_METHOD, WEIGHT, U_THRESH, L_THRESH, and with tunnel forwarding TUN_TYPE, TUN_PORT, TUN_FLAGS.
    public static func destinationAttributes(_ destination: IPVSDestination, _ service: IPVSServiceKey, full: Bool)
        -> [NetlinkAttribute]
    {
        var attributes: [NetlinkAttribute] = [
            .bytes(DestAttr.address, addressBytes(destination.address)),
            .be16(DestAttr.port, destination.port),
            .u16(DestAttr.addressFamily, addressFamily(destination.family)),
        ]
        if full {
            attributes += [
                .u32(DestAttr.forwardingMethod, destination.forwarding.rawValue),
                .u32(DestAttr.weight, destination.weight),
                .u32(DestAttr.upperThreshold, destination.upperThreshold),
                .u32(DestAttr.lowerThreshold, destination.lowerThreshold),
            ]
            if destination.forwarding == .tunnel {
                attributes += [
                    .u8(DestAttr.tunnelType, destination.tunnel.type.rawValue),
                    .be16(DestAttr.tunnelPort, destination.tunnel.port),
                    .u16(DestAttr.tunnelFlags, destination.tunnel.flags.rawValue),
                ]
            }
        }
        return [.nested(Attr.service, serviceKeyAttributes(service)), .nested(Attr.destination, attributes)]
    }

    /// STATE, MCAST_IFN, SYNC_ID, and the optional SYNC_MAXLEN, MCAST_GROUP or GROUP6, MCAST_PORT (host order, as
    /// the kernel's `nla_get_u16` reads it), MCAST_TTL.
    public static func daemonAttributes(_ daemon: IPVSSyncDaemon) -> [NetlinkAttribute] {
        var attributes: [NetlinkAttribute] = [
            .u32(DaemonAttr.state, daemon.state.rawValue),
            .string(DaemonAttr.multicastInterface, daemon.interface),
            .u32(DaemonAttr.syncID, daemon.syncID),
        ]
        if let length = daemon.maximumLength { attributes.append(.u16(DaemonAttr.syncMaximumLength, length)) }
        switch daemon.group {
        case .v4(let group)?: attributes.append(.be32(DaemonAttr.multicastGroup, group))
        case .v6(let bytes)?: attributes.append(.bytes(DaemonAttr.multicastGroup6, bytes))
        case nil: break
        }
        if let port = daemon.port { attributes.append(.u16(DaemonAttr.multicastPort, port)) }
        if let ttl = daemon.ttl { attributes.append(.u8(DaemonAttr.multicastTTL, ttl)) }
        return attributes
    }

    /// `AF_INET` or `AF_INET6`.
    public static func addressFamily(_ family: IPAddress.Family) -> UInt16 {
        family == .ipv4 ? IPVSGenericNetlink.AddressFamily.inet : IPVSGenericNetlink.AddressFamily.inet6
    }

    /// The address in network order, zero-filled to `sizeof(union nf_inet_addr)`.
    static func addressBytes(_ address: IPAddress) -> [UInt8] {
        address.bytes + Array(repeating: 0, count: IPVSGenericNetlink.addressAttributeLength - address.bytes.count)
    }

    /// `IPVS_SVC_ATTR_NETMASK` is a `__be32`: an IPv4 mask goes in network order, while for IPv6 the kernel
    /// reads the same four bytes back as a host-order prefix length (`(__force __u32) u->netmask`).
    static func netmaskAttribute(_ netmask: UInt32, family: IPAddress.Family) -> NetlinkAttribute {
        family == .ipv4 ? .be32(ServiceAttr.netmask, netmask) : .u32(ServiceAttr.netmask, netmask)
    }

    private static func message(
        _ command: IPVSGenericNetlink.Command, _ family: UInt16, _ attributes: [NetlinkAttribute],
        flags: NetlinkMessageFlags = writeFlags
    ) -> GenericNetlinkMessage {
        GenericNetlinkMessage(
            family: family, command: command.rawValue, version: IPVSGenericNetlink.version, flags: flags,
            attributes: attributes)
    }
}
