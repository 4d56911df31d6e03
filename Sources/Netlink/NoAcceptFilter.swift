import CNetlink
import CNftables
import Config

#if canImport(Glibc)
    import Glibc
#endif

/// keepalived's no-accept filter in nftables (RFC 5798 §6.1 Accept_Mode false): while a non-owner instance without
/// `accept` is MASTER, packets to and from its virtual addresses are dropped, except IPv6 neighbour discovery.
///
/// For each family a table (`vigil` by default, keepalived's `nftables NAME` names it), as `nft list ruleset` shows:
///
///     table ip vigil {
///         set vips { type ipv4_addr }
///         chain in { type filter hook input priority -1; policy accept; ip daddr @vips drop }
///         chain out { type filter hook output priority -1; policy accept; ip saddr @vips drop }
///     }
///
/// (`ip6`: `icmpv6 type nd-neighbor-solicit/-advert accept` first in both chains.) A table is (re)built in one batch
/// the first time a family is needed, so leftovers of a crashed run never duplicate rules; addresses then come and
/// go as set elements. The batches (`NoAcceptBatches`) are sent on a `NETLINK_NETFILTER` socket and the kernel's
/// acknowledgements read with `NetlinkMessage`. Blocking and not thread-safe: one per engine loop.
public final class NoAcceptFilter {
    public var table: String { batches.table }
    public var priority: Int32 { batches.priority }
    /// `nftables_counters`: a counter on each drop rule.
    public var counters: Bool { batches.counters }
    private let socket: Int32
    private var batches: NoAcceptBatches
    private var builtFamilies: Set<IPAddress.Family> = []

    /// Opens the socket.
    /// The corresponding C calls are `socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)` and `bind` (port chosen by the
    /// kernel).
    public init(table: String = "vigil", priority: Int32 = -1, counters: Bool = false) throws(NetlinkError) {
        let type = Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let socket = Glibc.socket(AF_NETLINK, type, NETLINK_NETFILTER)
        guard socket >= 0 else { throw NetlinkError(kernelErrno: errno, operation: "opening an nftables socket") }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(socket)
            throw NetlinkError(kernelErrno: code, operation: "binding an nftables socket")
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
        batches = NoAcceptBatches(
            table: table, priority: priority, counters: counters, sequence: UInt32(truncatingIfNeeded: time(nil)))
    }

    deinit { close(socket) }

    /// Drops traffic to and from `addresses` (their family's table is built first if needed).
    /// - Throws: `NetlinkError` naming the addresses when the kernel refuses (no nftables, no permission).
    public func block(_ addresses: [IPAddress]) throws(NetlinkError) {
        for family in [IPAddress.Family.ipv4, .ipv6] {
            let ofFamily = addresses.filter { $0.family == family }
            guard !ofFamily.isEmpty else { continue }
            let batch = batches.block(ofFamily, family: family, buildingTable: !builtFamilies.contains(family))
            try send(batch, operation: "cannot drop traffic to \(Self.list(ofFamily)) in nftables table \(table)")
            builtFamilies.insert(family)
        }
    }

    /// Lets traffic to and from `addresses` through again; addresses not blocked are not an error.
    public func unblock(_ addresses: [IPAddress]) throws(NetlinkError) {
        for family in [IPAddress.Family.ipv4, .ipv6] where builtFamilies.contains(family) {
            for address in addresses where address.family == family {
                let batch = batches.unblock(address)
                do {
                    try send(batch, operation: "cannot let traffic to \(address) through nftables table \(table)")
                } catch  where error.errno == ENOENT {
                    continue  // not in the set
                }
            }
        }
    }

    /// Deletes the tables (the daemon stops releasing what it holds); tables that are not there are not an error.
    public func removeTables() throws(NetlinkError) {
        for family in [IPAddress.Family.ipv4, .ipv6] {
            try send(batches.removeTable(family), operation: "cannot delete nftables table \(table)")
        }
        builtFamilies = []
    }

    // MARK: Sending

    /// Sends `batch` and waits for the acknowledgement of each of its messages.
    /// The corresponding C call is `sendto` to the kernel (port 0).
    private func send(_ batch: NoAcceptBatches.Batch, operation: String) throws(NetlinkError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        var sent: Int
        repeat {
            sent = batch.bytes.withUnsafeBytes { bytes in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socket, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == batch.bytes.count else { throw NetlinkError(kernelErrno: errno, operation: operation) }
        try awaitAcknowledgements(batch.acknowledged, operation: operation)
    }

    /// Reads the kernel's answers until each message in `waiting` is acknowledged; the first error ends it.
    /// The corresponding C call is `recv`.
    private func awaitAcknowledgements(_ waiting: Set<UInt32>, operation: String) throws(NetlinkError) {
        var waiting = waiting
        var buffer = [UInt8](repeating: 0, count: 16384)
        while !waiting.isEmpty {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(kernelErrno: errno, operation: "\(operation): no answer from the kernel")
            }
            for message in try NetlinkMessage.parseAll(Array(buffer[0..<count]))
            where waiting.contains(message.header.sequence) && message.header.type == NetlinkMessageType.error {
                let answer = try NetlinkErrorMessage(message)
                guard answer.errno == 0 else {
                    throw NetlinkError(
                        kernelErrno: answer.errno, operation: operation, extendedMessage: answer.extendedMessage)
                }
                waiting.remove(message.header.sequence)
            }
        }
    }

    private static func list(_ addresses: [IPAddress]) -> String {
        addresses.map(\.description).joined(separator: ", ")
    }
}

/// The nftables batches of the no-accept filter, as bytes (pure). They are the messages libnftnl 1.2 builds for the
/// same objects, attribute for attribute (`Tests/NetlinkTests/Fixtures/libnftnl-batches.hex` holds what it built):
/// nfnetlink version 0, integers in network order, nests flagged `NLA_F_NESTED`, names with their NUL.
/// Each message takes the next sequence number and asks for an acknowledgement; the batch's BEGIN and END take theirs
/// after its messages.
struct NoAcceptBatches {
    /// A batch between `NFNL_MSG_BATCH_BEGIN` and `_END`, and the sequence numbers to be acknowledged.
    struct Batch {
        var bytes: [UInt8] = []
        var acknowledged: Set<UInt32> = []
    }

    let table: String
    let priority: Int32
    let counters: Bool
    /// The last sequence number used.
    var sequence: UInt32

    /// nft's data types of the sets' keys (nftables' `enum datatypes`, not in the kernel's headers).
    private static let ipv4AddressType: UInt32 = 7
    private static let ipv6AddressType: UInt32 = 8

    /// Adds `addresses` (all of `family`) to the family's set, (re)building the table first when asked.
    mutating func block(_ addresses: [IPAddress], family: IPAddress.Family, buildingTable: Bool) -> Batch {
        var messages: [[UInt8]] = []
        if buildingTable { messages += tableMessages(family) }
        messages.append(elements(addresses, family: family, add: true))
        return batch(messages)
    }

    /// Removes `address` from its family's set.
    mutating func unblock(_ address: IPAddress) -> Batch {
        batch([elements([address], family: address.family, add: false)])
    }

    /// Deletes the family's table. Creating it first makes the delete succeed whether or not it was there.
    mutating func removeTable(_ family: IPAddress.Family) -> Batch {
        batch([
            message(NFT_MSG_NEWTABLE, family: family, flags: NLM_F_CREATE, tableAttributes),
            message(NFT_MSG_DELTABLE, family: family, flags: 0, tableAttributes),
        ])
    }

    // MARK: Objects

    private var tableAttributes: [NetlinkAttribute] { [.string(attribute(NFTA_TABLE_NAME.rawValue), table)] }

    /// Delete-and-create the family's table (atomic within the batch), its chains, set and rules.
    private mutating func tableMessages(_ family: IPAddress.Family) -> [[UInt8]] {
        var messages = [
            message(NFT_MSG_NEWTABLE, family: family, flags: NLM_F_CREATE, tableAttributes),
            message(NFT_MSG_DELTABLE, family: family, flags: 0, tableAttributes),
            message(NFT_MSG_NEWTABLE, family: family, flags: NLM_F_CREATE, tableAttributes),
        ]
        for (name, hook) in [("in", NF_INET_LOCAL_IN), ("out", NF_INET_LOCAL_OUT)] {
            messages.append(
                message(
                    NFT_MSG_NEWCHAIN, family: family, flags: NLM_F_CREATE,
                    [
                        .string(attribute(NFTA_CHAIN_TABLE.rawValue), table),
                        .string(attribute(NFTA_CHAIN_NAME.rawValue), name),
                        .nested(
                            attribute(NFTA_CHAIN_HOOK.rawValue),
                            [
                                .be32(attribute(NFTA_HOOK_HOOKNUM.rawValue), hook.rawValue),
                                .be32(attribute(NFTA_HOOK_PRIORITY.rawValue), UInt32(bitPattern: priority)),
                            ]),
                        .be32(attribute(NFTA_CHAIN_POLICY.rawValue), UInt32(NF_ACCEPT)),
                        .string(attribute(NFTA_CHAIN_TYPE.rawValue), "filter"),
                    ]))
        }
        messages.append(
            message(
                NFT_MSG_NEWSET, family: family, flags: NLM_F_CREATE,
                [
                    .string(attribute(NFTA_SET_TABLE.rawValue), table),
                    .string(attribute(NFTA_SET_NAME.rawValue), "vips"),
                    .be32(
                        attribute(NFTA_SET_KEY_TYPE.rawValue),
                        family == .ipv4 ? Self.ipv4AddressType : Self.ipv6AddressType),
                    .be32(attribute(NFTA_SET_KEY_LEN.rawValue), family == .ipv4 ? 4 : 16),
                    .be32(attribute(NFTA_SET_ID.rawValue), 1),
                ]))
        for chain in ["in", "out"] {
            if family == .ipv6 {
                // Neighbour solicitations and advertisements for the addresses must still flow (keepalived).
                for type: UInt8 in [135, 136] {
                    messages.append(
                        rule(
                            family, chain: chain,
                            [
                                Self.expression(
                                    "meta",
                                    [
                                        .be32(attribute(NFTA_META_KEY.rawValue), NFT_META_L4PROTO.rawValue),
                                        .be32(attribute(NFTA_META_DREG.rawValue), NFT_REG_1.rawValue),
                                    ]),
                                Self.compare([UInt8(IPPROTO_ICMPV6)]),
                                Self.payload(base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1),
                                Self.compare([type]),
                                Self.verdict(NF_ACCEPT),
                            ]))
                }
            }
            // ip daddr @vips drop (in), ip saddr @vips drop (out): offsets in the IPv4 / IPv6 header.
            let (offset, length): (UInt32, UInt32) =
                family == .ipv4 ? (chain == "in" ? 16 : 12, 4) : (chain == "in" ? 24 : 8, 16)
            var expressions = [
                Self.payload(base: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: length),
                Self.expression(
                    "lookup",
                    [
                        .be32(attribute(NFTA_LOOKUP_SREG.rawValue), NFT_REG_1.rawValue),
                        .string(attribute(NFTA_LOOKUP_SET.rawValue), "vips"),
                        .be32(attribute(NFTA_LOOKUP_SET_ID.rawValue), 1),
                    ]),
            ]
            if counters { expressions.append(Self.expression("counter", [])) }
            expressions.append(Self.verdict(NF_DROP))
            messages.append(rule(family, chain: chain, expressions))
        }
        return messages
    }

    private mutating func rule(_ family: IPAddress.Family, chain: String, _ expressions: [NetlinkAttribute])
        -> [UInt8]
    {
        message(
            NFT_MSG_NEWRULE, family: family, flags: NLM_F_APPEND | NLM_F_CREATE,
            [
                .string(attribute(NFTA_RULE_TABLE.rawValue), table),
                .string(attribute(NFTA_RULE_CHAIN.rawValue), chain),
                .nested(attribute(NFTA_RULE_EXPRESSIONS.rawValue), expressions),
            ])
    }

    /// One expression of a rule: its name and its settings (an empty nest when it has none, as libnftnl sends it).
    private static func expression(_ name: String, _ settings: [NetlinkAttribute]) -> NetlinkAttribute {
        .nested(
            attribute(NFTA_LIST_ELEM.rawValue),
            [.string(attribute(NFTA_EXPR_NAME.rawValue), name), .nested(attribute(NFTA_EXPR_DATA.rawValue), settings)])
    }

    private static func payload(base: nft_payload_bases, offset: UInt32, length: UInt32) -> NetlinkAttribute {
        expression(
            "payload",
            [
                .be32(attribute(NFTA_PAYLOAD_DREG.rawValue), NFT_REG_1.rawValue),
                .be32(attribute(NFTA_PAYLOAD_BASE.rawValue), base.rawValue),
                .be32(attribute(NFTA_PAYLOAD_OFFSET.rawValue), offset),
                .be32(attribute(NFTA_PAYLOAD_LEN.rawValue), length),
            ])
    }

    private static func compare(_ bytes: [UInt8]) -> NetlinkAttribute {
        expression(
            "cmp",
            [
                .be32(attribute(NFTA_CMP_SREG.rawValue), NFT_REG_1.rawValue),
                .be32(attribute(NFTA_CMP_OP.rawValue), NFT_CMP_EQ.rawValue),
                .nested(attribute(NFTA_CMP_DATA.rawValue), [.bytes(attribute(NFTA_DATA_VALUE.rawValue), bytes)]),
            ])
    }

    private static func verdict(_ verdict: Int32) -> NetlinkAttribute {
        expression(
            "immediate",
            [
                .be32(attribute(NFTA_IMMEDIATE_DREG.rawValue), NFT_REG_VERDICT.rawValue),
                .nested(
                    attribute(NFTA_IMMEDIATE_DATA.rawValue),
                    [
                        .nested(
                            attribute(NFTA_DATA_VERDICT.rawValue),
                            [.be32(attribute(NFTA_VERDICT_CODE.rawValue), UInt32(bitPattern: verdict))])
                    ]),
            ])
    }

    /// The set's elements, each in a nest numbered from 1 (libnftnl's numbering; the kernel reads them in order).
    private mutating func elements(_ addresses: [IPAddress], family: IPAddress.Family, add: Bool) -> [UInt8] {
        let list = addresses.enumerated().map { index, address in
            NetlinkAttribute.nested(
                UInt16(index + 1),
                [
                    .nested(
                        attribute(NFTA_SET_ELEM_KEY.rawValue),
                        [.bytes(attribute(NFTA_DATA_VALUE.rawValue), address.bytes)])
                ])
        }
        return message(
            add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, family: family, flags: add ? NLM_F_CREATE : 0,
            [
                .string(attribute(NFTA_SET_ELEM_LIST_SET.rawValue), "vips"),
                .string(attribute(NFTA_SET_ELEM_LIST_TABLE.rawValue), table),
                .nested(attribute(NFTA_SET_ELEM_LIST_ELEMENTS.rawValue), list),
            ])
    }

    // MARK: Messages

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// One nftables message (`NFNL_SUBSYS_NFTABLES`), acknowledged, with its `nfgenmsg` and attributes.
    private mutating func message(
        _ type: nf_tables_msg_types, family: IPAddress.Family, flags: Int32, _ attributes: [NetlinkAttribute]
    ) -> [UInt8] {
        let protocolFamily = UInt8(family == .ipv4 ? NFPROTO_IPV4 : NFPROTO_IPV6)
        return NetlinkMessage.encode(
            type: UInt16(NFNL_SUBSYS_NFTABLES) << 8 | UInt16(type.rawValue),
            flags: NetlinkMessageFlags(rawValue: UInt16(NLM_F_REQUEST | NLM_F_ACK | flags)), sequence: nextSequence(),
            payload: [protocolFamily, UInt8(NFNETLINK_V0), 0, 0] + attributes.encoded())
    }

    /// `messages` between BEGIN and END, each of which is acknowledged.
    private mutating func batch(_ messages: [[UInt8]]) -> Batch {
        var batch = Batch()
        batch.acknowledged = Set(messages.map { $0.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt32.self) } })
        // BEGIN and END: AF_UNSPEC, version 0, the subsystem (big-endian) as the resource id.
        let subsystem: [UInt8] = [UInt8(AF_UNSPEC), UInt8(NFNETLINK_V0), 0, UInt8(NFNL_SUBSYS_NFTABLES)]
        batch.bytes = NetlinkMessage.encode(
            type: UInt16(NFNL_MSG_BATCH_BEGIN), flags: NetlinkMessageFlags(rawValue: UInt16(NLM_F_REQUEST)),
            sequence: nextSequence(), payload: subsystem)
        for message in messages { batch.bytes += message }
        batch.bytes += NetlinkMessage.encode(
            type: UInt16(NFNL_MSG_BATCH_END), flags: NetlinkMessageFlags(rawValue: UInt16(NLM_F_REQUEST)),
            sequence: nextSequence(), payload: subsystem)
        return batch
    }
}

/// An attribute type from the kernel's enums (imported as `UInt32` raw values, or `Int32` for the unnamed ones).
private func attribute(_ value: some BinaryInteger) -> UInt16 { UInt16(value) }
