import CLibcap

#if canImport(Glibc)
    import Glibc
#endif

/// The capabilities a worker keeps; everything else is dropped before it reads its configuration.
public enum WorkerPrivileges {
    /// VRRP and checker workers: netlink and raw sockets, and running scripts as `script_user`.
    public static let kept: [cap_value_t] = [CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID, CAP_SETGID, CAP_KILL]

    /// Reduces the permitted and effective sets to `kept` and `extra` (those of them the process has) and clears
    /// the inheritable set. The corresponding C calls are `cap_get_proc` and `cap_set_proc`.
    /// - Returns: the names of the capabilities kept.
    @discardableResult
    public static func dropToWorkerSet(keepingAlso extra: [cap_value_t] = []) throws(WatchdogError) -> [String] {
        guard let current = cap_get_proc() else { throw .errno("cap_get_proc") }
        defer { cap_free(UnsafeMutableRawPointer(current)) }
        var keep: [cap_value_t] = []
        for capability in kept + extra {
            var value = CAP_CLEAR
            cap_get_flag(current, capability, CAP_PERMITTED, &value)
            if value == CAP_SET { keep.append(capability) }
        }
        guard let wanted = cap_init() else { throw .errno("cap_init") }
        defer { cap_free(UnsafeMutableRawPointer(wanted)) }
        if !keep.isEmpty {
            cap_set_flag(wanted, CAP_PERMITTED, Int32(keep.count), keep, CAP_SET)
            cap_set_flag(wanted, CAP_EFFECTIVE, Int32(keep.count), keep, CAP_SET)
        }
        guard cap_set_proc(wanted) == 0 else { throw .errno("cap_set_proc") }
        return keep.map { capability in
            guard let name = cap_to_name(capability) else { return "\(capability)" }
            defer { cap_free(name) }
            return String(cString: name)
        }
    }
}
