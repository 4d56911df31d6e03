import Config

/// How one check of a real server runs: TCP_CHECK on the loop's lean connector (its socket plan, no future), every
/// other kind as a probe. Either is one reference (8 bytes), so a farm's ten thousand checks hold ten thousand
/// words here, not ten thousand 40-byte existentials.
public enum CheckRunner: Sendable {
    case connect(SocketPlan)
    case probe(ProbeBox)

    /// The runner of `probe`: a TCP_CHECK with a socket plan connects on the loop; anything else runs its probe.
    public init(_ probe: any HealthProbe) {
        if let tcp = probe as? TCPProbe, case .success(let plan) = tcp.plan {
            self = .connect(plan)
        } else {
            self = .probe(ProbeBox(probe))
        }
    }
}

/// One probe, held by reference.
public final class ProbeBox: Sendable {
    public let probe: any HealthProbe

    init(_ probe: any HealthProbe) { self.probe = probe }
}

/// The runners of every real server's checks, by the core's token (`CheckerCore.Entry.token`): built for the real
/// servers a configuration adds or changes, dropped with them. A real server with one checker (nearly all of them)
/// holds its runner inline, without an array of its own.
public struct CheckRunners: Sendable {
    private enum Slot {
        case one(CheckRunner)
        case many([CheckRunner])
    }

    private var slots: [Int: Slot] = [:]

    public init() {}

    /// Real servers with runners.
    public var count: Int { slots.count }

    /// The runner of checker `checker` of the real server `token` names.
    public subscript(token: Int, checker: Int) -> CheckRunner? {
        switch slots[token] {
        case .one(let runner)?: checker == 0 ? runner : nil
        case .many(let runners)?: runners.indices.contains(checker) ? runners[checker] : nil
        case nil: nil
        }
    }

    /// Drops the runners of the real server `token` names.
    public mutating func remove(token: Int) { slots[token] = nil }

    /// Builds the runners of the real servers `tokens` name, in `core`'s configuration `lvs`.
    /// - Parameters:
    ///   - make: the probe of one checker of one real server.
    ///   - progress: called every 256 real servers (a large farm's build is long work on the loop).
    public mutating func build(
        _ tokens: [Int], core: CheckerCore, lvs: LVSConfig,
        make: (Checker, RealServer, VirtualServer) -> any HealthProbe, progress: () -> Void = {}
    ) {
        slots.reserveCapacity(slots.count + tokens.count)
        for (count, token) in tokens.enumerated() {
            guard let index = core.entry(token: token) else { continue }
            let entry = core.entries[index]
            let server = lvs.virtualServers[entry.virtualServer]
            let real = server.realServers[entry.realServer]
            let runners = real.checkers.map { CheckRunner(make($0, real, server)) }
            slots[token] = runners.count == 1 ? .one(runners[0]) : .many(runners)
            if count % 256 == 255 { progress() }
        }
        progress()
    }
}
