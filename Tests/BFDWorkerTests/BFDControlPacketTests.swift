import Testing

@testable import BFDWorker

@Suite("BFD Control packet codec (RFC 5880 §4.1, §6.8.6)")
struct BFDControlPacketTests {
    /// An Up packet as FRR's bfdd sends it: version 1, diag 0, state Up, multiplier 3, discriminators 1 and
    /// 0x12345678, 300 ms / 300 ms, echo 50 ms.
    static let frrUp: [UInt8] = [
        0x20, 0xc0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
        0x00, 0x04, 0x93, 0xe0, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0xc3, 0x50,
    ]

    @Test("A packet decodes field by field")
    func decodesFields() throws {
        let packet = try BFDControlPacket(decoding: Self.frrUp)
        #expect(packet.state == .up)
        #expect(packet.diagnostic == .none)
        #expect(!packet.poll && !packet.final && !packet.demand)
        #expect(packet.detectMultiplier == 3)
        #expect(packet.myDiscriminator == 1)
        #expect(packet.yourDiscriminator == 0x1234_5678)
        #expect(packet.desiredMinTxInterval == 300_000)
        #expect(packet.requiredMinRxInterval == 300_000)
        #expect(packet.requiredMinEchoRxInterval == 50_000)
    }

    @Test("What is encoded decodes to the same packet, flags and diagnostics included")
    func roundTrip() throws {
        for state in BFDState.allCases {
            for (poll, final) in [(false, false), (true, false), (false, true)] {
                var packet = BFDControlPacket(
                    state: state, diagnostic: BFDDiagnostic(rawValue: UInt8(state.rawValue) * 2 + 1), poll: poll,
                    final: final, detectMultiplier: 5, myDiscriminator: 0xdead_beef,
                    yourDiscriminator: state == .down || state == .adminDown ? 0 : 42, desiredMinTxInterval: 10_000,
                    requiredMinRxInterval: 20_000)
                packet.controlPlaneIndependent = true
                packet.demand = state == .up
                let bytes = packet.encoded()
                #expect(bytes.count == 24)
                #expect(bytes[0] >> 5 == 1)
                #expect(try BFDControlPacket(decoding: bytes) == packet)
            }
        }
    }

    /// Each packet check of §6.8.6, with a packet that fails it alone.
    static let invalid: [([UInt8], BFDReceiveCheck)] = {
        let up = frrUp
        func with(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var packet = up
            packet.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return packet
        }
        var authenticated = with(1, [0xc4, 0x03, 0x1a])
        authenticated += [1, 2]
        return [
            (Array(up.prefix(23)), .truncated),
            (with(0, [0x40]), .version),
            (with(3, [23]), .length),
            (with(3, [25]), .length),
            (with(2, [0]), .detectMultiplier),
            (with(1, [0xc1]), .multipoint),
            (with(4, [0, 0, 0, 0]), .discriminator),
            (with(8, [0, 0, 0, 0]), .discriminator),
            (authenticated, .authentication),
            (with(1, [0xf0]), .pollAndFinal),
        ]
    }()

    @Test("Every packet check of §6.8.6 drops with its reason", arguments: invalid)
    func dropsInvalid(bytes: [UInt8], check: BFDReceiveCheck) {
        #expect(throws: BFDReceiveFailure.self) { try BFDControlPacket(decoding: bytes) }
        do {
            _ = try BFDControlPacket(decoding: bytes)
        } catch {
            #expect(error.check == check, "\(error)")
        }
    }

    @Test("Your Discriminator may be zero in Down and AdminDown only")
    func zeroYourDiscriminator() throws {
        for state in BFDState.allCases {
            let packet = BFDControlPacket(
                state: state, detectMultiplier: 3, myDiscriminator: 1, yourDiscriminator: 0,
                desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 1_000_000)
            let decoded = try? BFDControlPacket(decoding: packet.encoded())
            #expect((decoded != nil) == (state == .down || state == .adminDown), "\(state)")
        }
    }

    @Test("Bytes after the Length are ignored (the length may be shorter than the payload, not longer)")
    func trailingBytes() throws {
        let packet = try BFDControlPacket(decoding: Self.frrUp + [0xff, 0xff])
        #expect(packet.myDiscriminator == 1)
    }

    @Test("Reserved diagnostic codes are carried as received")
    func reservedDiagnostic() throws {
        let packet = try BFDControlPacket(decoding: [0x3f] + Self.frrUp.dropFirst())
        #expect(packet.diagnostic.rawValue == 31)
        #expect(packet.diagnostic.description == "Diagnostic 31")
        #expect(BFDDiagnostic.controlDetectionTimeExpired.description == "Control Detection Time Expired")
    }
}
