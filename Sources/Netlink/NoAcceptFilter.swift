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
/// go as set elements. Messages are built with libnftnl in libmnl batches and sent on a `NETLINK_NETFILTER` socket;
/// the kernel's acknowledgements are read with `NetlinkMessage`. Blocking and not thread-safe: one per engine loop.
public final class NoAcceptFilter {
    public let table: String
    public let priority: Int32
    /// `nftables_counters`: a counter on each drop rule.
    public let counters: Bool
    private let socket: OpaquePointer
    private var sequence = UInt32(truncatingIfNeeded: time(nil))
    private var builtFamilies: Set<IPAddress.Family> = []

    /// nft's data types of the sets' keys (nftables' `enum datatypes`, not in the kernel's headers).
    private static let ipv4AddressType: UInt32 = 7
    private static let ipv6AddressType: UInt32 = 8

    /// Opens the socket.
    /// The corresponding C calls are `mnl_socket_open(NETLINK_NETFILTER)` and `mnl_socket_bind`.
    public init(table: String = "vigil", priority: Int32 = -1, counters: Bool = false) throws(NetlinkError) {
        self.table = table
        self.priority = priority
        self.counters = counters
        guard let socket = mnl_socket_open(NETLINK_NETFILTER) else {
            throw NetlinkError(kernelErrno: errno, operation: "opening an nftables socket")
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) >= 0 else {
            let code = errno
            mnl_socket_close(socket)
            throw NetlinkError(kernelErrno: code, operation: "binding an nftables socket")
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(
            mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
    }

    deinit { mnl_socket_close(socket) }

    /// Drops traffic to and from `addresses` (their family's table is built first if needed).
    /// - Throws: `NetlinkError` naming the addresses when the kernel refuses (no nftables, no permission).
    public func block(_ addresses: [IPAddress]) throws(NetlinkError) {
        for family in [IPAddress.Family.ipv4, .ipv6] {
            let ofFamily = addresses.filter { $0.family == family }
            guard !ofFamily.isEmpty else { continue }
            var batch = Batch()
            if !builtFamilies.contains(family) { appendTable(family, into: &batch) }
            appendElements(ofFamily, family: family, add: true, into: &batch)
            try send(batch, operation: "cannot drop traffic to \(Self.list(ofFamily)) in nftables table \(table)")
            builtFamilies.insert(family)
        }
    }

    /// Lets traffic to and from `addresses` through again; addresses not blocked are not an error.
    public func unblock(_ addresses: [IPAddress]) throws(NetlinkError) {
        for family in [IPAddress.Family.ipv4, .ipv6] where builtFamilies.contains(family) {
            for address in addresses where address.family == family {
                var batch = Batch()
                appendElements([address], family: family, add: false, into: &batch)
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
            var batch = Batch()
            // Creating first makes the delete succeed whether or not the table was there.
            appendTableMessage(family, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, into: &batch)
            appendTableMessage(family, type: NFT_MSG_DELTABLE, flags: 0, into: &batch)
            try send(batch, operation: "cannot delete nftables table \(table)")
        }
        builtFamilies = []
    }

    // MARK: Building messages

    /// A batch under construction: each message as bytes, and how many expect an acknowledgement.
    private struct Batch {
        var messages: [[UInt8]] = []
    }

    private func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    private static func family(_ family: IPAddress.Family) -> UInt16 {
        UInt16(family == .ipv4 ? NFPROTO_IPV4 : NFPROTO_IPV6)
    }

    /// Runs `build` on a zeroed buffer big enough for one message and keeps the message it wrote.
    private func appendMessage(
        into batch: inout Batch, _ build: (UnsafeMutableRawPointer) -> UnsafeMutablePointer<nlmsghdr>?
    ) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            guard let header = build(raw.baseAddress!) else { return 0 }
            return Int(header.pointee.nlmsg_len)
        }
        if length > 0 { batch.messages.append(Array(buffer[0..<((length + 3) & ~3)])) }
    }

    /// Appends one nftables message of `type` (acknowledged) whose payload `payload` writes.
    /// The corresponding C call is `nftnl_nlmsg_build_hdr`.
    private func appendMessage(
        _ type: nf_tables_msg_types, family: IPAddress.Family, flags: Int32, into batch: inout Batch,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) {
        let sequence = nextSequence()
        appendMessage(into: &batch) { buffer in
            let header = nftnl_nlmsg_build_hdr(
                buffer.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), Self.family(family),
                UInt16(flags | NLM_F_ACK), sequence)
            if let header { payload(header) }
            return header
        }
    }

    private func appendTableMessage(
        _ family: IPAddress.Family, type: nf_tables_msg_types, flags: Int32, into batch: inout Batch
    ) {
        guard let object = nftnl_table_alloc() else { return }
        defer { nftnl_table_free(object) }
        nftnl_table_set_str(object, UInt16(NFTNL_TABLE_NAME.rawValue), table)
        appendMessage(type, family: family, flags: flags, into: &batch) { nftnl_table_nlmsg_build_payload($0, object) }
    }

    /// Delete-and-create the family's table (atomic within the batch), its set, chains and rules.
    private func appendTable(_ family: IPAddress.Family, into batch: inout Batch) {
        appendTableMessage(family, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, into: &batch)
        appendTableMessage(family, type: NFT_MSG_DELTABLE, flags: 0, into: &batch)
        appendTableMessage(family, type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, into: &batch)
        for (name, hook) in [("in", NF_INET_LOCAL_IN), ("out", NF_INET_LOCAL_OUT)] {
            guard let chain = nftnl_chain_alloc() else { continue }
            defer { nftnl_chain_free(chain) }
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(hook.rawValue))
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter")
            nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), priority)
            nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(NF_ACCEPT))
            appendMessage(NFT_MSG_NEWCHAIN, family: family, flags: NLM_F_CREATE, into: &batch) {
                nftnl_chain_nlmsg_build_payload($0, chain)
            }
        }
        if let set = nftnl_set_alloc() {
            defer { nftnl_set_free(set) }
            nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), "vips")
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(Self.family(family)))
            nftnl_set_set_u32(
                set, UInt16(NFTNL_SET_KEY_TYPE.rawValue), family == .ipv4 ? Self.ipv4AddressType : Self.ipv6AddressType)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_LEN.rawValue), family == .ipv4 ? 4 : 16)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_ID.rawValue), 1)
            appendMessage(NFT_MSG_NEWSET, family: family, flags: NLM_F_CREATE, into: &batch) {
                nftnl_set_nlmsg_build_payload($0, set)
            }
        }
        for chain in ["in", "out"] {
            if family == .ipv6 {
                // Neighbour solicitations and advertisements for the addresses must still flow (keepalived).
                for type: UInt8 in [135, 136] {
                    appendRule(family, chain: chain, into: &batch) { rule in
                        Self.add(rule, "meta") {
                            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_META_KEY), UInt32(NFT_META_L4PROTO.rawValue))
                            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_META_DREG), UInt32(NFT_REG_1.rawValue))
                        }
                        Self.addCompare(rule, [UInt8(IPPROTO_ICMPV6)])
                        Self.addPayload(rule, base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1)
                        Self.addCompare(rule, [type])
                        Self.addVerdict(rule, NF_ACCEPT)
                    }
                }
            }
            // ip daddr @vips drop (in), ip saddr @vips drop (out): offsets in the IPv4 / IPv6 header.
            let (offset, length): (UInt32, UInt32) =
                family == .ipv4 ? (chain == "in" ? 16 : 12, 4) : (chain == "in" ? 24 : 8, 16)
            appendRule(family, chain: chain, into: &batch) { rule in
                Self.addPayload(rule, base: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: length)
                Self.add(rule, "lookup") {
                    nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_LOOKUP_SREG), UInt32(NFT_REG_1.rawValue))
                    nftnl_expr_set_str($0, UInt16(NFTNL_EXPR_LOOKUP_SET), "vips")
                    nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_LOOKUP_SET_ID), 1)
                }
                if counters { Self.add(rule, "counter") { _ in } }
                Self.addVerdict(rule, NF_DROP)
            }
        }
    }

    private func appendRule(
        _ family: IPAddress.Family, chain: String, into batch: inout Batch, _ body: (OpaquePointer) -> Void
    ) {
        guard let rule = nftnl_rule_alloc() else { return }
        defer { nftnl_rule_free(rule) }
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
        nftnl_rule_set_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(Self.family(family)))
        body(rule)
        appendMessage(NFT_MSG_NEWRULE, family: family, flags: NLM_F_APPEND | NLM_F_CREATE, into: &batch) {
            nftnl_rule_nlmsg_build_payload($0, rule)
        }
    }

    /// Adds an expression named `name`, configured by `configure`, to `rule` (which then owns it).
    private static func add(_ rule: OpaquePointer, _ name: String, _ configure: (OpaquePointer) -> Void) {
        guard let expression = nftnl_expr_alloc(name) else { return }
        configure(expression)
        nftnl_rule_add_expr(rule, expression)
    }

    private static func addPayload(_ rule: OpaquePointer, base: nft_payload_bases, offset: UInt32, length: UInt32) {
        add(rule, "payload") {
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_PAYLOAD_DREG), UInt32(NFT_REG_1.rawValue))
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_PAYLOAD_BASE), UInt32(base.rawValue))
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_PAYLOAD_LEN), length)
        }
    }

    private static func addCompare(_ rule: OpaquePointer, _ bytes: [UInt8]) {
        add(rule, "cmp") { expression in
            nftnl_expr_set_u32(expression, UInt16(NFTNL_EXPR_CMP_SREG), UInt32(NFT_REG_1.rawValue))
            nftnl_expr_set_u32(expression, UInt16(NFTNL_EXPR_CMP_OP), UInt32(NFT_CMP_EQ.rawValue))
            bytes.withUnsafeBytes {
                _ = nftnl_expr_set(expression, UInt16(NFTNL_EXPR_CMP_DATA), $0.baseAddress, UInt32($0.count))
            }
        }
    }

    private static func addVerdict(_ rule: OpaquePointer, _ verdict: Int32) {
        add(rule, "immediate") {
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_IMM_DREG), UInt32(NFT_REG_VERDICT.rawValue))
            nftnl_expr_set_u32($0, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: verdict))
        }
    }

    private func appendElements(
        _ addresses: [IPAddress], family: IPAddress.Family, add: Bool, into batch: inout Batch
    ) {
        guard let set = nftnl_set_alloc() else { return }
        defer { nftnl_set_free(set) }
        nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), "vips")
        for address in addresses {
            guard let element = nftnl_set_elem_alloc() else { continue }
            address.bytes.withUnsafeBytes {
                _ = nftnl_set_elem_set(element, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
            }
            nftnl_set_elem_add(set, element)
        }
        let type = add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM
        appendMessage(type, family: family, flags: add ? NLM_F_CREATE : 0, into: &batch) {
            nftnl_set_elems_nlmsg_build_payload($0, set)
        }
    }

    // MARK: Sending

    /// Sends `batch` between NFNL_MSG_BATCH_BEGIN and _END and waits for every acknowledgement.
    /// The corresponding C calls are `nftnl_batch_begin`, `nftnl_batch_end` and `mnl_socket_sendto`.
    private func send(_ batch: Batch, operation: String) throws(NetlinkError) {
        guard !batch.messages.isEmpty else { return }
        var begin = Batch()
        let beginSequence = nextSequence()
        appendMessage(into: &begin) { nftnl_batch_begin($0.assumingMemoryBound(to: CChar.self), beginSequence) }
        var end = Batch()
        let endSequence = nextSequence()
        appendMessage(into: &end) { nftnl_batch_end($0.assumingMemoryBound(to: CChar.self), endSequence) }
        let bytes = (begin.messages + batch.messages + end.messages).flatMap { $0 }
        let waiting = Set(
            batch.messages.compactMap { message -> UInt32? in
                message.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt32.self) }
            })
        var sent: Int
        repeat {
            sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        } while sent < 0 && errno == EINTR
        guard sent == bytes.count else { throw NetlinkError(kernelErrno: errno, operation: operation) }
        try awaitAcknowledgements(waiting, operation: operation)
    }

    /// Reads the kernel's answers until each message in `waiting` is acknowledged; the first error ends it.
    /// The corresponding C call is `mnl_socket_recvfrom`.
    private func awaitAcknowledgements(_ waiting: Set<UInt32>, operation: String) throws(NetlinkError) {
        var waiting = waiting
        var buffer = [UInt8](repeating: 0, count: 16384)
        while !waiting.isEmpty {
            let count = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
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
