import Config
import WorkerIPC

@testable import VRRPWorker

/// A `VRRPSystem` in virtual time: records what the engine asks of the kernel, holds addresses in a set, and
/// runs the armed timers in deadline order when the test advances the clock.
final class FakeVRRPSystem: VRRPSystem {
    typealias Instant = VirtualInstant

    struct Sent: Equatable {
        var time: VirtualInstant
        var advertisement: VRRPAdvertisement
        var destination: IPAddress
        /// The interface the advert left from.
        var interface: String = "eth0"
    }

    var now = VirtualInstant.start
    var links: [String: Bool] = ["eth0": true, "eth1": true]
    var primary: [String: IPAddress] = ["eth0": ip("192.0.2.1"), "eth1": ip("198.51.100.1")]
    /// Addresses on interfaces, as `192.0.2.100/24 dev eth0`.
    var addresses: Set<String> = []
    var sent: [Sent] = []
    /// (time, address, count) of every announcement.
    var announcements: [(VirtualInstant, String, Int)] = []
    var addCalls: [String] = []
    var removeCalls: [String] = []
    var timers: [String: VirtualInstant] = [:]
    var openedSockets: [String] = []
    weak var core: VRRPEngineCore<FakeVRRPSystem>?

    func monotonicNanoseconds(_ instant: VirtualInstant) -> Int64 {
        let (seconds, attoseconds) = instant.sinceStart.components
        return 1_000_000_000_000 + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    func instant(monotonicNanoseconds nanoseconds: Int64) -> VirtualInstant {
        VirtualInstant(sinceStart: .nanoseconds(nanoseconds - 1_000_000_000_000))
    }

    /// Every socket request, in order.
    var socketRequests: [VRRPSocketRequest] = []
    /// The options of every advert sent, in order.
    var sendOptions: [VRRPSendOptions] = []

    /// Interfaces on which `openSocket` fails (a VRF device that does not exist).
    var failingSocketInterfaces: Set<String> = []

    func openSocket(_ request: VRRPSocketRequest) -> Bool {
        socketRequests.append(request)
        openedSockets.append(
            "\(request.family) \(request.interface) \(request.group.map(\.description) ?? "unicast")")
        return !failingSocketInterfaces.contains(request.interface)
    }

    func send(
        _ message: [UInt8], from source: IPAddress, to destination: IPAddress, interface: String,
        options: VRRPSendOptions
    ) -> Bool {
        sendOptions.append(options)
        let info = VRRPPacketInfo(source: source, destination: destination, hopLimit: 255)
        if let advertisement = try? VRRPAdvertisement(decoding: message, packet: info) {
            sent.append(Sent(time: now, advertisement: advertisement, destination: destination, interface: interface))
        }
        return true
    }

    func primaryAddress(interface: String, family: IPAddress.Family) -> IPAddress? { primary[interface] }

    func isLinkUp(interface: String) -> Bool { links[interface] ?? false }

    /// Addresses on interfaces besides the primary ones (`track_src_ip`).
    var interfaceAddresses: Set<String> = []

    func hasAddress(_ address: IPAddress, interface: String) -> Bool {
        primary[interface] == address || interfaceAddresses.contains("\(address) \(interface)")
    }

    func initialAuthenticationSequence() -> UInt32 { 1_000 }

    /// Interfaces given promote_secondaries.
    var promoted: Set<String> = []

    func setPromoteSecondaries(interface: String) { promoted.insert(interface) }

    func addAddress(_ address: VRRPHeldAddress) -> Bool {
        addCalls.append(address.description)
        addresses.insert(address.description)
        return true
    }

    func removeAddress(_ address: VRRPHeldAddress) -> Bool {
        removeCalls.append(address.description)
        addresses.remove(address.description)
        return true
    }

    /// Routes present, as their `virtual_routes` words, in the order added.
    var routes: [String] = []

    func addRoute(_ route: VirtualRoute) -> Bool { track(route.words, in: &routes, kind: "route", add: true) }

    func removeRoute(_ route: VirtualRoute) -> Bool { track(route.words, in: &routes, kind: "route", add: false) }

    /// Records a route or rule added or removed, as its words.
    private func track(_ words: [String], in list: inout [String], kind: String, add: Bool) -> Bool {
        let text = words.joined(separator: " ")
        if add {
            if !list.contains(text) { list.append(text) }
            addCalls.append("\(kind) \(text)")
        } else {
            list.removeAll { $0 == text }
            removeCalls.append("\(kind) \(text)")
        }
        return true
    }

    /// Links the kernel has besides the VMACs the engine made (for naming).
    var existingLinks: [String: VRRPLinkFacts] = [:]
    /// VMACs present, by name.
    var virtualMACs: [String: VRRPVirtualMAC] = [:]
    /// Names for which `addVirtualMAC` fails.
    var failingVirtualMACs: Set<String> = []

    func linkFacts(named name: String) -> VRRPLinkFacts? {
        if let link = virtualMACs[name] {
            return VRRPLinkFacts(
                isMacvlan: link.kind == .macvlan, isIPVLAN: link.kind != .macvlan, lower: link.base,
                hardwareAddress: link.hardwareAddress)
        }
        return existingLinks[name]
    }

    func addVirtualMAC(_ link: VRRPVirtualMAC) -> Bool {
        addCalls.append("vmac \(link)")
        guard !failingVirtualMACs.contains(link.name) else { return false }
        virtualMACs[link.name] = link
        return true
    }

    func removeVirtualMAC(_ link: VRRPVirtualMAC) {
        removeCalls.append("vmac \(link)")
        virtualMACs[link.name] = nil
    }

    /// Addresses the no-accept filter drops traffic to, and the filter's settings.
    var blocked: Set<IPAddress> = []
    var filterSettings: (table: String, priority: Int32, counters: Bool)?
    var filterRemoved = false

    func configureTrafficFilter(table: String, priority: Int32, counters: Bool) {
        filterSettings = (table, priority, counters)
    }

    func blockTraffic(to addresses: [IPAddress]) -> Bool {
        addCalls.append("block " + addresses.map(\.description).joined(separator: " "))
        blocked.formUnion(addresses)
        return true
    }

    func unblockTraffic(to addresses: [IPAddress]) {
        removeCalls.append("unblock " + addresses.map(\.description).joined(separator: " "))
        blocked.subtract(addresses)
    }

    func removeTrafficFilter() { filterRemoved = true }

    /// `vrrp_garp_interval`, `vrrp_gna_interval`, the `garp_group`s as the engine set them.
    var announcementPacing = AnnouncementPacing()
    var announcementIntervals: (arp: Duration, neighbor: Duration) {
        (announcementPacing.arpInterval, announcementPacing.neighborInterval)
    }

    func setAnnouncementPacing(_ pacing: AnnouncementPacing) { announcementPacing = pacing }

    /// Rules present, as their words, in the order added.
    var rules: [String] = []

    func addRule(_ rule: VirtualRule) -> Bool { track(rule.words, in: &rules, kind: "rule", add: true) }

    func removeRule(_ rule: VirtualRule) -> Bool { track(rule.words, in: &rules, kind: "rule", add: false) }

    func announce(_ addresses: [VRRPHeldAddress], count: Int) {
        for address in addresses { announcements.append((now, address.description, count)) }
    }

    func schedule(_ timer: VRRPTimer, instance: String, at deadline: VirtualInstant) {
        timers["\(instance)/\(timer.rawValue)"] = deadline
    }

    func cancel(_ timer: VRRPTimer, instance: String) { timers["\(instance)/\(timer.rawValue)"] = nil }

    /// Runs every timer due up to `target` in deadline order, then sets the clock to `target`.
    func advance(to target: VirtualInstant) {
        while let (key, deadline) = timers.min(by: { $0.value < $1.value }), deadline <= target {
            timers[key] = nil
            now = deadline
            let parts = key.split(separator: "/")
            core?.timerFired(VRRPTimer(rawValue: String(parts[1]))!, instance: String(parts[0]))
        }
        now = target
    }

    /// Advances by `seconds` of virtual time.
    func advance(seconds: Double) { advance(to: now.advanced(by: .milliseconds(Int64(seconds * 1000)))) }

    /// Adverts sent so far with `priority`.
    func adverts(priority: UInt8) -> [Sent] { sent.filter { $0.advertisement.priority == priority } }
}

/// An engine core on a fake system, with what it reported.
final class EngineHarness {
    let system = FakeVRRPSystem()
    let core: VRRPEngineCore<FakeVRRPSystem>
    var reports: [WorkerState] = []
    var events: [String] = []
    var notices: [VRRPNotice] = []
    var logs: [String] = []

    init() {
        core = VRRPEngineCore(system: system)
        system.core = core
        core.onReport = { [unowned self] in reports.append($0) }
        core.onEvent = { [unowned self] in events.append($0) }
        core.onNotify = { [unowned self] in notices.append($0) }
        core.onLog = { [unowned self] in logs.append($0) }
    }

    var last: VRRPInstanceReport? { reports.last?.vrrpInstances.first }

    func report(_ name: String) -> VRRPInstanceReport? {
        reports.last?.vrrpInstances.first { $0.name == name }
    }

    /// Delivers an advert from a peer on eth0.
    func receive(
        priority: UInt8, from source: String = "192.0.2.2", vrid: UInt8 = 51, version: VRRPVersion = .v2,
        interval: Duration = .seconds(1), addresses: [String] = ["192.0.2.100"], hopLimit: UInt8 = 255,
        password: String? = "secret"
    ) {
        let advertisement = VRRPAdvertisement(
            version: version, virtualRouterID: vrid, priority: priority, advertisementInterval: interval,
            authentication: version == .v2 ? password.map { .password($0) } ?? .none : .none,
            addresses: addresses.map(ip))
        let message = try! advertisement.encoded(source: ip(source), destination: vrrpIPv4MulticastGroup)
        core.receive(
            message[...],
            packet: VRRPPacketInfo(source: ip(source), destination: vrrpIPv4MulticastGroup, hopLimit: hopLimit),
            interface: "eth0")
    }
}

/// A configuration of one or more instances, keepalived's defaults otherwise.
func engineConfiguration(
    _ instances: [VRRPInstance], syncGroups: [SyncGroup] = [], savedState: WorkerState? = nil
) -> WorkerConfiguration {
    var vrrp = VRRPConfig()
    vrrp.instances = instances
    vrrp.syncGroups = syncGroups
    return WorkerConfiguration(globalDefs: GlobalDefs(), vrrp: vrrp, savedState: savedState)
}

/// `vrrp_instance NAME` on `interface` with VRID 51, PASS `secret`, and these VIPs.
func engineInstance(
    _ name: String = "VI_1", interface: String = "eth0", vrid: Int = 51, priority: Int = 100,
    addresses: [String] = ["192.0.2.100/24"], excluded: [String] = [], version: Int = 2,
    advert: Duration = .seconds(1)
) -> VRRPInstance {
    let location = SourceLocation(file: "test.conf", line: 1)
    var instance = VRRPInstance(name: name, location: location)
    instance.interface = interface
    instance.virtualRouterID = vrid
    instance.priority = priority
    instance.version = version
    instance.advertInterval = advert
    if version == 2 { instance.authentication = Authentication(type: .pass, password: "secret") }
    instance.virtualAddresses = addresses.map { VirtualAddress(prefix: IPPrefix($0)!, location: location) }
    instance.excludedVirtualAddresses = excluded.map { VirtualAddress(prefix: IPPrefix($0)!, location: location) }
    return instance
}
