import BFDWorker
import Config
import FuzzSupport
import TestSupport
import WorkerIPC

/// libFuzzer's entry point for the BFD receive path: the input is a sequence of datagrams (each after a 2-byte
/// length, `FuzzReplay.pieces`); each is decoded as a BFD Control packet (RFC 5880 §6.8.6's packet checks) and,
/// when it passes, fed to three sessions (active, passive, multiplier 1) in virtual time, with the timers that fall
/// due between datagrams fired. Any crash, hang or sanitizer report is a bug; so is a broken invariant (an Up session
/// that forgot its neighbour, a transmit interval of zero, P and F in one packet).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBFD(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Deterministic, so a finding replays the same.
    var random = SplitMix64(seed: UInt64(size))
    var sessions = [
        BFDSession<MonotonicInstant>(settings: BFDSessionSettings(), localDiscriminator: 0x1234_5678),
        BFDSession<MonotonicInstant>(
            settings: BFDSessionSettings(desiredMinTx: 50_000, requiredMinRx: 50_000, passive: true),
            localDiscriminator: 7),
        BFDSession<MonotonicInstant>(
            settings: BFDSessionSettings(desiredMinTx: 1, requiredMinRx: 1, detectMultiplier: 1),
            localDiscriminator: 0xffff_ffff),
    ]
    var now = MonotonicInstant(nanoseconds: 1_000_000_000)
    for index in sessions.indices { _ = sessions[index].start(at: now, using: &random) }
    for piece in FuzzReplay.pieces(FuzzReplay.bytes(data, size)) {
        // The first byte moves time on (up to 255 ms), so timers fire between datagrams.
        now = now.advanced(by: .milliseconds(Int(piece.first ?? 0)))
        for index in sessions.indices {
            for timer in BFDTimer.allCases {
                if let deadline = sessions[index].deadline(of: timer), deadline <= now {
                    check(sessions[index].timerFired(timer, at: now, using: &random), sessions[index])
                }
            }
        }
        guard let packet = try? BFDControlPacket(decoding: piece.dropFirst()) else { continue }
        precondition(BFDControlPacket.length == packet.encoded().count)
        for index in sessions.indices {
            if let actions = sessions[index].receive(packet, at: now, using: &random) {
                check(actions, sessions[index])
            }
        }
    }
    return 0
}

/// The invariants every step must keep.
func check(_ actions: [BFDSessionAction<MonotonicInstant>], _ session: BFDSession<MonotonicInstant>) {
    for action in actions {
        if case .send(let packet) = action {
            precondition(!(packet.poll && packet.final), "a packet with both Poll and Final")
            precondition((try? BFDControlPacket(decoding: packet.encoded())) != nil || packet.yourDiscriminator == 0)
        }
    }
    precondition(session.state != .up || session.remoteDiscriminator != 0, "Up without a remote discriminator")
    precondition(session.transmitInterval > .zero, "a transmit interval of zero")
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzBFD) }
    }
#endif
