import CNetlink
import Config

#if canImport(Glibc)
    import Glibc
#endif

extension RouteNetlinkSocket {
    /// Adds `rule`; a rule that is already there is not an error.
    /// The corresponding C calls are `rtnl_rule_build_add_request` (with `NLM_F_EXCL`), `nla_put` for what libnl has
    /// no field for, and `nl_send_sync`.
    /// - Returns: true when added, false when it was already there.
    @discardableResult public func addRule(_ rule: RuleSpec) throws(NetlinkError) -> Bool {
        let result = try sendRule(rule, operation: "cannot add rule \(rule)") {
            rtnl_rule_build_add_request($0, NLM_F_EXCL, &$1)
        }
        return result != -NLE_EXIST
    }

    /// Deletes `rule`; a rule that is not there is not an error. The kernel compares every selector the request
    /// carries, so it carries them all.
    /// The corresponding C calls are `rtnl_rule_build_delete_request`, `nla_put` and `nl_send_sync`.
    /// - Returns: true when deleted, false when it was not there.
    @discardableResult public func deleteRule(_ rule: RuleSpec) throws(NetlinkError) -> Bool {
        let result = try sendRule(rule, operation: "cannot delete rule \(rule)") {
            rtnl_rule_build_delete_request($0, 0, &$1)
        }
        return result != -NLE_OBJ_NOTFOUND && result != -NLE_NOADDR
    }

    /// Builds the request for `rule` with `build`, adds the selectors libnl has no field for (`FRA_TUN_ID` 12,
    /// `FRA_SUPPRESS_IFGROUP` 13, `FRA_SUPPRESS_PREFIXLEN` 14, `FRA_UID_RANGE` 20, `FIB_RULE_INVERT` in the header's
    /// flags), and sends it.
    /// - Returns: the kernel's answer when it is `-NLE_EXIST`, `-NLE_OBJ_NOTFOUND` or `-NLE_NOADDR`, else 0.
    private func sendRule(
        _ rule: RuleSpec, operation: String, build: (OpaquePointer, inout OpaquePointer?) -> Int32
    ) throws(NetlinkError) -> Int32 {
        let request = try ruleRequest(rule, operation: operation)
        defer { rtnl_rule_put(request) }
        var message: OpaquePointer?
        var result = build(request, &message)
        guard result >= 0, let message else { throw NetlinkError(libnlResult: result, operation: operation) }
        if let id = rule.tunnelID { result = min(result, nla_put_u64(message, 12, id.bigEndian)) }
        if let group = rule.suppressInterfaceGroup { result = min(result, nla_put_u32(message, 13, group)) }
        if let length = rule.suppressPrefixLength {
            result = min(result, nla_put_u32(message, 14, UInt32(bitPattern: length)))
        }
        if let range = rule.uidRange {
            let bytes = [range.lowerBound, range.upperBound].flatMap { withUnsafeBytes(of: $0) { Array($0) } }
            result = min(result, bytes.withUnsafeBytes { nla_put(message, 20, Int32($0.count), $0.baseAddress) })
        }
        if rule.invert, let header = nlmsg_data(nlmsg_hdr(message)) {
            // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, then the flags.
            let flags = header.advanced(by: 8).assumingMemoryBound(to: UInt32.self)
            flags.pointee |= UInt32(FIB_RULE_INVERT)
        }
        guard result >= 0 else {
            nlmsg_free(message)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        // nl_send_sync frees the message; an interrupted wait is not retried (the rule may be in).
        result = nl_send_sync(socket, message)
        if [-NLE_EXIST, -NLE_OBJ_NOTFOUND, -NLE_NOADDR].contains(result) { return result }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return 0
    }

    /// A `struct rtnl_rule` for `rule`; the caller must `rtnl_rule_put` it.
    private func ruleRequest(_ rule: RuleSpec, operation: String) throws(NetlinkError) -> OpaquePointer {
        guard let request = rtnl_rule_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
        }
        rtnl_rule_set_family(request, rule.family == .ipv4 ? AF_INET : AF_INET6)
        var result: Int32 = 0
        if let source = rule.source {
            result = Self.withAddress(source, prefixLength: rule.sourcePrefixLength) { rtnl_rule_set_src(request, $0) }
        }
        if result >= 0, let destination = rule.destination {
            result = Self.withAddress(destination, prefixLength: rule.destinationPrefixLength) {
                rtnl_rule_set_dst(request, $0)
            }
        }
        if result >= 0, let name = rule.inputInterface { result = rtnl_rule_set_iif(request, name) }
        if result >= 0, let name = rule.outputInterface { result = rtnl_rule_set_oif(request, name) }
        if result >= 0, let protocolNumber = rule.protocolNumber {
            result = rtnl_rule_set_protocol(request, protocolNumber)
        }
        if result >= 0, let ipProtocol = rule.ipProtocol { result = rtnl_rule_set_ipproto(request, ipProtocol) }
        if result >= 0, let ports = rule.sourcePorts {
            result = rtnl_rule_set_sport_range(request, ports.lowerBound, ports.upperBound)
        }
        if result >= 0, let ports = rule.destinationPorts {
            result = rtnl_rule_set_dport_range(request, ports.lowerBound, ports.upperBound)
        }
        guard result >= 0 else {
            rtnl_rule_put(request)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        rtnl_rule_set_action(request, rule.action)
        if let table = rule.table { rtnl_rule_set_table(request, table) }
        if let preference = rule.preference { rtnl_rule_set_prio(request, preference) }
        if let mark = rule.firewallMark { rtnl_rule_set_mark(request, mark) }
        if let mask = rule.firewallMask { rtnl_rule_set_mask(request, mask) }
        if let tos = rule.tos { rtnl_rule_set_dsfield(request, tos) }
        if let target = rule.gotoTarget { rtnl_rule_set_goto(request, target) }
        if rule.l3mdev { rtnl_rule_set_l3mdev(request, 1) }
        if let realms = rule.realms { rtnl_rule_set_realms(request, realms) }
        return request
    }
}
