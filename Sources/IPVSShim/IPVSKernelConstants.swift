/// The IPVS generic netlink family's numbers, as in include/uapi/linux/ip_vs.h.
public enum IPVSGenericNetlink {
    public static let familyName = "IPVS"  // IPVS_GENL_NAME
    public static let version: UInt8 = 0x1  // IPVS_GENL_VERSION
    /// `IP_VS_VERSION_CODE`, what `IPVS_INFO_ATTR_VERSION` reports on current kernels (1.2.1).
    public static let versionCode: UInt32 = 0x01_0201  // IP_VS_VERSION_CODE

    /// Commands (`enum { IPVS_CMD_UNSPEC = 0, ... }`).
    public enum Command: UInt8, Sendable, Hashable, CaseIterable {
        case newService = 1  // IPVS_CMD_NEW_SERVICE
        case setService = 2  // IPVS_CMD_SET_SERVICE
        case deleteService = 3  // IPVS_CMD_DEL_SERVICE
        case getService = 4  // IPVS_CMD_GET_SERVICE
        case newDestination = 5  // IPVS_CMD_NEW_DEST
        case setDestination = 6  // IPVS_CMD_SET_DEST
        case deleteDestination = 7  // IPVS_CMD_DEL_DEST
        case getDestination = 8  // IPVS_CMD_GET_DEST
        case newDaemon = 9  // IPVS_CMD_NEW_DAEMON
        case deleteDaemon = 10  // IPVS_CMD_DEL_DAEMON
        case getDaemon = 11  // IPVS_CMD_GET_DAEMON
        case setConfig = 12  // IPVS_CMD_SET_CONFIG
        case getConfig = 13  // IPVS_CMD_GET_CONFIG
        case setInfo = 14  // IPVS_CMD_SET_INFO (only in GET_INFO replies)
        case getInfo = 15  // IPVS_CMD_GET_INFO
        case zero = 16  // IPVS_CMD_ZERO
        case flush = 17  // IPVS_CMD_FLUSH
    }

    /// Top-level attributes.
    public enum CommandAttribute {
        public static let service: UInt16 = 1  // IPVS_CMD_ATTR_SERVICE (nested)
        public static let destination: UInt16 = 2  // IPVS_CMD_ATTR_DEST (nested)
        public static let daemon: UInt16 = 3  // IPVS_CMD_ATTR_DAEMON (nested)
        public static let timeoutTCP: UInt16 = 4  // IPVS_CMD_ATTR_TIMEOUT_TCP (u32)
        public static let timeoutTCPFin: UInt16 = 5  // IPVS_CMD_ATTR_TIMEOUT_TCP_FIN (u32)
        public static let timeoutUDP: UInt16 = 6  // IPVS_CMD_ATTR_TIMEOUT_UDP (u32)
    }

    /// Attributes inside `IPVS_CMD_ATTR_SERVICE` (kernel policy `ip_vs_svc_policy`).
    public enum ServiceAttribute {
        public static let addressFamily: UInt16 = 1  // IPVS_SVC_ATTR_AF (u16)
        public static let `protocol`: UInt16 = 2  // IPVS_SVC_ATTR_PROTOCOL (u16)
        public static let address: UInt16 = 3  // IPVS_SVC_ATTR_ADDR (binary, union nf_inet_addr, network order)
        public static let port: UInt16 = 4  // IPVS_SVC_ATTR_PORT (__be16)
        public static let firewallMark: UInt16 = 5  // IPVS_SVC_ATTR_FWMARK (u32)
        public static let schedulerName: UInt16 = 6  // IPVS_SVC_ATTR_SCHED_NAME (NUL string, < 16)
        public static let flags: UInt16 = 7  // IPVS_SVC_ATTR_FLAGS (struct ip_vs_flags)
        public static let timeout: UInt16 = 8  // IPVS_SVC_ATTR_TIMEOUT (u32 seconds)
        public static let netmask: UInt16 = 9  // IPVS_SVC_ATTR_NETMASK (__be32)
        public static let statistics: UInt16 = 10  // IPVS_SVC_ATTR_STATS (nested)
        public static let persistenceEngineName: UInt16 = 11  // IPVS_SVC_ATTR_PE_NAME (NUL string)
        public static let statistics64: UInt16 = 12  // IPVS_SVC_ATTR_STATS64 (nested)
    }

    /// Attributes inside `IPVS_CMD_ATTR_DEST` (kernel policy `ip_vs_dest_policy`).
    public enum DestinationAttribute {
        public static let address: UInt16 = 1  // IPVS_DEST_ATTR_ADDR (binary, network order)
        public static let port: UInt16 = 2  // IPVS_DEST_ATTR_PORT (__be16)
        public static let forwardingMethod: UInt16 = 3  // IPVS_DEST_ATTR_FWD_METHOD (u32)
        public static let weight: UInt16 = 4  // IPVS_DEST_ATTR_WEIGHT (u32)
        public static let upperThreshold: UInt16 = 5  // IPVS_DEST_ATTR_U_THRESH (u32)
        public static let lowerThreshold: UInt16 = 6  // IPVS_DEST_ATTR_L_THRESH (u32)
        public static let activeConnections: UInt16 = 7  // IPVS_DEST_ATTR_ACTIVE_CONNS (u32)
        public static let inactiveConnections: UInt16 = 8  // IPVS_DEST_ATTR_INACT_CONNS (u32)
        public static let persistentConnections: UInt16 = 9  // IPVS_DEST_ATTR_PERSIST_CONNS (u32)
        public static let statistics: UInt16 = 10  // IPVS_DEST_ATTR_STATS (nested)
        public static let addressFamily: UInt16 = 11  // IPVS_DEST_ATTR_ADDR_FAMILY (u16)
        public static let statistics64: UInt16 = 12  // IPVS_DEST_ATTR_STATS64 (nested)
        public static let tunnelType: UInt16 = 13  // IPVS_DEST_ATTR_TUN_TYPE (u8)
        public static let tunnelPort: UInt16 = 14  // IPVS_DEST_ATTR_TUN_PORT (__be16)
        public static let tunnelFlags: UInt16 = 15  // IPVS_DEST_ATTR_TUN_FLAGS (u16)
    }

    /// Attributes inside `IPVS_CMD_ATTR_DAEMON` (kernel policy `ip_vs_daemon_policy`).
    public enum DaemonAttribute {
        public static let state: UInt16 = 1  // IPVS_DAEMON_ATTR_STATE (u32)
        public static let multicastInterface: UInt16 = 2  // IPVS_DAEMON_ATTR_MCAST_IFN (NUL string, < 16)
        public static let syncID: UInt16 = 3  // IPVS_DAEMON_ATTR_SYNC_ID (u32)
        public static let syncMaximumLength: UInt16 = 4  // IPVS_DAEMON_ATTR_SYNC_MAXLEN (u16)
        public static let multicastGroup: UInt16 = 5  // IPVS_DAEMON_ATTR_MCAST_GROUP (in_addr, network order)
        public static let multicastGroup6: UInt16 = 6  // IPVS_DAEMON_ATTR_MCAST_GROUP6 (in6_addr)
        public static let multicastPort: UInt16 = 7  // IPVS_DAEMON_ATTR_MCAST_PORT (u16, host order)
        public static let multicastTTL: UInt16 = 8  // IPVS_DAEMON_ATTR_MCAST_TTL (u8)
    }

    /// Attributes inside `IPVS_SVC_ATTR_STATS[64]` and `IPVS_DEST_ATTR_STATS[64]`.
    public enum StatisticsAttribute {
        public static let connections: UInt16 = 1  // IPVS_STATS_ATTR_CONNS
        public static let incomingPackets: UInt16 = 2  // IPVS_STATS_ATTR_INPKTS
        public static let outgoingPackets: UInt16 = 3  // IPVS_STATS_ATTR_OUTPKTS
        public static let incomingBytes: UInt16 = 4  // IPVS_STATS_ATTR_INBYTES
        public static let outgoingBytes: UInt16 = 5  // IPVS_STATS_ATTR_OUTBYTES
        public static let connectionRate: UInt16 = 6  // IPVS_STATS_ATTR_CPS
        public static let incomingPacketRate: UInt16 = 7  // IPVS_STATS_ATTR_INPPS
        public static let outgoingPacketRate: UInt16 = 8  // IPVS_STATS_ATTR_OUTPPS
        public static let incomingByteRate: UInt16 = 9  // IPVS_STATS_ATTR_INBPS
        public static let outgoingByteRate: UInt16 = 10  // IPVS_STATS_ATTR_OUTBPS
        public static let padding: UInt16 = 11  // IPVS_STATS_ATTR_PAD
    }

    /// Attributes of `IPVS_CMD_SET_INFO` replies.
    public enum InfoAttribute {
        public static let version: UInt16 = 1  // IPVS_INFO_ATTR_VERSION (u32)
        public static let connectionTableSize: UInt16 = 2  // IPVS_INFO_ATTR_CONN_TAB_SIZE (u32)
    }

    /// Socket address families (include/linux/socket.h).
    public enum AddressFamily {
        public static let inet: UInt16 = 2  // AF_INET
        public static let inet6: UInt16 = 10  // AF_INET6
    }

    /// `sizeof(union nf_inet_addr)`: addresses are sent and received in 16 bytes whatever the family.
    public static let addressAttributeLength = 16
}
