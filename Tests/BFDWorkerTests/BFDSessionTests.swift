import Config
import TestSupport
import Testing
import WorkerIPC

@testable import BFDWorker

@Suite("BFD session state machine (RFC 5880 §6.8), in virtual time")
struct BFDSessionTests {
    static let fast = BFDSessionSettings(desiredMinTx: 10_000, requiredMinRx: 10_000, detectMultiplier: 3)

    /// A packet from the neighbour, as it would send it.
    static func neighbor(
        _ state: BFDState, your: UInt32 = 0x0a0a, poll: Bool = false, final: Bool = false, multiplier: UInt8 = 3,
        tx: UInt32 = 10_000, rx: UInt32 = 10_000
    ) -> BFDControlPacket {
        BFDControlPacket(
            state: state, poll: poll, final: final, detectMultiplier: multiplier, myDiscriminator: 0x0b0b,
            yourDiscriminator: state == .down || state == .adminDown ? your : max(your, 1), desiredMinTxInterval: tx,
            requiredMinRxInterval: rx)
    }

    @Test("Two sessions come Up through Down, Init, Up (§6.2), then run at min_tx")
    func threeWayHandshake() {
        var link = VirtualLink(Self.fast, Self.fast)
        link.start()
        link.run(until: at(milliseconds: 3000))
        #expect(link.sessions[0].state == .up && link.sessions[1].state == .up)
        // Each side went Down -> Init -> Up or Down -> Up (the side that hears Init first skips Init).
        for side in 0..<2 {
            let states = link.log.filter { $0.1 == side }.map(\.3)
            #expect(states.last == .up)
            #expect(states.allSatisfy { $0 == .initializing || $0 == .up })
        }
        // While Up, each sends every 10 ms less 0-25 % jitter.
        let upAt = max(link.lastEntered(.up, side: 0)!, link.lastEntered(.up, side: 1)!)
        let times = link.sent.filter { $0.1 == 0 && $0.0 > upAt.advanced(by: .milliseconds(100)) }.map(\.0)
        let gaps = zip(times.dropFirst(), times).map { $0.nanoseconds - $1.nanoseconds }
        #expect(!gaps.isEmpty)
        #expect(gaps.allSatisfy { $0 >= 7_500_000 && $0 <= 10_000_000 }, "\(gaps)")
        #expect(link.sessions[0].transmitInterval == .milliseconds(10))
        #expect(link.sessions[0].detectionTime == .milliseconds(30))
    }

    @Test("Before Up the session sends at idle_tx (at least 1 s, §6.8.3)")
    func idleRate() {
        var session = Session(settings: Self.fast, localDiscriminator: 1)
        var random = SplitMix64(seed: 1)
        let actions = session.start(at: epoch, using: &random)
        #expect(actions.sent.count == 1)
        #expect(actions.sent[0].state == .down && actions.sent[0].desiredMinTxInterval == 1_000_000)
        #expect(actions.sent[0].requiredMinRxInterval == 10_000)
        let next = milliseconds(actions.deadline(.transmit)!)
        #expect(next >= 750 && next <= 1000)
    }

    @Test("Detection time is the neighbour's multiplier times the agreed interval (§6.8.4)")
    func detectionTime() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 2)
        _ = session.start(at: epoch, using: &random)
        // The neighbour wants 50 ms / 20 ms, multiplier 5: ours is 10 ms rx, its tx 50 → 5 × 50 ms.
        let actions = session.receive(
            Self.neighbor(.down, multiplier: 5, tx: 50_000, rx: 20_000), at: epoch, using: &random)!
        #expect(session.detectionTime == .milliseconds(250))
        #expect(actions.deadline(.detection) == epoch.advanced(by: .milliseconds(250)))
        // Our transmit interval: max(our desired (idle: 1 s while not Up), its required rx).
        #expect(session.transmitInterval == .seconds(1))
    }

    @Test("Silence for the detection time takes an Up session Down with diagnostic 1, and forgets the neighbour")
    func detectionExpiry() {
        var link = VirtualLink(Self.fast, Self.fast)
        link.start()
        link.run(until: at(milliseconds: 3000))
        #expect(link.sessions[0].state == .up)
        // The link is cut: side 0 must go Down 30 ms (3 × 10 ms) after the last packet it received.
        link.cut = true
        let cutAt = link.now
        link.run(until: cutAt.advanced(by: .milliseconds(100)))
        let lastHeard = link.sent.last { $0.1 == 1 && $0.0 <= cutAt }!.0.advanced(by: link.delay)
        let down = link.log.first { $0.1 == 0 && $0.3 == .down }!
        #expect(down.4 == .controlDetectionTimeExpired)
        #expect(down.0.nanoseconds - lastHeard.nanoseconds == 30_000_000)
        #expect(link.sessions[0].remoteDiscriminator == 0)
        // Down packets go out at the idle rate, with Your Discriminator 0.
        #expect(link.sent.last { $0.1 == 0 }!.2.yourDiscriminator == 0)
    }

    @Test("The session comes back Up when the link does")
    func recovers() {
        var link = VirtualLink(Self.fast, Self.fast)
        link.start()
        link.run(until: at(milliseconds: 3000))
        link.cut = true
        link.run(until: at(milliseconds: 3500))
        #expect(link.sessions[0].state == .down && link.sessions[1].state == .down)
        link.cut = false
        link.run(until: at(milliseconds: 6500))
        #expect(link.sessions[0].state == .up && link.sessions[1].state == .up)
    }

    @Test("A neighbour going Down takes an Up session Down with diagnostic 3 (Neighbor Signaled Session Down)")
    func neighborSignalsDown() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 3)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        #expect(session.state == .up)
        let actions = session.receive(Self.neighbor(.down), at: at(milliseconds: 5), using: &random)!
        #expect(session.state == .down)
        #expect(actions.transitions.map(\.2) == [.neighborSignaledSessionDown])
        // The new state goes out at once.
        #expect(actions.sent.first?.state == .down)
        #expect(actions.sent.first?.diagnostic == .neighborSignaledSessionDown)
    }

    @Test("The neighbour's AdminDown takes the session Down with diagnostic 3; Down stays Down")
    func neighborAdminDown() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 4)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        let actions = session.receive(Self.neighbor(.adminDown), at: at(milliseconds: 1), using: &random)!
        #expect(actions.transitions.map { "\($0.0)->\($0.1)" } == ["Up->Down"])
        #expect(session.remoteState == .adminDown)
        // AdminDown while Down: no transition (§6.8.6).
        #expect(
            session.receive(Self.neighbor(.adminDown), at: at(milliseconds: 2), using: &random)!.transitions.isEmpty)
        #expect(session.state == .down)
    }

    @Test("Going Up starts a Poll Sequence for min_tx; the Final ends it (§6.5, §6.8.3)")
    func pollOnUp() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 5)
        _ = session.start(at: epoch, using: &random)
        let actions = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)!
        #expect(session.state == .up && session.isPolling)
        #expect(actions.sent.first?.poll == true)
        #expect(actions.sent.first?.desiredMinTxInterval == 10_000)
        // Faster at once: the interval shrinks without waiting for the Final.
        #expect(session.transmitInterval == .milliseconds(10))
        // Every periodic packet carries P until the Final.
        let tick = session.timerFired(.transmit, at: at(milliseconds: 20), using: &random)
        #expect(tick.sent.first?.poll == true)
        _ = session.receive(Self.neighbor(.up, final: true), at: at(milliseconds: 21), using: &random)
        #expect(!session.isPolling)
        #expect(session.timerFired(.transmit, at: at(milliseconds: 40), using: &random).sent.first?.poll == false)
    }

    @Test("A Poll is answered at once with a Final, without the Poll bit (§6.8.6)")
    func answersPoll() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 6)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        #expect(session.isPolling)
        let actions = session.receive(Self.neighbor(.up, poll: true), at: at(milliseconds: 3), using: &random)!
        #expect(actions.sent.count == 1)
        #expect(actions.sent[0].final && !actions.sent[0].poll)
    }

    @Test("A slower min_tx waits for the Final; a smaller min_rx does not shorten detection before it (§6.8.3)")
    func reconfigureWhileUp() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 8)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.up, final: true), at: at(milliseconds: 1), using: &random)
        #expect(!session.isPolling)
        var slower = Self.fast
        slower.desiredMinTx = 50_000
        slower.requiredMinRx = 5_000
        _ = session.reconfigure(slower, at: at(milliseconds: 2), using: &random)
        #expect(session.isPolling)
        #expect(session.packet().desiredMinTxInterval == 50_000 && session.packet().poll)
        #expect(session.transmitInterval == .milliseconds(10))
        #expect(session.detectionTime == .milliseconds(30))
        _ = session.receive(Self.neighbor(.up, final: true), at: at(milliseconds: 3), using: &random)
        #expect(session.transmitInterval == .milliseconds(50))
        // Our rx is now 5 ms, the neighbour's tx 10 ms: 3 × 10 ms.
        #expect(session.detectionTime == .milliseconds(30))
    }

    @Test("A passive session sends nothing until it has heard its neighbour (§6.1, §6.8.7)")
    func passive() {
        var settings = Self.fast
        settings.passive = true
        var session = Session(settings: settings, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 9)
        #expect(session.start(at: epoch, using: &random).isEmpty)
        let actions = session.receive(Self.neighbor(.down), at: at(milliseconds: 5), using: &random)!
        #expect(session.state == .initializing)
        #expect(actions.sent.first?.state == .initializing)
        #expect(actions.deadline(.transmit) != nil)
        // After a detection time of silence it forgets the neighbour and goes quiet again.
        let expired = session.timerFired(.detection, at: at(milliseconds: 100), using: &random)
        #expect(session.state == .down && expired.sent.isEmpty)
        #expect(expired.contains(.cancel(.transmit)))
    }

    @Test("Two passive sessions never come up; one active and one passive do")
    func passivePair() {
        var settings = Self.fast
        settings.passive = true
        var quiet = VirtualLink(settings, settings)
        quiet.start()
        quiet.run(until: at(milliseconds: 5000))
        #expect(quiet.sent.isEmpty)
        var mixed = VirtualLink(Self.fast, settings)
        mixed.start()
        mixed.run(until: at(milliseconds: 5000))
        #expect(mixed.sessions.allSatisfy { $0.state == .up })
    }

    @Test("With a multiplier of 1 the interval is 75-90 % of the negotiated one (§6.8.7)")
    func jitterWithMultiplierOne() {
        var settings = Self.fast
        settings.detectMultiplier = 1
        var session = Session(settings: settings, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 10)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        var previous = session.deadline(of: .transmit)!
        for _ in 0..<200 {
            let actions = session.timerFired(.transmit, at: previous, using: &random)
            let next = actions.deadline(.transmit)!
            let gap = next.nanoseconds - previous.nanoseconds
            #expect(gap >= 7_500_000 && gap <= 9_000_000, "\(gap)")
            previous = next
        }
    }

    @Test("A neighbour asking for no packets (Required Min RX 0) gets none but a Final")
    func remoteMinRxZero() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 11)
        _ = session.start(at: epoch, using: &random)
        let actions = session.receive(Self.neighbor(.down, rx: 0), at: epoch, using: &random)!
        #expect(actions.contains(.cancel(.transmit)))
        #expect(!session.transmits)
        let polled = session.receive(Self.neighbor(.initializing, poll: true, rx: 0), at: epoch, using: &random)!
        #expect(polled.sent.count == 1 && polled.sent[0].final)
    }

    @Test("A resumed Up session stays Up and sends at once; the neighbour notices nothing")
    func resume() {
        var link = VirtualLink(Self.fast, Self.fast)
        link.start()
        link.run(until: at(milliseconds: 3000))
        let old = link.sessions[0]
        // Side 0's worker dies and a new one takes over 20 ms later from its last report.
        link.frozen[0] = true
        link.run(until: at(milliseconds: 3020))
        var fresh = Session(settings: Self.fast, localDiscriminator: old.localDiscriminator)
        let saved = BFDResumedState(
            state: old.state, remoteState: old.remoteState, localDiscriminator: old.localDiscriminator,
            remoteDiscriminator: old.remoteDiscriminator, remoteMinRx: old.remoteMinRx,
            remoteDesiredMinTx: old.remoteDesiredMinTx, remoteMultiplier: old.remoteMultiplier)
        let actions = fresh.resume(saved, at: link.now, using: &link.random)
        #expect(fresh.state == .up)
        #expect(actions.sent.first?.state == .up)
        #expect(actions.transitions.isEmpty)
        link.sessions[0] = fresh
        link.frozen[0] = false
        link.handle(actions, side: 0)
        let before = link.log.count
        link.run(until: at(milliseconds: 4000))
        #expect(link.log.count == before, "\(link.log.dropFirst(before).map { "\($0.1): \($0.2)->\($0.3)" })")
        #expect(link.sessions.allSatisfy { $0.state == .up })
    }

    @Test("A restart slower than the neighbour's detection time is seen: the neighbour goes Down, then both Up")
    func slowRestart() {
        var link = VirtualLink(Self.fast, Self.fast)
        link.start()
        link.run(until: at(milliseconds: 3000))
        link.frozen[0] = true
        link.run(until: at(milliseconds: 3100))
        #expect(link.sessions[1].state == .down)
        link.frozen[0] = false
        link.run(until: at(milliseconds: 6000))
        #expect(link.sessions.allSatisfy { $0.state == .up })
    }

    @Test("Shutdown sends AdminDown with diagnostic 7 and stops the timers")
    func shutdown() {
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        var random = SplitMix64(seed: 12)
        _ = session.start(at: epoch, using: &random)
        _ = session.receive(Self.neighbor(.initializing), at: epoch, using: &random)
        let actions = session.shutdown(at: at(milliseconds: 1))
        #expect(actions.sent.first?.state == .adminDown)
        #expect(actions.sent.first?.diagnostic == .administrativelyDown)
        #expect(actions.contains(.cancel(.transmit)) && actions.contains(.cancel(.detection)))
        #expect(session.receive(Self.neighbor(.up), at: at(milliseconds: 2), using: &random) == nil)
    }

    @Test("Random packets never break the machine's invariants", arguments: 0..<20)
    func randomized(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var session = Session(settings: Self.fast, localDiscriminator: 0x0a0a)
        _ = session.start(at: epoch, using: &generator)
        var now = epoch
        for _ in 0..<500 {
            now = now.advanced(by: .microseconds(Int64(generator.next() % 40_000)))
            for timer in BFDTimer.allCases {
                if let deadline = session.deadline(of: timer), deadline <= now {
                    _ = session.timerFired(timer, at: now, using: &generator)
                }
            }
            let state = BFDState(rawValue: UInt8(generator.next() % 4))!
            let packet = Self.neighbor(
                state, your: generator.next() % 3 == 0 ? 0 : 0x0a0a, poll: generator.next() % 5 == 0,
                multiplier: UInt8(1 + generator.next() % 5), tx: UInt32(generator.next() % 100_000),
                rx: UInt32(generator.next() % 100_000))
            guard (try? BFDControlPacket(decoding: packet.encoded())) != nil else { continue }
            if let actions = session.receive(packet, at: now, using: &generator) {
                #expect(!actions.sent.contains { $0.poll && $0.final })
            }
            #expect(session.state != .up || session.remoteDiscriminator != 0)
        }
    }
}
