import CNetlink
import Config

#if canImport(Glibc)
    import Glibc
#endif

/// A `NETLINK_ROUTE` socket through libnl-route: links, addresses and routes, as the VRRP engine needs them.
///
/// Every call waits for the kernel's acknowledgement, retries `EINTR` (libnl's `NLE_INTR`) and turns negative libnl
/// results into `NetlinkError` with `nl_geterror` text naming the object ("cannot add 192.0.2.100/32 to eth0: …").
/// Blocking and not thread-safe: one per engine loop.
public final class RouteNetlinkSocket {
    let socket: OpaquePointer

    /// Opens and connects the socket.
    /// The corresponding C calls are `nl_socket_alloc` and `nl_connect(NETLINK_ROUTE)`.
    public init() throws(NetlinkError) {
        guard let socket = nl_socket_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: "allocating a route netlink socket")
        }
        let result = Self.retryingInterrupts { nl_connect(socket, NETLINK_ROUTE) }
        guard result >= 0 else {
            nl_socket_free(socket)
            throw NetlinkError(libnlResult: result, operation: "connecting a route netlink socket")
        }
        self.socket = socket
    }

    deinit {
        nl_socket_free(socket)
    }

    // MARK: Links

    /// The link called `name`, or nil when there is none; the caller must `rtnl_link_put` it.
    /// The corresponding C call is `rtnl_link_get_kernel`.
    func link(named name: String?, index: Int32 = 0) throws(NetlinkError) -> OpaquePointer? {
        var link: OpaquePointer?
        let result = retryingInterrupts { rtnl_link_get_kernel(socket, index, name, &link) }
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NODEV { return nil }
        guard result >= 0 else {
            throw NetlinkError(libnlResult: result, operation: "reading link \(name ?? "#\(index)")")
        }
        return link
    }

    /// The interface index of `named`, or nil when there is no such interface.
    /// The corresponding C calls are `rtnl_link_get_kernel` and `rtnl_link_get_ifindex`.
    public func interfaceIndex(named name: String) throws(NetlinkError) -> Int32? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_ifindex(link)
    }

    /// The name of the interface with `index`, or nil when there is none.
    /// The corresponding C calls are `rtnl_link_get_kernel` and `rtnl_link_get_name`.
    public func interfaceName(index: Int32) throws(NetlinkError) -> String? {
        guard index > 0, let link = try link(named: nil, index: index) else { return nil }
        defer { rtnl_link_put(link) }
        return rtnl_link_get_name(link).map { String(cString: $0) }
    }

    /// Whether `named` is up and has carrier (`IFF_UP` and `IFF_RUNNING`); nil when there is no such interface.
    /// The corresponding C call is `rtnl_link_get_flags`.
    public func isLinkUp(named name: String) throws(NetlinkError) -> Bool? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        return LinkEvent.isUp(flags: rtnl_link_get_flags(link))
    }

    /// The link-layer address of `named` (6 bytes on Ethernet), or nil when there is no such interface or it has
    /// none (loopback has six zeros, a tunnel may have none).
    /// The corresponding C call is `rtnl_link_get_addr`.
    public func hardwareAddress(named name: String) throws(NetlinkError) -> [UInt8]? {
        guard let link = try link(named: name) else { return nil }
        defer { rtnl_link_put(link) }
        guard let address = rtnl_link_get_addr(link) else { return nil }
        let bytes = Self.bytes(of: address)
        return bytes.isEmpty ? nil : bytes
    }

    // MARK: Addresses

    /// Every address on `interface` (every interface when nil), IPv4 and IPv6.
    /// The corresponding C call is `rtnl_addr_alloc_cache`.
    /// - Throws: `NetlinkError` when the dump fails or `interface` does not exist.
    public func addresses(interface: String?) throws(NetlinkError) -> [InterfaceAddress] {
        var wantedIndex: Int32?
        if let interface {
            guard let index = try interfaceIndex(named: interface) else {
                throw .noSuchInterface(interface, operation: "cannot list the addresses of \(interface)")
            }
            wantedIndex = index
        }
        var cache: OpaquePointer?
        let result = retryingInterrupts { rtnl_addr_alloc_cache(socket, &cache) }
        guard result >= 0, let cache else {
            throw NetlinkError(libnlResult: result, operation: "cannot list the addresses")
        }
        defer { nl_cache_free(cache) }
        var names: [Int32: String] = [:]
        var found: [InterfaceAddress] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            defer { object = nl_cache_get_next(current) }
            let index = rtnl_addr_get_ifindex(current)
            if let wantedIndex, index != wantedIndex { continue }
            guard let local = rtnl_addr_get_local(current), let address = IPAddress(bytes: Self.bytes(of: local))
            else { continue }
            let name: String
            if let known = names[index] {
                name = known
            } else {
                name = try interfaceName(index: index) ?? "#\(index)"
                names[index] = name
            }
            let scope = UInt8(truncatingIfNeeded: rtnl_addr_get_scope(current))
            let label = rtnl_addr_get_label(current).map { String(cString: $0) }
            found.append(
                InterfaceAddress(
                    address: address, prefixLength: UInt8(truncatingIfNeeded: rtnl_addr_get_prefixlen(current)),
                    interface: name, label: address.family == .ipv4 ? label : nil, scope: scope == 0 ? nil : scope,
                    broadcast: rtnl_addr_get_broadcast(current).flatMap { IPAddress(bytes: Self.bytes(of: $0)) },
                    noDAD: rtnl_addr_get_flags(current) & UInt32(IFA_F_NODAD) != 0))
        }
        return found
    }

    /// Adds `address`; an address that is already there is not an error.
    /// The corresponding C call is `rtnl_addr_add` (with `NLM_F_EXCL`).
    /// - Returns: true when added, false when it was already there.
    /// - Throws: `NetlinkError` naming the address and interface, e.g. when the interface does not exist.
    @discardableResult public func addAddress(_ address: InterfaceAddress) throws(NetlinkError) -> Bool {
        let operation = "cannot add \(address.address)/\(address.prefixLength) to \(address.interface)"
        let request = try addressRequest(address, operation: operation)
        defer { rtnl_addr_put(request) }
        let result = retryingInterrupts { rtnl_addr_add(socket, request, NLM_F_EXCL) }
        if result == -NLE_EXIST { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
    }

    /// Deletes `address`; an address that is not there is not an error.
    /// The corresponding C call is `rtnl_addr_delete`.
    /// - Returns: true when deleted, false when it was not there.
    @discardableResult public func deleteAddress(_ address: InterfaceAddress) throws(NetlinkError) -> Bool {
        let operation = "cannot delete \(address.address)/\(address.prefixLength) from \(address.interface)"
        let request = try addressRequest(address, operation: operation)
        defer { rtnl_addr_put(request) }
        let result = retryingInterrupts { rtnl_addr_delete(socket, request, 0) }
        if result == -NLE_NOADDR || result == -NLE_OBJ_NOTFOUND { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
    }

    /// A `struct rtnl_addr` for `address`; the caller must `rtnl_addr_put` it.
    private func addressRequest(_ address: InterfaceAddress, operation: String) throws(NetlinkError) -> OpaquePointer {
        guard Int(address.prefixLength) <= address.address.maxPrefixLength else {
            throw NetlinkError(
                kind: .library, code: NLE_INVAL,
                message: "\(operation): prefix length \(address.prefixLength) is too long")
        }
        guard let index = try interfaceIndex(named: address.interface) else {
            throw .noSuchInterface(address.interface, operation: operation)
        }
        guard let request = rtnl_addr_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
        }
        rtnl_addr_set_ifindex(request, index)
        var result = Self.withAddress(address.address, prefixLength: address.prefixLength) {
            rtnl_addr_set_local(request, $0)
        }
        rtnl_addr_set_prefixlen(request, Int32(address.prefixLength))
        if result >= 0, address.address.family == .ipv4, let label = address.label {
            result = rtnl_addr_set_label(request, label)
        }
        if result >= 0, let broadcast = address.broadcast {
            result = Self.withAddress(broadcast, prefixLength: nil) { rtnl_addr_set_broadcast(request, $0) }
        }
        guard result >= 0 else {
            rtnl_addr_put(request)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        if let peer = address.peer {
            let result = Self.withAddress(peer, prefixLength: address.peerPrefixLength) {
                rtnl_addr_set_peer(request, $0)
            }
            guard result >= 0 else {
                rtnl_addr_put(request)
                throw NetlinkError(libnlResult: result, operation: operation)
            }
        }
        rtnl_addr_set_scope(request, Int32(address.scope ?? 0))
        let flags = (address.noDAD ? UInt32(IFA_F_NODAD) : 0) | address.extraFlags
        if flags != 0 { rtnl_addr_set_flags(request, flags) }
        if let lifetime = address.preferredLifetime {
            // The kernel wants a valid lifetime with it: forever, as `ip address add … preferred_lft` sends.
            rtnl_addr_set_valid_lifetime(request, UInt32.max)
            rtnl_addr_set_preferred_lifetime(request, lifetime)
        }
        return request
    }

    // MARK: Routes

    /// Adds `route`; a route that is already there is not an error.
    /// The corresponding C calls are `rtnl_route_build_add_request` (with `route.creation`'s flags), `nla_put` for
    /// what libnl has no field for (`RTA_FLOW`, `RTA_EXPIRES`, `RTA_PREF`, `RTAX_CC_ALGO`), and `nl_send_sync`.
    /// - Returns: true when added, false when it was already there.
    @discardableResult public func addRoute(_ route: RouteSpec) throws(NetlinkError) -> Bool {
        let operation = "cannot add route \(route)"
        // With congctl Vigil writes RTA_METRICS itself: the kernel reads one metrics attribute.
        let request = try routeRequest(route, operation: operation, withMetrics: route.congestionControl == nil)
        defer { rtnl_route_put(request) }
        var message: OpaquePointer?
        var result = rtnl_route_build_add_request(request, route.creation.flags, &message)
        guard result >= 0, let message else { throw NetlinkError(libnlResult: result, operation: operation) }
        if let realms = route.realms { result = min(result, nla_put_u32(message, Int32(RTA_FLOW.rawValue), realms)) }
        if let expires = route.expires {
            result = min(result, nla_put_u32(message, Int32(RTA_EXPIRES.rawValue), expires))
        }
        if let preference = route.routerPreference {
            result = min(result, nla_put_u8(message, Int32(RTA_PREF.rawValue), preference))
        }
        if let algorithm = route.congestionControl {
            result = min(result, Self.putMetrics(route, congestionControl: algorithm, into: message))
        }
        if let encap = route.encap { result = min(result, Self.putEncap(encap, into: message)) }
        guard result >= 0 else {
            nlmsg_free(message)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        // nl_send_sync frees the message; an interrupted wait is not retried (the route may be in).
        result = nl_send_sync(socket, message)
        if result == -NLE_EXIST { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
    }

    /// The routes of `table` whose protocol is `protocolNumber` (IPv4 and IPv6): destination, prefix length and type.
    /// The corresponding C call is `rtnl_route_alloc_cache`.
    public func routes(table: UInt32, protocolNumber: UInt8) throws(NetlinkError) -> [RouteSpec] {
        var cache: OpaquePointer?
        let result = retryingInterrupts { rtnl_route_alloc_cache(socket, AF_UNSPEC, 0, &cache) }
        guard result >= 0, let cache else {
            throw NetlinkError(libnlResult: result, operation: "cannot list the routes of table \(table)")
        }
        defer { nl_cache_free(cache) }
        var found: [RouteSpec] = []
        var object = nl_cache_get_first(cache)
        while let current = object {
            defer { object = nl_cache_get_next(current) }
            guard rtnl_route_get_table(current) == table, rtnl_route_get_protocol(current) == protocolNumber,
                let destination = rtnl_route_get_dst(current),
                let address = IPAddress(bytes: Self.bytes(of: destination))
            else { continue }
            let type = RouteType(rawValue: rtnl_route_get_type(current)) ?? .unicast
            found.append(
                RouteSpec(
                    destination: address, prefixLength: UInt8(truncatingIfNeeded: nl_addr_get_prefixlen(destination)),
                    table: table, protocolNumber: protocolNumber, type: type))
        }
        return found
    }

    /// `RTA_METRICS` with the route's metrics, its locks and `RTAX_CC_ALGO` (`RTAX_LOCK` 1, `RTAX_CC_ALGO` 16).
    /// The corresponding C calls are `nla_nest_start`, `nla_put_u32`, `nla_put_string` and `nla_nest_end`.
    private static func putMetrics(_ route: RouteSpec, congestionControl: String, into message: OpaquePointer)
        -> Int32
    {
        guard let nest = nla_nest_start(message, Int32(RTA_METRICS.rawValue)) else { return -NLE_NOMEM }
        var result: Int32 = 0
        var locks = route.lockedMetrics.reduce(UInt32(0)) { $0 | (1 << UInt32($1)) }
        if route.congestionControlLocked { locks |= 1 << 16 }
        if locks != 0 { result = min(result, nla_put_u32(message, 1, locks)) }
        for (metric, value) in route.metrics.sorted(by: { $0.key < $1.key }) {
            result = min(result, nla_put_u32(message, metric, value))
        }
        result = min(result, nla_put_string(message, 16, congestionControl))
        return min(result, nla_nest_end(message, nest))
    }

    /// `RTA_ENCAP` with the tunnel's attributes, and `RTA_ENCAP_TYPE` (`LWTUNNEL_ENCAP_MPLS` 1, `_IP` 2, `_IP6` 4).
    /// An MPLS stack is `MPLS_IPTUNNEL_DST` (1): big-endian label entries, bottom of stack on the last. `ip`/`ip6`:
    /// `LWTUNNEL_IP_ID` 1 (big-endian), `_DST` 2, `_SRC` 3, then TTL 4 / TOS 5 (IPv4) or hop limit 4 / TC 5 (IPv6),
    /// and `_FLAGS` 6: the same numbers for both families.
    /// The corresponding C calls are `nla_nest_start`, `nla_put*` and `nla_nest_end`.
    static func putEncap(_ encap: RouteEncap, into message: OpaquePointer) -> Int32 {
        guard let nest = nla_nest_start(message, Int32(RTA_ENCAP.rawValue)) else { return -NLE_NOMEM }
        var result: Int32 = 0
        func put(_ type: Int32, _ bytes: [UInt8]) {
            result = min(result, bytes.withUnsafeBytes { nla_put(message, type, Int32($0.count), $0.baseAddress) })
        }
        let type: UInt16
        switch encap.kind {
        case .mpls:
            type = 1
            put(1, Self.mplsLabelStack(encap.labels))
        case .ip, .ip6:
            type = encap.kind == .ip ? 2 : 4
            if let id = encap.id { result = min(result, nla_put_u64(message, 1, id.bigEndian)) }
            if let destination = encap.destination { put(2, destination.bytes) }
            if let source = encap.source { put(3, source.bytes) }
            if let ttl = encap.ttl { result = min(result, nla_put_u8(message, 4, ttl)) }
            if let tos = encap.tos { result = min(result, nla_put_u8(message, 5, tos)) }
            if let flags = encap.flags { result = min(result, nla_put_u16(message, 6, flags)) }
        }
        result = min(result, nla_nest_end(message, nest))
        return min(result, nla_put_u16(message, Int32(RTA_ENCAP_TYPE.rawValue), type))
    }

    /// An MPLS label stack as the kernel takes it (`struct mpls_label`): each label in the top 20 bits of a
    /// big-endian word, the bottom-of-stack bit (0x100) on the last, TTL 0 (the kernel's default).
    public static func mplsLabelStack(_ labels: [UInt32]) -> [UInt8] {
        labels.enumerated().flatMap { index, label -> [UInt8] in
            let entry = label << 12 | (index == labels.count - 1 ? 0x100 : 0)
            return withUnsafeBytes(of: entry.bigEndian) { Array($0) }
        }
    }

    /// Deletes `route`; a route that is not there is not an error.
    /// The corresponding C call is `rtnl_route_delete`.
    /// - Returns: true when deleted, false when it was not there.
    @discardableResult public func deleteRoute(_ route: RouteSpec) throws(NetlinkError) -> Bool {
        let operation = "cannot delete route \(route)"
        let request = try routeRequest(route, operation: operation)
        defer { rtnl_route_put(request) }
        let result = retryingInterrupts { rtnl_route_delete(socket, request, 0) }
        if result == -NLE_OBJ_NOTFOUND || result == -NLE_NOADDR { return false }
        guard result >= 0 else { throw NetlinkError(libnlResult: result, operation: operation) }
        return true
    }

    /// A `struct rtnl_route` for `route`; the caller must `rtnl_route_put` it.
    private func routeRequest(_ route: RouteSpec, operation: String, withMetrics: Bool = true) throws(NetlinkError)
        -> OpaquePointer
    {
        let family = route.destination.family
        guard Int(route.prefixLength) <= route.destination.maxPrefixLength,
            route.gateway.map({ $0.family == family }) ?? true, route.source.map({ $0.family == family }) ?? true
        else {
            throw NetlinkError(
                kind: .library, code: NLE_INVAL,
                message: "\(operation): prefix length or address families do not agree")
        }
        var index: Int32?
        if let interface = route.interface {
            guard let found = try interfaceIndex(named: interface) else {
                throw .noSuchInterface(interface, operation: operation)
            }
            index = found
        }
        var vrfTable: UInt32?
        if let vrf = route.vrf {
            guard let table = try self.vrfTable(named: vrf) else {
                throw NetlinkError(kind: .library, code: NLE_INVAL, message: "\(operation): \(vrf) is not a VRF device")
            }
            vrfTable = table
        }
        guard let request = rtnl_route_alloc() else {
            throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
        }
        var result = rtnl_route_set_family(request, UInt8(family == .ipv4 ? AF_INET : AF_INET6))
        if result >= 0 {
            result = Self.withAddress(route.destination, prefixLength: route.prefixLength) {
                rtnl_route_set_dst(request, $0)
            }
        }
        if result >= 0, let source = route.source {
            result = Self.withAddress(source, prefixLength: nil) { rtnl_route_set_pref_src(request, $0) }
        }
        guard result >= 0 else {
            rtnl_route_put(request)
            throw NetlinkError(libnlResult: result, operation: operation)
        }
        rtnl_route_set_table(
            request,
            vrfTable ?? route.table ?? (route.type.defaultsToLocalTable ? RT_TABLE_LOCAL : RT_TABLE_MAIN).rawValue)
        if let metric = route.metric { rtnl_route_set_priority(request, metric) }
        if let scope = route.scope { rtnl_route_set_scope(request, scope) }
        if let tos = route.tos { rtnl_route_set_tos(request, tos) }
        if let ttlPropagate = route.ttlPropagate { rtnl_route_set_ttl_propagate(request, ttlPropagate ? 1 : 0) }
        rtnl_route_set_protocol(request, route.protocolNumber ?? RouteSpec.keepalivedProtocol)
        _ = rtnl_route_set_type(request, route.type.rawValue)
        for (metric, value) in route.metrics where withMetrics { _ = rtnl_route_set_metric(request, metric, value) }
        if withMetrics && !route.lockedMetrics.isEmpty {
            // RTAX_LOCK (1) is a bit mask of the locked metrics.
            _ = rtnl_route_set_metric(request, 1, route.lockedMetrics.reduce(UInt32(0)) { $0 | (1 << UInt32($1)) })
        }
        // Next hops: the multipath groups, else one from dev/via; blackhole and the like have none.
        var hops = route.nextHops
        if hops.isEmpty && route.type == .unicast && (route.interface != nil || route.gateway != nil) {
            hops = [RouteNextHopSpec(gateway: route.gateway, interface: route.interface, onlink: route.onlink)]
        }
        for spec in hops {
            var hopIndex = index
            if let name = spec.interface, spec.interface != route.interface || route.nextHops.count > 0 {
                guard let found = try interfaceIndex(named: name) else {
                    rtnl_route_put(request)
                    throw .noSuchInterface(name, operation: operation)
                }
                hopIndex = found
            }
            guard let hop = rtnl_route_nh_alloc() else {
                rtnl_route_put(request)
                throw NetlinkError(libnlResult: -NLE_NOMEM, operation: operation)
            }
            if let hopIndex { rtnl_route_nh_set_ifindex(hop, hopIndex) }
            if let gateway = spec.gateway {
                _ = Self.withAddress(gateway, prefixLength: nil) { rtnl_route_nh_set_gateway(hop, $0) }
            }
            if route.nextHops.count > 0 { rtnl_route_nh_set_weight(hop, UInt8(clamping: max(Int(spec.weight) - 1, 0))) }
            if spec.onlink { rtnl_route_nh_set_flags(hop, UInt32(RTNH_F_ONLINK)) }
            rtnl_route_add_nexthop(request, hop)  // the route owns the next hop from here
        }
        return request
    }

    // MARK: Helpers

    /// Calls `body` with a fresh `struct nl_addr` for `address` (its prefix length defaults to the full width).
    /// The corresponding C call is `nl_addr_build`.
    static func withAddress(
        _ address: IPAddress, prefixLength: UInt8?, _ body: (OpaquePointer) -> Int32
    ) -> Int32 {
        let bytes = address.bytes
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        guard let built = bytes.withUnsafeBytes({ nl_addr_build(family, $0.baseAddress, $0.count) }) else {
            return -NLE_NOMEM
        }
        defer { nl_addr_put(built) }
        if let prefixLength { nl_addr_set_prefixlen(built, Int32(prefixLength)) }
        return body(built)
    }

    private static func withAddress(_ address: IPAddress, prefixLength: UInt8?, _ body: (OpaquePointer) -> Void)
        -> Int32
    {
        withAddress(address, prefixLength: prefixLength) { (pointer: OpaquePointer) -> Int32 in
            body(pointer)
            return 0
        }
    }

    /// The bytes of a `struct nl_addr`.
    static func bytes(of address: OpaquePointer) -> [UInt8] {
        let count = Int(nl_addr_get_len(address))
        guard count > 0, let start = nl_addr_get_binary_addr(address) else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: count))
    }

    func retryingInterrupts(_ call: () -> Int32) -> Int32 { Self.retryingInterrupts(call) }

    static func retryingInterrupts(_ call: () -> Int32) -> Int32 {
        var result: Int32
        repeat { result = call() } while result == -NLE_INTR
        return result
    }
}

extension RouteCreation {
    /// The `nlmsg_flags` besides `NLM_F_CREATE` (which libnl adds).
    var flags: Int32 {
        switch self {
        case .add: NLM_F_EXCL
        case .prepend: 0
        case .append: NLM_F_APPEND
        }
    }
}

extension NetlinkError {
    /// "cannot add 192.0.2.100/32 to eth9: no such interface".
    static func noSuchInterface(_ name: String, operation: String) -> NetlinkError {
        NetlinkError(kind: .library, code: NLE_OBJ_NOTFOUND, message: "\(operation): no such interface \(name)")
    }
}
