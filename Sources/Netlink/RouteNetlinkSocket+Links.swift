import CNetlink
import Config

#if canImport(Glibc)
    import Glibc
#endif

/// A macvlan's mode (`IFLA_MACVLAN_MODE`), as `ip -d link` names it.
public enum MacvlanMode: String, Hashable, Sendable {
    /// Frames between macvlans of one lower link are dropped; multicast from a source MAC one of them owns goes to
    /// that macvlan only (keepalived's VMACs rely on it).
    case `private`
    case vepa
    /// Every macvlan, and the lower link, sees every frame (FRR's vrrpd needs it).
    case bridge
    case passthru
    case source
}

/// What the kernel says of one link: enough to tell whether a virtual MAC interface is already the one wanted.
public struct LinkDescription: Hashable, Sendable {
    public var name: String
    public var index: Int32
    /// `IFLA_INFO_KIND` (`macvlan`, `veth`, `bridge`, …); nil for a link without one (a physical NIC, `lo`).
    public var kind: String?
    /// `IFLA_LINK`: the lower link's index (a macvlan's parent); nil when there is none.
    public var lowerIndex: Int32?
    /// The link-layer address (6 bytes on Ethernet).
    public var hardwareAddress: [UInt8]
    /// A macvlan's mode; nil for other kinds.
    public var macvlanMode: MacvlanMode?
    /// An ipvlan's mode (`l2`, `l3`, `l3s`); nil for other kinds.
    public var ipvlanMode: String?
    /// `IFLA_MASTER`: the index of the bridge, bond or VRF the link is enslaved to; nil when none.
    public var masterIndex: Int32?
    /// `IFF_UP` and `IFF_RUNNING`.
    public var isUp: Bool

    public init(
        name: String, index: Int32, kind: String?, lowerIndex: Int32?, hardwareAddress: [UInt8],
        macvlanMode: MacvlanMode?, isUp: Bool
    ) {
        self.name = name
        self.index = index
        self.kind = kind
        self.lowerIndex = lowerIndex
        self.hardwareAddress = hardwareAddress
        self.macvlanMode = macvlanMode
        self.isUp = isUp
    }
}

extension RouteNetlinkSocket {
    /// The link called `name`, or nil when there is none.
    /// The corresponding C calls are `rtnl_link_get_kernel`, `rtnl_link_get_type`, `rtnl_link_get_link` and
    /// `rtnl_link_macvlan_get_mode`.
    public func linkDescription(named name: String) throws(NetlinkError) -> LinkDescription? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        let kind = rtnl_link_get_type(link).map { String(cString: $0) }
        let lower = rtnl_link_get_link(link)
        let master = rtnl_link_get_master(link)
        var ipvlanMode: String?
        var ipvlanValue: UInt16 = 0
        if kind == "ipvlan", rtnl_link_ipvlan_get_mode(link, &ipvlanValue) >= 0 {
            var buffer = [CChar](repeating: 0, count: 32)
            ipvlanMode = rtnl_link_ipvlan_mode2str(Int32(ipvlanValue), &buffer, buffer.count).map {
                String(cString: $0)
            }
        }
        var mode: MacvlanMode?
        if kind == "macvlan" {
            var buffer = [CChar](repeating: 0, count: 32)
            let text = rtnl_link_macvlan_mode2str(Int32(rtnl_link_macvlan_get_mode(link)), &buffer, buffer.count)
            mode = text.flatMap { MacvlanMode(rawValue: String(cString: $0)) }
        }
        var description = LinkDescription(
            name: name, index: rtnl_link_get_ifindex(link), kind: kind, lowerIndex: lower > 0 ? lower : nil,
            hardwareAddress: rtnl_link_get_addr(link).map { Self.bytes(of: $0) } ?? [],
            macvlanMode: mode, isUp: LinkEvent.isUp(flags: rtnl_link_get_flags(link)))
        description.ipvlanMode = ipvlanMode
        description.masterIndex = master > 0 ? master : nil
        return description
    }

    /// The index of the VRF device `name` is enslaved to; nil when it is in no VRF (or there is no such link).
    /// The corresponding C calls are `rtnl_link_get_kernel`, `rtnl_link_get_master` and `rtnl_link_is_vrf`.
    public func vrfMasterIndex(of name: String) throws(NetlinkError) -> Int32? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        let index = rtnl_link_get_master(link)
        guard index > 0, let master = try self.link(named: nil, index: index) else { return nil }
        defer { rtnl_link_put(master) }
        return rtnl_link_is_vrf(master) != 0 ? index : nil
    }

    /// Creates an ipvlan `name` in L2 mode over `lower` with `flags` (`IFLA_IPVLAN_FLAGS`: 0 bridge, 1 private,
    /// 2 vepa), enslaved to `master` when given, down; an existing link of that name is an error. libnl 3.7 has no
    /// setter for the flags, so the request is built here.
    /// The corresponding C calls are `nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)`, `nla_put*`,
    /// `nla_nest_start` / `nla_nest_end` and `nl_send_sync`.
    public func addIPVLAN(named name: String, lower: String, flags: UInt16, master: Int32?) throws(NetlinkError) {
        let operation = "cannot create ipvlan \(name) on \(lower)"
        guard let lowerIndex = try interfaceIndex(named: lower) else {
            throw .noSuchInterface(lower, operation: operation)
        }
        // linux/rtnetlink.h and linux/if_link.h: RTM_NEWLINK 16; IFLA_IFNAME 3, IFLA_LINK 5, IFLA_MASTER 10,
        // IFLA_LINKINFO 18 { IFLA_INFO_KIND 1, IFLA_INFO_DATA 2 { IFLA_IPVLAN_MODE 1, IFLA_IPVLAN_FLAGS 2 } };
        // IPVLAN_MODE_L2 0.
        guard let message = nlmsg_alloc_simple(16, NLM_F_CREATE | NLM_F_EXCL) else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
        }
        var header = ifinfomsg()
        header.ifi_family = UInt8(AF_UNSPEC)
        var result = nlmsg_append(message, &header, MemoryLayout<ifinfomsg>.size, Int32(NLMSG_ALIGNTO))
        result = min(result, nla_put_string(message, 3, name))
        result = min(result, nla_put_u32(message, 5, UInt32(bitPattern: lowerIndex)))
        if let master { result = min(result, nla_put_u32(message, 10, UInt32(bitPattern: master))) }
        if let info = nla_nest_start(message, 18) {
            result = min(result, nla_put_string(message, 1, "ipvlan"))
            if let data = nla_nest_start(message, 2) {
                result = min(result, nla_put_u16(message, 1, 0))
                result = min(result, nla_put_u16(message, 2, flags))
                result = min(result, nla_nest_end(message, data))
            } else {
                result = -NLE_NOMEM
            }
            result = min(result, nla_nest_end(message, info))
        } else {
            result = -NLE_NOMEM
        }
        guard result >= 0 else {
            nlmsg_free(message)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        // nl_send_sync frees the message.
        result = nl_send_sync(socket, message)
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
    }

    /// Enslaves `name` to the link of index `master` (a VRF), or frees it with nil.
    /// The corresponding C calls are `rtnl_link_set_master` and `rtnl_link_change`.
    public func setMaster(named name: String, _ master: Int32?) throws(NetlinkError) {
        try changeLink(name, operation: "cannot set the master of \(name)") { change in
            rtnl_link_set_master(change, master ?? 0)
            return 0
        }
    }

    /// Creates a macvlan `name` over `lower` with `hardwareAddress`, enslaved to `master` when given (a VRF), down; an
    /// existing link of that name is an error.
    /// The corresponding C calls are `rtnl_link_macvlan_alloc`, `rtnl_link_macvlan_set_mode` and `rtnl_link_add`
    /// (`NLM_F_CREATE | NLM_F_EXCL`).
    public func addMacvlan(
        named name: String, lower: String, hardwareAddress: [UInt8], mode: MacvlanMode, master: Int32? = nil
    ) throws(NetlinkError) {
        let operation = "cannot create macvlan \(name) on \(lower)"
        guard let lowerIndex = try interfaceIndex(named: lower) else {
            throw .noSuchInterface(lower, operation: operation)
        }
        guard let link = rtnl_link_macvlan_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        rtnl_link_set_link(link, lowerIndex)
        if let master { rtnl_link_set_master(link, master) }
        var result = rtnl_link_macvlan_set_mode(link, UInt32(rtnl_link_macvlan_str2mode(mode.rawValue)))
        if result >= 0 { result = Self.withHardwareAddress(hardwareAddress) { rtnl_link_set_addr(link, $0) } }
        if result >= 0 {
            result = retryingInterrupts { rtnl_link_add(socket, link, NLM_F_CREATE | NLM_F_EXCL) }
        }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
    }

    /// Deletes the link `name`; a link that is not there is not an error.
    /// The corresponding C call is `rtnl_link_delete`.
    /// - Returns: true when deleted, false when there was no such link.
    @discardableResult public func deleteLink(named name: String) throws(NetlinkError) -> Bool {
        guard let index = try interfaceIndex(named: name) else { return false }
        guard let link = rtnl_link_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: "cannot delete link \(name)")
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_ifindex(link, index)
        let result = retryingInterrupts { rtnl_link_delete(socket, link) }
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NODEV { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: "cannot delete link \(name)") }
        return true
    }

    /// Sets `name` administratively up or down.
    /// The corresponding C calls are `rtnl_link_set_flags` / `rtnl_link_unset_flags` and `rtnl_link_change`.
    public func setLink(named name: String, up: Bool) throws(NetlinkError) {
        try changeLink(name, operation: "cannot set \(name) \(up ? "up" : "down")") { change in
            if up {
                rtnl_link_set_flags(change, UInt32(IFF_UP))
            } else {
                rtnl_link_unset_flags(change, UInt32(IFF_UP))
            }
            return 0
        }
    }

    /// Sets how the kernel makes `name`'s IPv6 link-local address (`ip link set NAME addrgenmode MODE`): `none`
    /// keeps it from making one. It cannot be given when a link is created.
    /// The corresponding C calls are `rtnl_link_inet6_set_addr_gen_mode` and `rtnl_link_change`.
    public func setIPv6AddressGenerationMode(named name: String, _ mode: String) throws(NetlinkError) {
        try changeLink(name, operation: "cannot set addrgenmode \(mode) on \(name)") { change in
            rtnl_link_inet6_set_addr_gen_mode(change, rtnl_link_inet6_str2addrgenmode(mode))
        }
    }

    /// Sets IPv4 device settings of `name` (`net.ipv4.conf.NAME.KEY`, keys as sysctl spells them: `arp_ignore`,
    /// `rp_filter`, …) in one message.
    /// The corresponding C calls are `rtnl_link_inet_str2devconf`, `rtnl_link_inet_set_conf` and `rtnl_link_change`.
    public func setIPv4DeviceConfiguration(named name: String, _ values: [(key: String, value: UInt32)])
        throws(NetlinkError)
    {
        let keys = values.map(\.key).joined(separator: ", ")
        try changeLink(name, operation: "cannot set \(keys) on \(name)") { change in
            for (key, value) in values {
                let id = Self.deviceConfigurationID(key)
                guard id > 0 else { return -NLE_INVAL }
                let result = rtnl_link_inet_set_conf(change, UInt32(id), value)
                guard result >= 0 else { return result }
            }
            return 0
        }
    }

    /// One IPv4 device setting of `name` (`net.ipv4.conf.NAME.KEY`); nil when there is no such link or setting.
    /// The corresponding C calls are `rtnl_link_get_kernel` and `rtnl_link_inet_get_conf`.
    public func ipv4DeviceConfiguration(named name: String, _ key: String) throws(NetlinkError) -> UInt32? {
        let id = Self.deviceConfigurationID(key)
        guard id > 0, let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        var value: UInt32 = 0
        return rtnl_link_inet_get_conf(link, UInt32(id), &value) >= 0 ? value : nil
    }

    /// libnl's id of an IPv4 device setting named as sysctl names it (libnl spells `arp_filter` `arpfilter`, after
    /// `IPV4_DEVCONF_ARPFILTER`); 0 or less when unknown.
    /// The corresponding C call is `rtnl_link_inet_str2devconf`.
    static func deviceConfigurationID(_ key: String) -> Int32 {
        rtnl_link_inet_str2devconf(key == "arp_filter" ? "arpfilter" : key)
    }

    /// Sends the changes `body` makes to an empty link object for `name`.
    private func changeLink(_ name: String, operation: String, _ body: (OpaquePointer) -> Int32)
        throws(NetlinkError)
    {
        guard let current = try link(named: name) else { throw .noSuchInterface(name, operation: operation) }
        defer { rtnl_link_put(current) }
        guard let change = rtnl_link_alloc() else { throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation) }
        defer { rtnl_link_put(change) }
        var result = body(change)
        if result >= 0 { result = retryingInterrupts { rtnl_link_change(socket, current, change, 0) } }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
    }

    /// Calls `body` with a fresh `struct nl_addr` holding a link-layer address.
    /// The corresponding C call is `nl_addr_build(AF_LLC, …)`.
    static func withHardwareAddress(_ bytes: [UInt8], _ body: (OpaquePointer) -> Void) -> Int32 {
        guard let built = bytes.withUnsafeBytes({ nl_addr_build(AF_LLC, $0.baseAddress, $0.count) }) else {
            return -NLE_NOMEM
        }
        defer { nl_addr_put(built) }
        body(built)
        return 0
    }

    /// The table of VRF device `name`; nil when there is no such link or it is not a VRF.
    /// The corresponding C calls are `rtnl_link_get_kernel`, `rtnl_link_is_vrf` and `rtnl_link_vrf_get_tableid`.
    public func vrfTable(named name: String) throws(NetlinkError) -> UInt32? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        var table: UInt32 = 0
        guard rtnl_link_is_vrf(link) != 0, rtnl_link_vrf_get_tableid(link, &table) >= 0 else { return nil }
        return table
    }
}
