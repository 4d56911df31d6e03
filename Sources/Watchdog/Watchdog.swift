/// Default paths, chosen so Vigil can sit beside an installed keepalived.
public enum DefaultPaths {
    public static let configFile = "/etc/keepalived/keepalived.conf"
    public static let pidFile = "/run/vigild.pid"
    public static let vrrpPidFile = "/run/vigild_vrrp.pid"
    public static let checkersPidFile = "/run/vigild_checkers.pid"
    public static let bfdPidFile = "/run/vigild_bfd.pid"
    public static let controlSocket = "/run/vigil/vigild.sock"
    /// The directory of the pid files with `use_pid_dir`, `instance` or `net_namespace` (keepalived's
    /// /run/keepalived).
    public static let pidDirectory = "/run/vigil"
}
