import CNetlink
import Config

#if canImport(Glibc)
    import Glibc
#endif

extension RouteNetlinkSocket {
    /// Adds `rule`; a rule that is already there is not an error.
    /// The corresponding C call is `rtnl_rule_add` (with `NLM_F_EXCL`).
    /// - Returns: true when added, false when it was already there.
    @discardableResult public func addRule(_ rule: RuleSpec) throws(NetlinkError) -> Bool {
        let operation = "cannot add rule \(rule)"
        let request = try ruleRequest(rule, operation: operation)
        defer { rtnl_rule_put(request) }
        let result = retryingInterrupts { rtnl_rule_add(socket, request, NLM_F_EXCL) }
        if result == -NLE_EXIST { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
    }

    /// Deletes `rule`; a rule that is not there is not an error.
    /// The corresponding C call is `rtnl_rule_delete`.
    /// - Returns: true when deleted, false when it was not there.
    @discardableResult public func deleteRule(_ rule: RuleSpec) throws(NetlinkError) -> Bool {
        let operation = "cannot delete rule \(rule)"
        let request = try ruleRequest(rule, operation: operation)
        defer { rtnl_rule_put(request) }
        let result = retryingInterrupts { rtnl_rule_delete(socket, request, 0) }
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NOADDR { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
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
        return request
    }
}
