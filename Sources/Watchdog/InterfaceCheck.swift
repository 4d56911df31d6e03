import Config

#if canImport(Glibc)
    import Glibc
#endif

/// `dynamic_interfaces`: without it, keepalived refuses to run a file whose VRRP part names an interface that does
/// not exist (its VRRP process exits "Non-existent interface specified in configuration" and the daemon stops, at a
/// start and at a reload). Vigil refuses such a file at start, and refuses such a reload keeping the running
/// configuration. With `dynamic_interfaces` the instances of a missing interface stay in FAULT until it appears.
enum InterfaceCheck {
    /// Why `config` must not run in this network namespace, or nil. Only a daemon that runs the VRRP worker looks
    /// (not with `-C`), as only keepalived's VRRP process does.
    /// The corresponding C call is `if_nametoindex`.
    static func refusal(_ config: KeepalivedConfig, _ options: DaemonOptions) -> String? {
        guard config.globalDefs.dynamicInterfaces == .off, runsVRRP(config, options) else { return nil }
        let missing = config.namedInterfaces.filter { if_nametoindex($0.name) == 0 }
        guard !missing.isEmpty else { return nil }
        let names = missing.map { "\($0.location): interface \($0.name) does not exist" }
        return names.joined(separator: "; ")
            + " (keepalived refuses such a file; 'dynamic_interfaces' in global_defs allows interfaces that appear later)"
    }

    /// Whether the daemon runs a VRRP worker for `config`: `-P`, or instances without `-C`.
    static func runsVRRP(_ config: KeepalivedConfig, _ options: DaemonOptions) -> Bool {
        options.vrrpOnly || (!options.checkOnly && !config.vrrp.instances.isEmpty)
    }
}
