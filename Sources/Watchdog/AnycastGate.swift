import Config
import WorkerIPC

/// A virtual server whose address is announced by BGP (`announce_up` / `announce_down`), with its watermarks
/// resolved to counts of its real servers.
public struct AnnouncedService: Sendable, Hashable {
    /// As the checker worker's reports name it (`192.0.2.10 80`, `group web`).
    public var name: String
    public var addresses: [IPAddress]
    /// Announce at `up` real servers up or more; withdraw below `down`.
    public var up: Int
    public var down: Int
    public var total: Int

    public init(name: String, addresses: [IPAddress], up: Int, down: Int, total: Int) {
        self.name = name
        self.addresses = addresses
        self.up = up
        self.down = down
        self.total = total
    }
}

/// What the configuration announces: every virtual server with watermarks and the addresses they share.
public struct AnycastPlan: Sendable, Hashable {
    /// The most addresses one `virtual_server_group` range announces (a /24).
    public static let largestRange = 256

    public var services: [AnnouncedService] = []

    public init(services: [AnnouncedService] = []) { self.services = services }

    /// The announced virtual servers of `config`.
    public init(_ config: KeepalivedConfig) {
        for server in config.lvs.virtualServers {
            guard let up = server.announceUp, let down = server.announceDown else { continue }
            let total = server.realServers.count
            var addresses: [IPAddress] = []
            switch server.address {
            case .endpoint(let ip, _): addresses = [ip]
            case .fwmark: continue
            case .group(let name):
                for entry in config.lvs.group(named: name)?.entries ?? [] {
                    guard case .addresses(let first, let last, _) = entry.target else { continue }
                    addresses += Self.range(first, last)
                }
            }
            services.append(
                AnnouncedService(
                    name: VirtualServerNames.name(server.address), addresses: addresses, up: up.count(of: total),
                    down: down.count(of: total), total: total))
        }
    }

    /// Every announced address, once, in order.
    public var addresses: [IPAddress] {
        var seen: Set<IPAddress> = []
        return services.flatMap(\.addresses).filter { seen.insert($0).inserted }
    }

    /// The addresses from `first` to `last`, at most `largestRange` of them.
    static func range(_ first: IPAddress, _ last: IPAddress) -> [IPAddress] {
        var addresses = [first]
        var bytes = first.bytes
        while addresses.count < largestRange, bytes.lexicographicallyPrecedes(last.bytes) {
            // Add one, carrying from the last byte.
            var index = bytes.count - 1
            while index >= 0 {
                bytes[index] &+= 1
                if bytes[index] != 0 { break }
                index -= 1
            }
            guard let next = IPAddress(bytes: bytes) else { break }
            addresses.append(next)
        }
        return addresses
    }
}

/// Decides, for each announced address, whether it is announced, from the checker worker's reports: Seesaw's
/// watermarks per virtual server (announce at `up` or more real servers up, withdraw below `down`, nothing in
/// between), every virtual server sharing an address healthy for it to be announced, and announcements held while
/// the checker worker is gone for up to the grace period. Pure: the caller passes the time (CLOCK_MONOTONIC, ns) and
/// carries out the changes.
public struct AnycastGate: Sendable {
    /// A route to add or remove.
    public enum Change: Sendable, Hashable {
        case announce(IPAddress)
        case withdraw(IPAddress)
    }

    struct ServiceState: Sendable, Hashable {
        var healthy = false
        var reason = "no report from the checker worker yet"
    }

    struct AddressState: Sendable, Hashable {
        var announced = false
        var reason = "no report from the checker worker yet"
        var changes = 0
    }

    public private(set) var plan: AnycastPlan
    public private(set) var gracePeriod: Duration
    var services: [String: ServiceState] = [:]
    var addresses: [IPAddress: AddressState] = [:]
    /// Since when announcements are held, and why: the checker worker is gone, or vigild has just started and the
    /// first checks have not all run (a new checker worker's first reports are its starting assumption, `alpha` or
    /// not, not what it saw).
    var held: (since: Int64, why: String, atStart: Bool)?
    /// Reports came while held at start: the grace period's end decides from the last one.
    var reportedAtStart = false
    var stopped = false

    /// - Parameters:
    ///   - adopted: the addresses whose routes are in the table at start (a previous vigild announced them): they
    ///     stay announced while the first checks run, up to the grace period; its end decides from the last report,
    ///     or withdraws them when none came.
    ///   - now: CLOCK_MONOTONIC, ns.
    public init(plan: AnycastPlan, gracePeriod: Duration, adopted: Set<IPAddress> = [], now: Int64) {
        self.plan = plan
        self.gracePeriod = gracePeriod
        for address in plan.addresses {
            var state = AddressState()
            if adopted.contains(address) {
                state.announced = true
                state.reason = "route found at start; kept until the checker worker reports"
            }
            addresses[address] = state
        }
        for service in plan.services {
            // An adopted address was healthy enough to announce: between the watermarks it stays.
            services[service.name] = ServiceState(
                healthy: service.addresses.allSatisfy { adopted.contains($0) } && !service.addresses.isEmpty)
        }
        if addresses.values.contains(where: \.announced) { held = (now, "no report from the checker worker", true) }
    }

    /// A new configuration: virtual servers kept by name keep their state; addresses no longer announced are
    /// withdrawn; the next report decides the rest.
    public mutating func reconfigure(plan: AnycastPlan, gracePeriod: Duration) -> [Change] {
        self.plan = plan
        self.gracePeriod = gracePeriod
        services = Dictionary(
            uniqueKeysWithValues: plan.services.map { ($0.name, services[$0.name] ?? ServiceState()) })
        let wanted = Set(plan.addresses)
        var changes: [Change] = []
        for (address, state) in addresses where !wanted.contains(address) {
            if state.announced { changes.append(.withdraw(address)) }
            addresses[address] = nil
        }
        for address in plan.addresses where addresses[address] == nil { addresses[address] = AddressState() }
        return changes.sorted { $0.address.bytes.lexicographicallyPrecedes($1.address.bytes) }
    }

    /// The checker worker's report: each virtual server's watermarks are applied, then each address.
    /// Within the grace period after start, a route found at start is not withdrawn (the checks' first round decides,
    /// at the grace period's end at the latest).
    public mutating func checkerReported(_ reports: [VirtualServerReport], now: Int64) -> [Change] {
        guard !stopped else { return [] }
        let starting = held.map { $0.atStart && now < $0.since + gracePeriod.nanoseconds } ?? false
        if starting { reportedAtStart = true } else { held = nil }
        let byName = Dictionary(reports.map { ($0.name, $0) }) { first, _ in first }
        for service in plan.services {
            var state = services[service.name] ?? ServiceState()
            let up = byName[service.name]?.realServers.filter { $0.health == .up }.count ?? 0
            let count = "\(up)/\(service.total) up"
            if up >= service.up {
                state.healthy = true
                state.reason = "\(count) >= announce_up \(service.up)"
            } else if up < service.down {
                state.healthy = false
                state.reason = "\(count) < announce_down \(service.down)"
            } else {
                state.reason =
                    "\(count), between announce_down \(service.down) and announce_up \(service.up): "
                    + (state.healthy ? "stays announced" : "stays withdrawn")
            }
            services[service.name] = state
        }
        return decide(withdrawing: !starting)
    }

    /// The checker worker died or was killed: announcements are held for the grace period.
    public mutating func checkerLost(now: Int64) {
        guard !stopped, held == nil || held?.atStart == true else { return }
        held = (now, "the checker worker is gone", false)
    }

    /// When `tick` has something to do (the grace period's end), if anything.
    public var deadline: Int64? {
        guard let held, !stopped, addresses.values.contains(where: \.announced) else { return nil }
        return held.since + gracePeriod.nanoseconds
    }

    /// Withdraws everything once the checker worker has been gone (or silent since start) for longer than the
    /// grace period.
    public mutating func tick(now: Int64) -> [Change] {
        guard let held, let deadline, now >= deadline else { return [] }
        self.held = nil
        if held.atStart && reportedAtStart { return decide(withdrawing: true) }
        let reason =
            "\(held.why) for \(Self.seconds(now - held.since)) > announce_grace_period \(Self.seconds(gracePeriod.nanoseconds))"
        for name in services.keys { services[name] = ServiceState(healthy: false, reason: reason) }
        return withdrawAll(reason)
    }

    /// vigild stops: every announcement is withdrawn, and none is made again.
    public mutating func stop() -> [Change] {
        stopped = true
        return withdrawAll("vigild is stopping")
    }

    /// Each address's announcement and why, in address order.
    public var statuses: [AnycastAddressStatus] {
        let heldNote =
            held.map {
                $0.atStart
                    ? " (found at start: kept for announce_grace_period while the first checks run)"
                    : " (held: \($0.why))"
            } ?? ""
        return addresses.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }.map { address in
            let state = addresses[address]!
            return AnycastAddressStatus(
                address: "\(address)", announced: state.announced,
                reason: state.reason + (state.announced ? heldNote : ""), changes: state.changes)
        }
    }

    // MARK: Decisions

    /// Announces each address all of whose virtual servers are healthy, withdraws the others (unless not
    /// `withdrawing`: then their routes stay, with the reason the report gives).
    mutating func decide(withdrawing: Bool) -> [Change] {
        var changes: [Change] = []
        for address in addresses.keys.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
            let sharing = plan.services.filter { $0.addresses.contains(address) }
            let states = sharing.map { (name: $0.name, state: services[$0.name] ?? ServiceState()) }
            let announce = !states.isEmpty && states.allSatisfy(\.state.healthy)
            let named = states.count > 1
            let shown = announce ? states : Array(states.filter { !$0.state.healthy }.prefix(1))
            let reason = shown.map { named ? "\($0.name): \($0.state.reason)" : $0.state.reason }
                .joined(separator: "; ")
            changes += set(
                address, announced: announce || (!withdrawing && addresses[address]?.announced == true), reason: reason)
        }
        return changes
    }

    mutating func withdrawAll(_ reason: String) -> [Change] {
        addresses.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }.flatMap {
            set($0, announced: false, reason: reason)
        }
    }

    mutating func set(_ address: IPAddress, announced: Bool, reason: String) -> [Change] {
        var state = addresses[address] ?? AddressState()
        state.reason = reason
        defer { addresses[address] = state }
        guard state.announced != announced else { return [] }
        state.announced = announced
        state.changes += 1
        return [announced ? .announce(address) : .withdraw(address)]
    }

    static func seconds(_ nanoseconds: Int64) -> String {
        let tenths = (nanoseconds + 50_000_000) / 100_000_000
        return tenths % 10 == 0 ? "\(tenths / 10) s" : "\(tenths / 10).\(tenths % 10) s"
    }
}

extension AnycastGate.Change {
    public var address: IPAddress {
        switch self {
        case .announce(let address), .withdraw(let address): address
        }
    }
}
