import Config

/// A route of protocol `keepalived` (18) deleted (`RTM_DELROUTE`): what keepalived compares to tell it is one of
/// an instance's tracked routes.
public struct RouteDeletion: Hashable, Sendable {
    public var destination: IPAddress
    public var prefixLength: UInt8
    /// `RTA_TABLE`, else the header's table.
    public var table: UInt32
    /// `RTA_PRIORITY` (0 when absent).
    public var metric: UInt32
    public var tos: UInt8
    /// `RTA_OIF`; nil for a route without one (blackhole, multipath).
    public var interfaceIndex: Int32?

    public init(
        destination: IPAddress, prefixLength: UInt8, table: UInt32, metric: UInt32 = 0, tos: UInt8 = 0,
        interfaceIndex: Int32? = nil
    ) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.table = table
        self.metric = metric
        self.tos = tos
        self.interfaceIndex = interfaceIndex
    }

    /// `RTM_DELROUTE`; `sizeof(struct rtmsg)`; `RTA_DST`, `RTA_OIF`, `RTA_PRIORITY`, `RTA_TABLE`.
    static let deleteRoute: UInt16 = 25
    static let headerLength = 12
    static let (destinationAttribute, outputInterfaceAttribute, priorityAttribute, tableAttribute):
        (UInt16, UInt16, UInt16, UInt16) = (1, 4, 6, 15)

    /// Decodes a route deletion; nil for other messages and for routes of other protocols (not Vigil's to track).
    /// - Throws: `NetlinkError` when the `rtmsg` or its attributes are malformed.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkError) -> RouteDeletion? {
        guard
            let payload = try message.notificationPayload(
                types: [deleteRoute], headerLength: headerLength, what: "route notification", header: "an rtmsg")
        else { return nil }
        let start = payload.startIndex
        let family = payload[start]
        guard payload[start + 5] == RouteSpec.keepalivedProtocol, family == 2 || family == 10 else { return nil }
        let attributes = try NetlinkAttributeList(
            parsing: payload[(start + headerLength)...], context: "route notification")
        let length = payload[start + 1]
        let destination: IPAddress
        if let raw = attributes.bytes(destinationAttribute) {
            guard let address = IPAddress(bytes: Array(raw)) else { throw attributes.missing("RTA_DST") }
            destination = address
        } else {
            destination = IPAddress(bytes: [UInt8](repeating: 0, count: family == 2 ? 4 : 16))!
        }
        return RouteDeletion(
            destination: destination, prefixLength: length,
            table: try attributes.integer(tableAttribute, as: UInt32.self) ?? UInt32(payload[start + 4]),
            metric: try attributes.integer(priorityAttribute, as: UInt32.self) ?? 0, tos: payload[start + 3],
            interfaceIndex: try attributes.integer(outputInterfaceAttribute, as: UInt32.self).map {
                Int32(bitPattern: $0)
            })
    }
}

/// A rule deleted (`RTM_DELRULE`) that is not another protocol's: what keepalived compares to tell it is one of
/// an instance's tracked rules.
public struct RuleDeletion: Hashable, Sendable {
    public var family: IPAddress.Family
    public var preference: UInt32?
    public var table: UInt32
    /// `FR_ACT_*`.
    public var action: UInt8
    public var source: IPAddress?
    public var sourcePrefixLength: UInt8
    public var destination: IPAddress?
    public var destinationPrefixLength: UInt8

    public init(
        family: IPAddress.Family, preference: UInt32?, table: UInt32, action: UInt8 = 1, source: IPAddress? = nil,
        sourcePrefixLength: UInt8 = 0, destination: IPAddress? = nil, destinationPrefixLength: UInt8 = 0
    ) {
        self.family = family
        self.preference = preference
        self.table = table
        self.action = action
        self.source = source
        self.sourcePrefixLength = sourcePrefixLength
        self.destination = destination
        self.destinationPrefixLength = destinationPrefixLength
    }

    /// `RTM_DELRULE`; `sizeof(struct fib_rule_hdr)`; `FRA_DST`, `FRA_SRC`, `FRA_PRIORITY`, `FRA_TABLE`,
    /// `FRA_PROTOCOL`.
    static let deleteRule: UInt16 = 33
    static let headerLength = 12
    static let (destinationAttribute, sourceAttribute, priorityAttribute, tableAttribute, protocolAttribute):
        (UInt16, UInt16, UInt16, UInt16, UInt16) = (1, 2, 6, 15, 21)

    /// Decodes a rule deletion; nil for other messages and rules of another protocol than keepalived's.
    /// - Throws: `NetlinkError` when the `fib_rule_hdr` or its attributes are malformed.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkError) -> RuleDeletion? {
        guard
            let payload = try message.notificationPayload(
                types: [deleteRule], headerLength: headerLength, what: "rule notification", header: "a fib_rule_hdr")
        else { return nil }
        let start = payload.startIndex
        guard let family: IPAddress.Family = [2: .ipv4, 10: .ipv6][payload[start]] else { return nil }
        let attributes = try NetlinkAttributeList(
            parsing: payload[(start + headerLength)...], context: "rule notification")
        if let proto = try attributes.integer(protocolAttribute, as: UInt8.self),
            proto != RouteSpec.keepalivedProtocol
        {
            return nil
        }
        return RuleDeletion(
            family: family, preference: try attributes.integer(priorityAttribute, as: UInt32.self),
            table: try attributes.integer(tableAttribute, as: UInt32.self) ?? UInt32(payload[start + 4]),
            action: payload[start + 7],
            source: attributes.bytes(sourceAttribute).flatMap { IPAddress(bytes: Array($0)) },
            sourcePrefixLength: payload[start + 2],
            destination: attributes.bytes(destinationAttribute).flatMap { IPAddress(bytes: Array($0)) },
            destinationPrefixLength: payload[start + 1])
    }
}
