/// Kernel IPVS forwarding methods as keepalived's `lb_kind` names them.
public enum IPVSForwardingMethod: String, Sendable, CaseIterable {
    case nat = "NAT"
    case directRouting = "DR"
    case tunnel = "TUN"
}
