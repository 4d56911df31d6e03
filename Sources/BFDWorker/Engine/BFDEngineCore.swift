import Config
import WorkerIPC

/// One running session: its configuration, state machine, and what the engine keeps beside it.
struct BFDRunningSession<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    var configuration: BFDInstance
    var endpoint: BFDSessionEndpoint
    var machine: BFDSession<Instant>
    /// The neighbour's UDP port: the session's own (3784, or 4784 when multihop) until the neighbour's packets
    /// arrive on the other, which is then used (keepalived runs multihop sessions on 3784).
    var port: UInt16
    /// What trackers follow (`BFDSessionReport.up`).
    var up = false
    /// When the machine entered its state.
    var since: Instant
    /// The session's source port (RFC 5881 §4: the same for all its packets, across worker restarts too).
    var sourcePort: UInt16?
    var socketOpen: Bool { sourcePort != nil }
    var nextOpenAttempt: Instant?
    var packetsSent: UInt64 = 0
    var packetsReceived: UInt64 = 0
    var sendErrors: UInt64 = 0
    var wentUp: UInt64 = 0
    var wentDown: UInt64 = 0
    var dropped: [BFDReceiveCheck: UInt64] = [:]

    var neighbor: IPAddress { endpoint.neighbor }

    /// The counters of the reports and the `SIGUSR2` dump.
    var counters: [String: UInt64] {
        var counters = [
            "packets_sent": packetsSent, "packets_received": packetsReceived, "send_errors": sendErrors,
            "went_up": wentUp, "went_down": wentDown,
        ]
        for check in [BFDReceiveCheck.ttl, .adminDown] { counters["dropped_\(check.rawValue)"] = dropped[check] ?? 0 }
        return counters
    }
}

/// The BFD engine's logic over a `BFDSystem`: maps the `bfd_instance`s onto sessions, matches received packets
/// to them (RFC 5880 §6.8.6: by Your Discriminator, else by the addresses, RFC 5881 §3 / RFC 5883 §3), checks
/// their TTL, carries out the sessions' actions, and tells the watchdog (every state change) and the trackers
/// (every change of what they follow) about them.
///
/// Single-threaded: the daemon calls it on the engine's event loop only (hence `@unchecked Sendable`: closures
/// that carry it to the loop are the only way it crosses threads).
final class BFDEngineCore<System: BFDSystem>: @unchecked Sendable {
    typealias Instant = System.Instant

    let system: System
    /// Called with the new report after every state change, and with counters at most once a second.
    var onReport: (WorkerState) -> Void = { _ in }
    /// Called with `bfd1: Down -> Up` lines.
    var onEvent: (String) -> Void = { _ in }
    /// Log lines (dropped packets, sockets that cannot be opened).
    var onLog: (String) -> Void = { _ in }
    /// Called with what the VRRP and the checker worker must hear: the sessions whose `up` changed, or all of
    /// them after a (re)configuration.
    var onTrackers: (_ vrrp: [BFDSessionReport], _ checker: [BFDSessionReport]) -> Void = { _, _ in }

    private(set) var sessions: [String: BFDRunningSession<Instant>] = [:]
    /// Session names in configuration order.
    private(set) var order: [String] = []
    private var byDiscriminator: [UInt32: String] = [:]
    private var listening: Set<IPAddress.Family> = []
    private var nextListenAttempt: Instant?
    private var random: SystemRandom<System>
    /// Packets no session could take, by check.
    private(set) var dropped: [BFDReceiveCheck: UInt64] = [:]
    private var dropLog = LogRateLimiter<BFDReceiveCheck, Instant>()
    private var changed = false
    private var trackersDue: Set<String> = []
    private var lastReportAt: Instant?
    private var stopped = false

    init(system: System) {
        self.system = system
        random = SystemRandom(system: system)
    }

    // MARK: Configuration

    /// Starts the configured sessions (`isReload` false: resuming those the previous worker reported, Up ones
    /// staying Up), or applies a reload: a session whose neighbour and source are unchanged keeps running (new
    /// timers negotiated with a Poll Sequence), others start, removed ones go AdminDown.
    func apply(_ configuration: WorkerConfiguration, isReload: Bool) {
        let instances = configuration.bfd?.instances ?? []
        let now = system.now
        let saved = isReload ? [] : configuration.savedState?.bfdSessions ?? []
        var running = sessions
        sessions = [:]
        let previousOrder = order
        order = []
        for instance in instances {
            guard let neighbor = instance.neighborIP else { continue }
            let endpoint = BFDSessionEndpoint(neighbor: neighbor, source: instance.sourceIP, ttl: instance.sentTTL)
            let settings = Self.settings(instance)
            order.append(instance.name)
            if var old = running[instance.name], old.endpoint.neighbor == neighbor,
                old.endpoint.source == instance.sourceIP, old.configuration.isMultihop == instance.isMultihop
            {
                running[instance.name] = nil
                old.configuration = instance
                if old.endpoint.ttl != endpoint.ttl {
                    system.closeSession(instance.name)
                    old.endpoint = endpoint
                    old.sourcePort = system.openSession(
                        instance.name, endpoint: endpoint, preferredPort: old.sourcePort)
                }
                let actions = old.machine.reconfigure(settings, at: now, using: &random)
                sessions[instance.name] = old
                perform(actions, on: instance.name)
                continue
            }
            let report = saved.first {
                $0.name == instance.name && $0.neighbor == neighbor.description
                    && $0.source == instance.sourceIP?.description && $0.multihop == instance.isMultihop
            }
            let discriminator =
                report.flatMap { byDiscriminator[$0.localDiscriminator] == nil ? $0.localDiscriminator : nil }
                ?? freshDiscriminator()
            var session = BFDRunningSession(
                configuration: instance, endpoint: endpoint,
                machine: BFDSession(settings: settings, localDiscriminator: discriminator),
                port: instance.isMultihop ? BFDPort.multihop : BFDPort.singleHop, since: now)
            byDiscriminator[discriminator] = instance.name
            if !listening.contains(neighbor.family), system.listen(family: neighbor.family) {
                listening.insert(neighbor.family)
            }
            session.sourcePort = system.openSession(
                instance.name, endpoint: endpoint, preferredPort: report.flatMap { $0.sourcePort.map(UInt16.init) })
            if !session.socketOpen { onLog("bfd_instance \(instance.name): cannot open its socket; retrying") }
            let actions: [BFDSessionAction<Instant>]
            if let report, let resumed = Self.resumedState(report) {
                session.up = report.up
                session.since = system.instant(monotonicNanoseconds: report.since, now: now)
                actions = session.machine.resume(resumed, at: now, using: &random)
                onLog("bfd_instance \(instance.name): resumed \(resumed.state) after a worker restart")
            } else {
                actions = session.machine.start(at: now, using: &random)
            }
            sessions[instance.name] = session
            perform(actions, on: instance.name)
        }
        for name in previousOrder where running[name] != nil {
            guard var gone = running[name] else { continue }
            sessions[name] = gone
            perform(gone.machine.shutdown(at: now), on: name)
            gone = sessions[name] ?? gone
            sessions[name] = nil
            byDiscriminator[gone.machine.localDiscriminator] = nil
            for timer in BFDTimer.allCases { system.cancel(timer, session: name) }
            system.closeSession(name)
            onEvent("bfd_instance \(name): removed by reload")
        }
        // Every tracker hears of every session after a (re)configuration.
        trackersDue = Set(order)
        changed = true
        flush()
    }

    static func settings(_ instance: BFDInstance) -> BFDSessionSettings {
        func microseconds(_ duration: Duration) -> UInt32 { UInt32(clamping: duration.microsecondsValue) }
        return BFDSessionSettings(
            desiredMinTx: microseconds(instance.minTx), requiredMinRx: microseconds(instance.minRx),
            idleTx: microseconds(instance.idleTx), detectMultiplier: UInt8(clamping: instance.multiplier),
            passive: instance.passive)
    }

    static func resumedState(_ report: BFDSessionReport) -> BFDResumedState? {
        guard report.localDiscriminator != 0 else { return nil }
        return BFDResumedState(
            state: BFDState(report.state), remoteState: BFDState(report.remoteState),
            localDiscriminator: report.localDiscriminator, remoteDiscriminator: report.remoteDiscriminator,
            localDiagnostic: BFDDiagnostic(rawValue: UInt8(clamping: report.localDiagnostic)),
            remoteMinRx: report.remoteMinRxMicroseconds, remoteDesiredMinTx: report.remoteDesiredMinTxMicroseconds,
            remoteMultiplier: UInt8(clamping: report.remoteMultiplier))
    }

    /// A random discriminator, non-zero and not in use (§6.8.1).
    private func freshDiscriminator() -> UInt32 {
        while true {
            let candidate = UInt32(truncatingIfNeeded: random.next())
            if candidate != 0 && byDiscriminator[candidate] == nil { return candidate }
        }
    }

    // MARK: Events

    /// A datagram that arrived on a BFD port.
    func receive(_ datagram: BFDDatagram) {
        guard !stopped else { return }
        let now = system.now
        let packet: BFDControlPacket
        do {
            packet = try BFDControlPacket(decoding: datagram.payload)
        } catch {
            drop(error, from: datagram, session: nil)
            return
        }
        guard let name = session(for: packet, from: datagram) else {
            drop(
                BFDReceiveFailure(
                    .noSession,
                    packet.yourDiscriminator == 0
                        ? "no bfd_instance has neighbor_ip \(datagram.source)"
                            + (datagram.destination.map { " and a source_ip of \($0) (or none)" } ?? "")
                        : "no session has Your Discriminator \(packet.yourDiscriminator) from \(datagram.source)"),
                from: datagram, session: nil)
            return
        }
        guard var session = sessions[name] else { return }
        if let minimum = session.configuration.minimumReceivedTTL, let ttl = datagram.ttl, ttl < minimum {
            drop(
                BFDReceiveFailure(.ttl, "TTL \(ttl) below \(minimum) (RFC 5881 §5; max_hops)"), from: datagram,
                session: name)
            return
        }
        session.port = datagram.port
        guard let actions = session.machine.receive(packet, at: now, using: &random) else {
            sessions[name] = session
            drop(BFDReceiveFailure(.adminDown, "the session is AdminDown"), from: datagram, session: name)
            return
        }
        session.packetsReceived += 1
        sessions[name] = session
        perform(actions, on: name)
        flush()
    }

    /// RFC 5880 §6.8.6: by Your Discriminator when it is set (its source must be the session's neighbour), else by
    /// the source address and, for a session with a `source_ip`, the destination address.
    private func session(for packet: BFDControlPacket, from datagram: BFDDatagram) -> String? {
        if packet.yourDiscriminator != 0 {
            guard let name = byDiscriminator[packet.yourDiscriminator], sessions[name]?.neighbor == datagram.source
            else { return nil }
            return name
        }
        let candidates = order.filter { sessions[$0]?.neighbor == datagram.source }
        if let destination = datagram.destination,
            let exact = candidates.first(where: { sessions[$0]?.endpoint.source == destination })
        {
            return exact
        }
        return candidates.first { sessions[$0]?.endpoint.source == nil }
    }

    private func drop(_ failure: BFDReceiveFailure, from datagram: BFDDatagram, session name: String?) {
        if let name {
            sessions[name]?.dropped[failure.check, default: 0] += 1
        } else {
            dropped[failure.check, default: 0] += 1
        }
        let now = system.now
        if case .log(let suppressed) = dropLog.record(failure.check, at: now) {
            onLog(
                "dropped a BFD packet from \(datagram.source)\(name.map { " for \($0)" } ?? ""): \(failure)"
                    + dropLog.heldBackText(suppressed))
        }
        for summary in dropLog.summaries(at: now) {
            onLog("dropped \(summary.count) more BFD packets (\(summary.kind.rawValue)) since the last such line")
        }
    }

    /// An armed timer fired.
    func timerFired(_ timer: BFDTimer, session name: String) {
        guard !stopped, var session = sessions[name] else { return }
        let now = system.now
        if !session.socketOpen, session.nextOpenAttempt.map({ $0 <= now }) ?? true {
            session.sourcePort = system.openSession(name, endpoint: session.endpoint, preferredPort: nil)
            session.nextOpenAttempt = now.advanced(by: .seconds(1))
            if session.socketOpen { onLog("bfd_instance \(name): socket open") }
        }
        let family = session.neighbor.family
        if !listening.contains(family), nextListenAttempt.map({ $0 <= now }) ?? true {
            nextListenAttempt = now.advanced(by: .seconds(1))
            if system.listen(family: family) {
                listening.insert(family)
                onLog("listening for BFD over \(family == .ipv4 ? "IPv4" : "IPv6")")
            }
        }
        let actions = session.machine.timerFired(timer, at: now, using: &random)
        sessions[name] = session
        perform(actions, on: name)
        flush()
    }

    /// Stops: every session goes AdminDown with one last packet (RFC 5880 §6.8.16).
    func stop() {
        let now = system.now
        for name in order {
            guard var session = sessions[name] else { continue }
            let actions = session.machine.shutdown(at: now)
            sessions[name] = session
            // The trackers stop with the daemon: what they last heard stays.
            let up = session.up
            perform(actions, on: name)
            sessions[name]?.up = up
            for timer in BFDTimer.allCases { system.cancel(timer, session: name) }
        }
        stopped = true
        report()
    }

    // MARK: Actions

    private func perform(_ actions: [BFDSessionAction<Instant>], on name: String) {
        guard var session = sessions[name] else { return }
        for action in actions {
            switch action {
            case .send(let packet):
                guard session.socketOpen else {
                    session.sendErrors += 1
                    continue
                }
                if system.send(packet.encoded(), session: name, to: session.neighbor, port: session.port) {
                    session.packetsSent += 1
                } else {
                    session.sendErrors += 1
                }
            case .schedule(let timer, let deadline):
                system.schedule(timer, session: name, at: deadline)
            case .cancel(let timer):
                system.cancel(timer, session: name)
            case .stateChanged(let from, let to, let diagnostic):
                session.since = system.now
                let wasUp = session.up
                switch to {
                case .up: session.up = true
                // RFC 5880 §6.8.16: the neighbour's AdminDown is no path failure; trackers keep what they had.
                case .down where session.machine.remoteState != .adminDown: session.up = false
                default: break
                }
                if to == .up { session.wentUp += 1 }
                if from == .up { session.wentDown += 1 }
                if session.up != wasUp { trackersDue.insert(name) }
                var line = "bfd_instance \(name): \(from) -> \(to)"
                if to != .up && to != .initializing {
                    line +=
                        " (\(diagnostic); neighbor \(session.neighbor) says \(session.machine.remoteState), "
                        + "\(session.machine.remoteDiagnostic))"
                }
                onEvent(line)
                changed = true
            }
        }
        sessions[name] = session
    }

    /// Tells the trackers what changed for them, and the watchdog (now on a state change; counters at most once
    /// a second).
    private func flush() {
        if !trackersDue.isEmpty {
            let due = order.filter { trackersDue.contains($0) }
            trackersDue = []
            let reports = due.compactMap { name in sessions[name].map { (Self.report(name, $0, system), $0) } }
            onTrackers(
                reports.filter { $0.1.configuration.notifiesVRRP }.map(\.0),
                reports.filter { $0.1.configuration.notifiesChecker }.map(\.0))
        }
        let countersDue = lastReportAt.map { $0.duration(to: system.now) >= .seconds(1) } ?? true
        if changed || countersDue { report() }
    }

    private func report() {
        changed = false
        lastReportAt = system.now
        onReport(state)
    }

    // MARK: Reports

    static func report(_ name: String, _ session: BFDRunningSession<Instant>, _ system: System) -> BFDSessionReport {
        let machine = session.machine
        return BFDSessionReport(
            name: name, neighbor: session.neighbor.description, source: session.endpoint.source?.description,
            sourcePort: session.sourcePort.map(Int.init), multihop: session.configuration.isMultihop,
            state: .init(machine.state),
            remoteState: .init(machine.remoteState), up: session.up, since: system.monotonicNanoseconds(session.since),
            localDiagnostic: Int(machine.localDiagnostic.rawValue),
            remoteDiagnostic: Int(machine.remoteDiagnostic.rawValue),
            localDiscriminator: machine.localDiscriminator, remoteDiscriminator: machine.remoteDiscriminator,
            remoteMinRxMicroseconds: machine.remoteMinRx, remoteDesiredMinTxMicroseconds: machine.remoteDesiredMinTx,
            remoteMultiplier: Int(machine.remoteMultiplier),
            transmitIntervalMicroseconds: machine.transmits ? machine.transmitInterval.microsecondsValue : nil,
            detectionTimeMicroseconds: machine.detectionTime?.microsecondsValue, counters: session.counters)
    }

    /// Every session, as the watchdog keeps them.
    var reports: [BFDSessionReport] {
        order.compactMap { name in sessions[name].map { Self.report(name, $0, system) } }
    }

    var state: WorkerState { WorkerState(bfdSessions: reports) }

    /// The `SIGUSR1` text: one block per session, keepalived's parameters table.
    var dumpText: String {
        order.compactMap { name -> String? in
            guard let session = sessions[name] else { return nil }
            let machine = session.machine
            let settings = machine.settings
            func ms(_ microseconds: some BinaryInteger) -> String { fixedPoint(Double(microseconds) / 1000, digits: 3) }
            return [
                "BFD Instance = \(name)",
                "  Neighbor = \(session.neighbor) port \(session.port)"
                    + (session.endpoint.source.map { ", source = \($0)" } ?? "")
                    + ", \(session.configuration.isMultihop ? "multihop" : "single hop"), TTL \(session.endpoint.ttl)",
                "  State = \(machine.state) (\(machine.localDiagnostic)), remote \(machine.remoteState) "
                    + "(\(machine.remoteDiagnostic)), trackers see \(session.up ? "UP" : "DOWN")",
                "  Discriminators = local \(machine.localDiscriminator), remote \(machine.remoteDiscriminator)",
                "  Local: min_tx \(ms(machine.desiredMinTx)) ms, min_rx \(ms(settings.requiredMinRx)) ms, "
                    + "multiplier \(settings.detectMultiplier)\(settings.passive ? ", passive" : "")",
                "  Remote: min_tx \(ms(machine.remoteDesiredMinTx)) ms, min_rx \(ms(machine.remoteMinRx)) ms, "
                    + "multiplier \(machine.remoteMultiplier)",
                "  Transmit interval = \(ms(machine.transmitInterval.microsecondsValue)) ms, detection time = "
                    + (machine.detectionTime.map { "\(ms($0.microsecondsValue)) ms" } ?? "-")
                    + (machine.isPolling ? " (poll sequence in progress)" : ""),
            ].joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The `SIGUSR2` text: `session.counter value` lines, then the drops no session took.
    var statisticsText: String {
        var lines = order.flatMap { name -> [String] in
            guard let counters = sessions[name]?.counters else { return [] }
            return counters.keys.sorted().map { "\(name).\($0) \(counters[$0] ?? 0)" }
        }
        for check in BFDReceiveCheck.allCases where check != .ttl && check != .adminDown {
            lines.append("dropped_\(check.rawValue) \(dropped[check] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}

extension BFDState {
    init(_ state: BFDSessionReport.State) {
        switch state {
        case .adminDown: self = .adminDown
        case .down: self = .down
        case .initializing: self = .initializing
        case .up: self = .up
        }
    }
}

extension BFDSessionReport.State {
    init(_ state: BFDState) {
        switch state {
        case .adminDown: self = .adminDown
        case .down: self = .down
        case .initializing: self = .initializing
        case .up: self = .up
        }
    }
}

extension BFDSystem {
    /// The instant `nanoseconds` of CLOCK_MONOTONIC stands for, given that `now` is this system's present.
    func instant(monotonicNanoseconds nanoseconds: Int64, now: Instant) -> Instant {
        now.advanced(by: .nanoseconds(nanoseconds - monotonicNanoseconds(now)))
    }
}
