import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Netlink
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel side of the engine: VRRP sockets (read by `VRRPReceiver`'s thread), addresses through
/// rtnetlink, gratuitous ARP / NA through `Announcer`, timers on the engine's event loop.
///
/// `@unchecked Sendable` so its timer closures (which NIO requires to be `@Sendable`) can reach it: every call
/// comes from the engine's loop and every timer fires there, which `schedule` and `cancel` assert
/// (`preconditionInEventLoop`), so its mutable state (`timers`, `onTimer`) is never touched from two threads.
final class LinuxVRRPSystem: VRRPSystem, @unchecked Sendable {
    typealias Instant = MonotonicInstant

    let loop: EventLoop
    let logger: Logger
    let receiver: VRRPReceiver
    /// Called on the loop when a timer fires.
    var onTimer: (VRRPTimer, String) -> Void = { _, _ in }
    private var timers: [String: Scheduled<Void>] = [:]
    private var route: RouteNetlinkSocket?
    private let announcer = Announcer()

    init(loop: EventLoop, logger: Logger, receiver: VRRPReceiver) {
        self.loop = loop
        self.logger = logger
        self.receiver = receiver
        do {
            route = try RouteNetlinkSocket()
        } catch {
            logger.error("cannot open rtnetlink: \(error)")
        }
    }

    var now: MonotonicInstant { .now }

    func monotonicNanoseconds(_ instant: MonotonicInstant) -> Int64 { instant.nanoseconds }

    func instant(monotonicNanoseconds nanoseconds: Int64) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds)
    }

    func openSocket(_ request: VRRPSocketRequest) -> Bool {
        do {
            var sockets = [try receiver.socket(family: request.family, interface: request.interface)]
            if request.authenticationHeader && request.family == .ipv4 {
                // AH adverts are IP protocol 51: a raw socket of that protocol receives them.
                sockets.append(
                    try receiver.socket(
                        family: .ipv4, interface: request.interface, ipProtocol: authenticationHeaderIPProtocol))
            }
            for socket in sockets {
                if let group = request.group { try socket.join(group) }
                if let size = request.receiveBufferSize { try socket.setReceiveBufferSize(size) }
            }
            return true
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    func send(
        _ message: [UInt8], from source: IPAddress, to destination: IPAddress, interface: String,
        options: VRRPSendOptions
    ) -> Bool {
        do {
            try receiver.socket(family: source.family, interface: interface).send(
                message, from: source, to: destination, options: options
            )
            .get()
            return true
        } catch {
            logger.debug("\(error)")
            return false
        }
    }

    func primaryAddress(interface: String, family: IPAddress.Family) -> IPAddress? {
        let addresses = (try? route?.addresses(interface: interface)) ?? []
        let candidates = addresses.filter { $0.address.family == family }
        if family == .ipv6 {
            return candidates.first { $0.address.isLinkLocalV6 }?.address ?? candidates.first?.address
        }
        return candidates.first { $0.label == nil || $0.label == interface }?.address ?? candidates.first?.address
    }

    /// Interfaces whose promote_secondaries this worker turned on (restored by `restoreInterfaces`).
    private var promoted: Set<String> = []

    func setPromoteSecondaries(interface: String) {
        guard let route, !promoted.contains(interface),
            (try? route.ipv4DeviceConfiguration(named: interface, "promote_secondaries")) != 1
        else { return }
        do {
            try route.setIPv4DeviceConfiguration(named: interface, [("promote_secondaries", 1)])
            promoted.insert(interface)
        } catch {
            logger.error("promote_secondaries on \(interface): \(error)")
        }
    }

    /// Puts back what this worker changed on interfaces (promote_secondaries), as keepalived does when it stops.
    func restoreInterfaces() {
        for interface in promoted {
            try? route?.setIPv4DeviceConfiguration(named: interface, [("promote_secondaries", 0)])
        }
        promoted = []
    }

    func hasAddress(_ address: IPAddress, interface: String) -> Bool {
        ((try? route?.addresses(interface: interface)) ?? []).contains { $0.address == address }
    }

    func initialAuthenticationSequence() -> UInt32 { UInt32(truncatingIfNeeded: time(nil)) }

    func isLinkUp(interface: String) -> Bool { ((try? route?.isLinkUp(named: interface)) ?? nil) ?? false }

    func addAddress(_ address: VRRPHeldAddress) -> Bool {
        do {
            guard let route else { return false }
            try route.addAddress(KernelObjects.interfaceAddress(address))
            return true
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    func removeAddress(_ address: VRRPHeldAddress) -> Bool {
        for task in pendingAnnouncements.removeValue(forKey: address) ?? [] { task.cancel() }
        do {
            guard let route else { return false }
            try route.deleteAddress(KernelObjects.interfaceAddress(address))
            return true
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    /// A route as rtnetlink wants it; nil (logged) when it cannot be programmed.
    private func routeSpec(_ route: VirtualRoute) -> RouteSpec? {
        switch KernelObjects.routeSpec(route) {
        case .success(let spec): return spec
        case .failure(let problem):
            logger.warning("\(problem); not programmed")
            return nil
        }
    }

    func addRule(_ rule: VirtualRule) -> Bool {
        guard let socket = route else { return false }
        switch KernelObjects.ruleSpec(rule) {
        case .success(let spec):
            do {
                try socket.addRule(spec)
                return true
            } catch {
                logger.error("\(error)")
                return false
            }
        case .failure(let problem):
            logger.warning("\(problem); not programmed")
            return false
        }
    }

    func removeRule(_ rule: VirtualRule) -> Bool {
        guard let socket = route, case .success(let spec) = KernelObjects.ruleSpec(rule) else { return false }
        do {
            return try socket.deleteRule(spec)
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    func addRoute(_ route: VirtualRoute) -> Bool {
        guard let socket = self.route, let spec = routeSpec(route) else { return false }
        do {
            try socket.addRoute(spec)
            return true
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    func removeRoute(_ route: VirtualRoute) -> Bool {
        guard let socket = self.route, let spec = routeSpec(route) else { return false }
        do {
            return try socket.deleteRoute(spec)
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    // MARK: The no-accept filter

    private var filterSettings = (table: "keepalived", priority: Int32(-1), counters: false)
    /// Opened when an instance first needs it.
    private var filter: NoAcceptFilter?

    func configureTrafficFilter(table: String, priority: Int32, counters: Bool) {
        if filterSettings != (table, priority, counters) {
            if filter != nil { removeTrafficFilter() }
            filterSettings = (table, priority, counters)
        }
    }

    func blockTraffic(to addresses: [IPAddress]) -> Bool {
        do {
            let filter =
                try self.filter
                ?? NoAcceptFilter(
                    table: filterSettings.table, priority: filterSettings.priority, counters: filterSettings.counters)
            self.filter = filter
            try filter.block(addresses)
            return true
        } catch {
            logger.error("\(error)")
            return false
        }
    }

    func unblockTraffic(to addresses: [IPAddress]) {
        do {
            try filter?.unblock(addresses)
        } catch {
            logger.error("\(error)")
        }
    }

    func removeTrafficFilter() {
        do {
            try filter?.removeTables()
        } catch {
            logger.error("\(error)")
        }
        filter = nil
    }

    // MARK: Virtual MACs

    /// Each base interface's `arp_ignore` / `arp_filter` before the first IPv4 VMAC on it, and how many there are:
    /// restored when the last goes (keepalived does the same).
    private var baseSettings: [String: (saved: [(key: String, value: UInt32)], count: Int)] = [:]

    func linkFacts(named name: String) -> VRRPLinkFacts? {
        guard let route, let link = try? route.linkDescription(named: name) else { return nil }
        let lower = link.lowerIndex.flatMap { try? route.interfaceName(index: $0) }
        return VRRPLinkFacts(
            isMacvlan: link.kind == "macvlan", isIPVLAN: link.kind == "ipvlan" && link.ipvlanMode == "l2", lower: lower,
            hardwareAddress: link.hardwareAddress)
    }

    func addVirtualMAC(_ link: VRRPVirtualMAC) -> Bool {
        guard let route else { return false }
        do {
            // keepalived: a VMAC / ipvlan goes in the VRF its base is enslaved to.
            let master = try route.vrfMasterIndex(of: link.base)
            if let existing = try route.linkDescription(named: link.name) {
                let lower = try existing.lowerIndex.flatMap { try route.interfaceName(index: $0) }
                let matches: Bool
                switch link.kind {
                case .macvlan:
                    matches =
                        existing.kind == "macvlan" && existing.macvlanMode == .private && lower == link.base
                        && existing.hardwareAddress == link.hardwareAddress
                case .ipvlan:
                    // libnl 3.7 does not read IFLA_IPVLAN_FLAGS: an ipvlan's bridge/private/vepa is not compared.
                    matches = existing.kind == "ipvlan" && existing.ipvlanMode == "l2" && lower == link.base
                }
                if !matches {
                    guard existing.kind == link.linkKind else {
                        logger.error("VMAC \(link): \(link.name) exists and is not a \(link.linkKind)")
                        return false
                    }
                    logger.info("VMAC \(link): replacing the \(link.linkKind) of that name (other MAC, mode or base)")
                    try route.deleteLink(named: link.name)
                } else {
                    logger.info("VMAC \(link): taking over the existing \(link.linkKind)")
                    if existing.masterIndex != master { try route.setMaster(named: link.name, master) }
                }
            }
            if try route.linkDescription(named: link.name) == nil {
                switch link.kind {
                case .macvlan:
                    try route.addMacvlan(
                        named: link.name, lower: link.base, hardwareAddress: link.hardwareAddress, mode: .private,
                        master: master)
                case .ipvlan(let mode):
                    let flags: UInt16 = [.bridge: 0, .private: 1, .vepa: 2][mode] ?? 0
                    try route.addIPVLAN(named: link.name, lower: link.base, flags: flags, master: master)
                }
            }
            if link.kind == .macvlan {
                // RFC 5798 §7.4: no link-local address made from the virtual MAC (set before the link goes up).
                try route.setIPv6AddressGenerationMode(named: link.name, "none")
            }
            if link.family == .ipv4, link.kind == .macvlan {
                // keepalived's settings: the VMAC answers ARP for its own addresses only, accepts packets from
                // local sources, is not reverse-path filtered; the base no longer answers for the VMAC's addresses.
                try route.setIPv4DeviceConfiguration(
                    named: link.name,
                    [("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0), ("promote_secondaries", 1)])
                try configureBase(link.base, route: route)
            }
            if link.family == .ipv4 {
                // No IPv6 on an IPv4 VMAC or ipvlan (keepalived); /proc/sys is the only way to set it.
                _ = Self.writeSysctl("/proc/sys/net/ipv6/conf/\(link.name)/disable_ipv6", "1")
            }
            try route.setLink(named: link.name, up: true)
            if let linkLocal = link.linkLocal {
                try route.addAddress(
                    InterfaceAddress(address: linkLocal, prefixLength: 64, interface: link.name, noDAD: true))
            }
            if let address = link.address {
                try route.addAddress(
                    InterfaceAddress(
                        address: address.address, prefixLength: UInt8(address.length), interface: link.name))
            }
            return true
        } catch {
            logger.error("VMAC \(link): \(error)")
            return false
        }
    }

    func removeVirtualMAC(_ link: VRRPVirtualMAC) {
        guard let route else { return }
        do {
            try route.deleteLink(named: link.name)
        } catch {
            logger.error("VMAC \(link): \(error)")
        }
        if link.family == .ipv4, link.kind == .macvlan, var entry = baseSettings[link.base] {
            entry.count -= 1
            baseSettings[link.base] = entry.count > 0 ? entry : nil
            if entry.count == 0 {
                do {
                    try route.setIPv4DeviceConfiguration(named: link.base, entry.saved)
                } catch {
                    logger.warning("VMAC \(link): cannot restore \(link.base)'s ARP settings: \(error)")
                }
            }
        }
    }

    /// `arp_ignore` 1 and `arp_filter` 1 on an IPv4 VMAC's base, saving what they were for `removeVirtualMAC`.
    private func configureBase(_ base: String, route: RouteNetlinkSocket) throws(NetlinkError) {
        if var entry = baseSettings[base] {
            entry.count += 1
            baseSettings[base] = entry
            return
        }
        var saved: [(key: String, value: UInt32)] = []
        for key in ["arp_ignore", "arp_filter"] {
            if let value = try route.ipv4DeviceConfiguration(named: base, key) { saved.append((key, value)) }
        }
        try route.setIPv4DeviceConfiguration(named: base, [("arp_ignore", 1), ("arp_filter", 1)])
        baseSettings[base] = (saved, 1)
    }

    /// Writes `value` to a /proc/sys file; false when it cannot.
    static func writeSysctl(_ path: String, _ value: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        return write(fd, bytes, bytes.count) == bytes.count
    }

    private var pacer = AnnouncementPacer<MonotonicInstant>()
    /// Paced announcements not sent yet, by address: cancelled when the address is removed, so a frame never
    /// claims an address this node gave up.
    private var pendingAnnouncements: [VRRPHeldAddress: [Scheduled<Void>]] = [:]

    func setAnnouncementPacing(_ pacing: AnnouncementPacing) {
        pacer.pacing = pacing
    }

    /// Sends what may go now at once, the rest from timers at the instants the pacer gives.
    func announce(_ addresses: [VRRPHeldAddress], count: Int) {
        let now = MonotonicInstant.now
        for (held, slot) in pacer.schedule(addresses, count: count, at: now) {
            if slot <= now {
                sendAnnouncement(held)
            } else {
                let task = loop.scheduleTask(in: .nanoseconds(slot.nanoseconds - now.nanoseconds)) { [weak self] in
                    guard let self else { return }
                    if var pending = pendingAnnouncements[held], !pending.isEmpty {
                        pending.removeFirst()
                        pendingAnnouncements[held] = pending.isEmpty ? nil : pending
                    }
                    sendAnnouncement(held)
                }
                pendingAnnouncements[held, default: []].append(task)
            }
        }
    }

    private func sendAnnouncement(_ held: VRRPHeldAddress) {
        let address = held.address.prefix.address
        do {
            if address.family == .ipv4 {
                try announcer.sendGratuitousARP(for: address, on: held.interface)
            } else {
                try announcer.sendUnsolicitedNA(for: address, on: held.interface)
            }
        } catch {
            logger.warning("\(error)")
        }
    }

    func schedule(_ timer: VRRPTimer, instance: String, at deadline: MonotonicInstant) {
        loop.preconditionInEventLoop()
        let key = "\(instance)/\(timer.rawValue)"
        timers[key]?.cancel()
        // Relative to our CLOCK_MONOTONIC reading, so NIO's own clock source does not matter.
        let delay = max(deadline.nanoseconds - MonotonicInstant.now.nanoseconds, 0)
        timers[key] = loop.scheduleTask(in: .nanoseconds(delay)) { [weak self] in
            self?.timers[key] = nil
            self?.onTimer(timer, instance)
        }
    }

    func cancel(_ timer: VRRPTimer, instance: String) {
        loop.preconditionInEventLoop()
        timers.removeValue(forKey: "\(instance)/\(timer.rawValue)")?.cancel()
    }
}

/// The thread that waits on every VRRP socket and the link monitor and hands what arrives to the engine's
/// loop: the engine runs on a NIO loop, which cannot watch these descriptors (see `VRRPSocket`).
///
/// `@unchecked Sendable` because of two fields the compiler cannot see are safe: `onPackets`/`onLinks` are set
/// once, before `start()` (the thread's creation orders those writes before its reads), and `monitor` (not
/// thread-safe) is used by the poll thread alone. The socket table and the stop flag are behind `state`'s lock, a
/// pthread mutex (NIOLockedValueBox) and not a Synchronization.Mutex: ThreadSanitizer sees the one and not the
/// other's futex, and `VRRPReceiverTests` (root) runs the thread against sockets opened from other threads under it.
/// The sockets themselves are `Sendable`.
final class VRRPReceiver: @unchecked Sendable {
    private struct State {
        var sockets: [String: VRRPSocket] = [:]
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())
    /// Interrupts the poll when a socket is added or on stop.
    private let wake = WakePipe()
    private let monitor: LinkMonitor?
    /// Called on the poll thread with the packets of one wake-up, per interface.
    var onPackets: @Sendable ([(String, VRRPSocket.Received)]) -> Void = { _ in }
    /// Called on the poll thread with link changes.
    var onLinks: @Sendable ([LinkEvent]) -> Void = { _ in }
    /// Called on the poll thread with addresses that came or went, with their interface's name.
    var onAddresses: @Sendable ([(interface: String, event: AddressEvent)]) -> Void = { _ in }
    /// Called on the poll thread with deleted routes (with their interface's name) and rules of protocol keepalived,
    /// once `watchRoutesAndRules(true)` was called.
    var onRouteDeletions: @Sendable ([(interface: String?, deletion: RouteDeletion)]) -> Void = { _ in }
    var onRuleDeletions: @Sendable ([RuleDeletion]) -> Void = { _ in }
    /// Whether the monitor is in the route and rule groups.
    private let watchingRoutes = NIOLockedValueBox(false)
    private let logger: Logger

    init(logger: Logger) {
        var monitor: LinkMonitor?
        do {
            monitor = try LinkMonitor()
        } catch {
            logger.error("cannot monitor links: \(error)")
        }
        self.monitor = monitor
        self.logger = logger
    }

    /// Hears route and rule deletions (or stops): only while some instance tracks a route or rule.
    func watchRoutesAndRules(_ watch: Bool) {
        guard let monitor, watchingRoutes.withLockedValue({ $0 }) != watch else { return }
        do {
            try monitor.watchRoutesAndRules(watch)
            watchingRoutes.withLockedValue { $0 = watch }
        } catch {
            logger.error("cannot \(watch ? "watch" : "stop watching") route and rule deletions: \(error)")
        }
    }

    /// The socket for (`family`, `interface`), opened on first use and shared by the instances there.
    func socket(family: IPAddress.Family, interface: String, ipProtocol: UInt8 = vrrpIPProtocol)
        throws(VRRPSocketError) -> VRRPSocket
    {
        let key = "\(family)/\(interface)/\(ipProtocol)"
        let (found, opened) = state.withLockedValue { state -> (Result<VRRPSocket, VRRPSocketError>, Bool) in
            if let socket = state.sockets[key] { return (.success(socket), false) }
            do throws(VRRPSocketError) {
                let socket = try VRRPSocket(family: family, interface: interface, ipProtocol: ipProtocol)
                state.sockets[key] = socket
                return (.success(socket), true)
            } catch {
                return (.failure(error), false)
            }
        }
        if opened { wake.wake() }
        return try found.get()
    }

    func start() {
        WorkerThread.run { self.run() }
    }

    func stop() {
        state.withLockedValue { $0.stopped = true }
        wake.wake()
    }

    /// The name of interface `index`; nil when there is none (any more).
    /// The corresponding C call is `if_indextoname`.
    private static func interfaceName(_ index: Int32) -> String? {
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(UInt32(bitPattern: index), &name) != nil else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func run() {
        while true {
            let (current, done) = state.withLockedValue { (Array($0.sockets.values), $0.stopped) }
            if done { return }
            var descriptors = [pollfd(fd: wake.reader, events: Int16(POLLIN), revents: 0)]
            descriptors += current.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
            if let monitor { descriptors.append(pollfd(fd: monitor.fileDescriptor, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            guard ready > 0 else { continue }
            if descriptors[0].revents != 0 { wake.drain() }
            var packets: [(String, VRRPSocket.Received)] = []
            for (index, socket) in current.enumerated() where descriptors[index + 1].revents != 0 {
                while let received = socket.receive() { packets.append((socket.interface, received)) }
            }
            if !packets.isEmpty { onPackets(packets) }
            if let monitor, descriptors[descriptors.count - 1].revents != 0 {
                let events = monitor.drainAll()
                if !events.links.isEmpty { onLinks(events.links) }
                let named = events.addresses.compactMap { event -> (interface: String, event: AddressEvent)? in
                    Self.interfaceName(event.index).map { ($0, event) }
                }
                if !named.isEmpty { onAddresses(named) }
                if !events.routeDeletions.isEmpty {
                    onRouteDeletions(events.routeDeletions.map { ($0.interfaceIndex.flatMap(Self.interfaceName), $0) })
                }
                if !events.ruleDeletions.isEmpty { onRuleDeletions(events.ruleDeletions) }
            }
        }
    }
}
