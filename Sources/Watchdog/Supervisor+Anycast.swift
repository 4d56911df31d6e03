import Config
import Netlink
import WorkerIPC

/// BGP anycast's routes, which the watchdog owns: it hears every checker report and sees the checker worker die, so
/// it alone can hold announcements while a checker worker is replaced (`AnycastGate`) and withdraw them at stop.
struct AnycastRoutes {
    var gate: AnycastGate
    let table: UInt32
    let protocolNumber: UInt8
    let socket: RouteNetlinkSocket

    /// The host route that announces `address`: a blackhole in the table of its own, which no lookup uses, so it
    /// changes no forwarding; FRR (`ip import-table`) and BIRD (a `kernel` protocol with `learn`) read it.
    func route(_ address: IPAddress) -> RouteSpec {
        RouteSpec(
            destination: address, prefixLength: UInt8(address.maxPrefixLength), table: table, blackhole: true,
            protocolNumber: protocolNumber)
    }
}

extension Supervisor {
    /// At start and when `announce_table` or `announce_protocol` change: Vigil's routes already in the table are
    /// adopted when the configuration still announces their address (a restarted vigild does not withdraw what the
    /// checker worker will confirm) and removed otherwise.
    func startAnycast() {
        let globals = loaded.config.globalDefs
        guard let table = globals.announceTable else { return }
        let plan = AnycastPlan(loaded.config)
        let wanted = Set(plan.addresses)
        var adopted: Set<IPAddress> = []
        let socket: RouteNetlinkSocket
        do {
            socket = try RouteNetlinkSocket()
            for route in try socket.routes(table: table, protocolNumber: globals.announceProtocol) {
                if wanted.contains(route.destination), Int(route.prefixLength) == route.destination.maxPrefixLength {
                    adopted.insert(route.destination)
                    logger.info("anycast: route of \(route.destination) in table \(table) adopted")
                } else {
                    try socket.deleteRoute(route)
                    logger.info("anycast: stale route \(route) removed")
                }
            }
        } catch {
            logger.error("anycast: \(error); nothing is announced")
            recordEvent("anycast", "\(error); nothing is announced")
            return
        }
        anycast = AnycastRoutes(
            gate: AnycastGate(
                plan: plan, gracePeriod: globals.announceGracePeriod, adopted: adopted, now: monotonicNanoseconds()),
            table: table, protocolNumber: globals.announceProtocol, socket: socket)
        let count = "\(wanted.count) address\(wanted.count == 1 ? "" : "es")"
        logger.info("anycast: \(count) gated in table \(table), protocol \(globals.announceProtocol)")
    }

    /// A checker worker's report: the watermarks decide.
    func anycastReported(_ state: WorkerState) {
        guard var routes = anycast else { return }
        let changes = routes.gate.checkerReported(state.virtualServers, now: monotonicNanoseconds())
        anycast = routes
        apply(changes)
    }

    /// The checker worker died or was killed: announcements are held for `announce_grace_period`.
    func anycastCheckerLost() {
        anycast?.gate.checkerLost(now: monotonicNanoseconds())
    }

    /// The end of the grace period, when the loop should wake for it.
    var anycastWakeAt: Int64? { anycast?.gate.deadline }

    func anycastTick(now: Int64) {
        guard var routes = anycast, let deadline = routes.gate.deadline, now >= deadline else { return }
        let changes = routes.gate.tick(now: now)
        anycast = routes
        apply(changes)
    }

    /// After a reload: a new table or protocol moves every route; otherwise addresses no longer announced go.
    func anycastReloaded() {
        let globals = loaded.config.globalDefs
        if let routes = anycast, routes.table == globals.announceTable,
            routes.protocolNumber == globals.announceProtocol
        {
            var routes = routes
            let changes = routes.gate.reconfigure(
                plan: AnycastPlan(loaded.config), gracePeriod: globals.announceGracePeriod)
            anycast = routes
            apply(changes)
        } else {
            stopAnycast()
            anycast = nil
            startAnycast()
        }
        // Addresses new to the plan are decided now, not at the next change of health.
        if let state = slots[.checker]?.state, slots[.checker]?.pid != nil { anycastReported(state) }
    }

    /// vigild stops: every route goes first, so routers move traffic away while IPVS still serves what it has.
    func stopAnycast() {
        guard var routes = anycast else { return }
        let changes = routes.gate.stop()
        anycast = routes
        apply(changes)
    }

    var anycastStatus: AnycastStatus? {
        anycast.map {
            AnycastStatus(table: $0.table, protocolNumber: $0.protocolNumber, addresses: $0.gate.statuses)
        }
    }

    /// Adds and removes the routes; a failure is logged (and the next change tries again).
    func apply(_ changes: [AnycastGate.Change]) {
        guard let routes = anycast else { return }
        let reasons = Dictionary(routes.gate.statuses.map { ($0.address, $0.reason) }) { first, _ in first }
        for change in changes {
            let route = routes.route(change.address)
            let reason = reasons["\(change.address)"] ?? ""
            do {
                switch change {
                case .announce(let address):
                    try routes.socket.addRoute(route)
                    logger.notice("anycast: \(address) announced (\(reason))")
                    recordEvent("anycast", "\(address) announced (\(reason))")
                case .withdraw(let address):
                    try routes.socket.deleteRoute(route)
                    logger.notice("anycast: \(address) withdrawn (\(reason))")
                    recordEvent("anycast", "\(address) withdrawn (\(reason))")
                }
            } catch {
                logger.error("anycast: \(error)")
                recordEvent("anycast", "\(error)")
            }
        }
    }
}
