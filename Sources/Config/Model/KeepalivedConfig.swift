/// The typed model of a keepalived.conf: what the workers act on. Field names follow keepalived's
/// keywords (`delayLoop` for `delay_loop`) so the mapping stays obvious.
public struct KeepalivedConfig: Sendable, Hashable {
    /// `global_defs { }` and the top-level daemon settings (`net_namespace`, `instance`, …).
    public var globalDefs = GlobalDefs()
    /// `static_ipaddress`, `static_routes`, `vrrp_script`, `vrrp_track_file`, `vrrp_sync_group`,
    /// `vrrp_instance`.
    public var vrrp = VRRPConfig()
    /// `virtual_server_group`, `virtual_server`.
    public var lvs = LVSConfig()
    /// `bfd_instance`.
    public var bfd = BFDConfig()

    public init() {}
}
