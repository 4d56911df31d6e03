import Config
import Netlink

@testable import IPVSShim

/// Bytes from "0a 00 ff" text, so expected wire images read like a hex dump.
func hex(_ text: String) -> [UInt8] {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { UInt8($0, radix: 16)! }
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }

/// The family id used in tests; the kernel assigns one at module load.
let testFamily: UInt16 = 0x1c

/// Builds replies the way the kernel's `ip_vs_genl_fill_*` does: nests without `NLA_F_NESTED`
/// (`nla_nest_start_noflag`), addresses in 16 bytes, flags with mask ~0, both STATS and STATS64.
enum KernelReply {
    typealias S = IPVSGenericNetlink.ServiceAttribute
    typealias D = IPVSGenericNetlink.DestinationAttribute

    /// A nest as the kernel writes it: plain type, no flag.
    static func nest(_ type: UInt16, _ children: [NetlinkAttribute]) -> NetlinkAttribute {
        .bytes(type, children.encoded())
    }

    static func message(
        _ command: IPVSGenericNetlink.Command, _ attributes: [NetlinkAttribute], sequence: UInt32,
        flags: NetlinkMessageFlags = [.multi]
    ) -> [UInt8] {
        GenericNetlinkMessage(
            family: testFamily, command: command.rawValue, version: 1, flags: flags, attributes: attributes
        ).encode(sequence: sequence, portID: 4242)
    }

    static func stats(_ type: UInt16, wide: Bool, connections: UInt64) -> NetlinkAttribute {
        typealias A = IPVSGenericNetlink.StatisticsAttribute
        let counter: (UInt16, UInt64) -> NetlinkAttribute = { wide ? .u64($0, $1) : .u32($0, UInt32($1)) }
        return nest(
            type,
            [
                counter(A.connections, connections), counter(A.incomingPackets, 10), counter(A.outgoingPackets, 9),
                .u64(A.incomingBytes, 1000), .u64(A.outgoingBytes, 900), counter(A.connectionRate, 1),
                counter(A.incomingPacketRate, 2), counter(A.outgoingPacketRate, 3), counter(A.incomingByteRate, 4),
                counter(A.outgoingByteRate, 5),
            ])
    }

    static func service(_ service: IPVSService, connections: UInt64 = 7) -> [NetlinkAttribute] {
        var attributes: [NetlinkAttribute] = [.u16(S.addressFamily, IPVSMessage.addressFamily(service.key.family))]
        switch service.key {
        case .address(let address, let port, let proto):
            attributes += [
                .u16(S.protocol, proto.rawValue), .bytes(S.address, IPVSMessage.addressBytes(address)),
                .be16(S.port, port),
            ]
        case .firewallMark(let mark, _):
            attributes.append(.u32(S.firewallMark, mark))
        }
        attributes.append(.string(S.schedulerName, service.scheduler))
        if let engine = service.persistenceEngine { attributes.append(.string(S.persistenceEngineName, engine)) }
        var flags: [UInt8] = []
        flags.appendHostOrder(service.flags.union(.hashed).rawValue)
        flags.appendHostOrder(UInt32.max)
        attributes += [
            .bytes(S.flags, flags), .u32(S.timeout, service.timeout),
            IPVSMessage.netmaskAttribute(service.netmask, family: service.key.family),
            stats(S.statistics, wide: false, connections: connections),
            stats(S.statistics64, wide: true, connections: connections),
        ]
        return [nest(IPVSGenericNetlink.CommandAttribute.service, attributes)]
    }

    static func destination(_ destination: IPVSDestination, active: UInt32 = 0, inactive: UInt32 = 0)
        -> [NetlinkAttribute]
    {
        [
            nest(
                IPVSGenericNetlink.CommandAttribute.destination,
                [
                    .bytes(D.address, IPVSMessage.addressBytes(destination.address)), .be16(D.port, destination.port),
                    .u32(D.forwardingMethod, destination.forwarding.rawValue), .u32(D.weight, destination.weight),
                    .u8(D.tunnelType, destination.tunnel.type.rawValue), .be16(D.tunnelPort, destination.tunnel.port),
                    .u16(D.tunnelFlags, destination.tunnel.flags.rawValue),
                    .u32(D.upperThreshold, destination.upperThreshold),
                    .u32(D.lowerThreshold, destination.lowerThreshold), .u32(D.activeConnections, active),
                    .u32(D.inactiveConnections, inactive), .u32(D.persistentConnections, 0),
                    .u16(D.addressFamily, IPVSMessage.addressFamily(destination.family)),
                    stats(D.statistics, wide: false, connections: 3), stats(D.statistics64, wide: true, connections: 3),
                ])
        ]
    }

    static func done(sequence: UInt32, status: Int32 = 0) -> [UInt8] {
        var payload: [UInt8] = []
        payload.appendHostOrder(status)
        return NetlinkMessage.encode(
            type: NetlinkMessageType.done, flags: [.multi], sequence: sequence, portID: 4242, payload: payload)
    }

    /// `NLMSG_ERROR`: -errno, then the request's header (capped) or the whole request, then optional TLVs.
    static func error(
        errno: Int32, sequence: UInt32, request: [UInt8]? = nil, extendedMessage: String? = nil
    ) -> [UInt8] {
        var payload: [UInt8] = []
        payload.appendHostOrder(-errno)
        var flags: NetlinkMessageFlags = []
        let original =
            request
            ?? NetlinkMessage.encode(
                type: testFamily, flags: [.request, .ack], sequence: sequence, payload: [1, 1, 0, 0])
        if request == nil {
            flags.insert(.capped)
            payload += original.prefix(NetlinkHeader.length)
        } else {
            payload += original
        }
        if let extendedMessage {
            flags.insert(.acknowledgementTLVs)
            payload += [NetlinkAttribute.string(1, extendedMessage)].encoded()  // NLMSGERR_ATTR_MSG
        }
        return NetlinkMessage.encode(
            type: NetlinkMessageType.error, flags: flags, sequence: sequence, portID: 4242, payload: payload)
    }
}
