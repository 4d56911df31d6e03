/// A BFD session state as the State (Sta) field carries it (RFC 5880 §4.1).
public enum BFDState: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case adminDown = 0
    case down = 1
    case initializing = 2
    case up = 3

    /// keepalived's and FRR's spelling (`AdminDown`, `Down`, `Init`, `Up`).
    public var description: String {
        switch self {
        case .adminDown: "AdminDown"
        case .down: "Down"
        case .initializing: "Init"
        case .up: "Up"
        }
    }
}

/// The Diagnostic (Diag) field: why the sender's session last left Up (RFC 5880 §4.1). Values 9–31 are reserved;
/// they are carried as received.
public struct BFDDiagnostic: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x1f
    }

    public static let none = BFDDiagnostic(rawValue: 0)
    public static let controlDetectionTimeExpired = BFDDiagnostic(rawValue: 1)
    public static let echoFunctionFailed = BFDDiagnostic(rawValue: 2)
    public static let neighborSignaledSessionDown = BFDDiagnostic(rawValue: 3)
    public static let forwardingPlaneReset = BFDDiagnostic(rawValue: 4)
    public static let pathDown = BFDDiagnostic(rawValue: 5)
    public static let concatenatedPathDown = BFDDiagnostic(rawValue: 6)
    public static let administrativelyDown = BFDDiagnostic(rawValue: 7)
    public static let reverseConcatenatedPathDown = BFDDiagnostic(rawValue: 8)

    public var description: String {
        switch rawValue {
        case 0: "No Diagnostic"
        case 1: "Control Detection Time Expired"
        case 2: "Echo Function Failed"
        case 3: "Neighbor Signaled Session Down"
        case 4: "Forwarding Plane Reset"
        case 5: "Path Down"
        case 6: "Concatenated Path Down"
        case 7: "Administratively Down"
        case 8: "Reverse Concatenated Path Down"
        default: "Diagnostic \(rawValue)"
        }
    }
}

/// A BFD Control packet (RFC 5880 §4.1), without the optional authentication section (Vigil, like keepalived,
/// does not authenticate; packets that announce authentication are dropped, §6.8.6).
///
///     |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
///     |                       My Discriminator                        |
///     |                      Your Discriminator                       |
///     |                    Desired Min TX Interval                    |
///     |                   Required Min RX Interval                    |
///     |                 Required Min Echo RX Interval                 |
///
/// Intervals are in microseconds.
public struct BFDControlPacket: Hashable, Sendable {
    /// The length of a packet without authentication.
    public static let length = 24
    public static let version: UInt8 = 1

    public var diagnostic: BFDDiagnostic = .none
    public var state: BFDState
    /// P: the sender asks for a Final (a Poll Sequence, §6.5).
    public var poll = false
    /// F: the answer to a Poll.
    public var final = false
    /// C: the sender's BFD does not share fate with its control plane.
    public var controlPlaneIndependent = false
    /// A: an authentication section follows.
    public var authenticationPresent = false
    /// D: the sender wishes to run Demand mode.
    public var demand = false
    /// M: reserved for multipoint; must be zero.
    public var multipoint = false
    public var detectMultiplier: UInt8
    public var myDiscriminator: UInt32
    public var yourDiscriminator: UInt32
    public var desiredMinTxInterval: UInt32
    public var requiredMinRxInterval: UInt32
    /// Vigil runs no Echo function: it sends 0 (§6.8.9).
    public var requiredMinEchoRxInterval: UInt32 = 0

    public init(
        state: BFDState, diagnostic: BFDDiagnostic = .none, poll: Bool = false, final: Bool = false,
        detectMultiplier: UInt8, myDiscriminator: UInt32, yourDiscriminator: UInt32, desiredMinTxInterval: UInt32,
        requiredMinRxInterval: UInt32
    ) {
        self.state = state
        self.diagnostic = diagnostic
        self.poll = poll
        self.final = final
        self.detectMultiplier = detectMultiplier
        self.myDiscriminator = myDiscriminator
        self.yourDiscriminator = yourDiscriminator
        self.desiredMinTxInterval = desiredMinTxInterval
        self.requiredMinRxInterval = requiredMinRxInterval
    }

    /// The 24 bytes on the wire.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.length)
        bytes.append(Self.version << 5 | diagnostic.rawValue)
        var flags = state.rawValue << 6
        if poll { flags |= 0x20 }
        if final { flags |= 0x10 }
        if controlPlaneIndependent { flags |= 0x08 }
        if authenticationPresent { flags |= 0x04 }
        if demand { flags |= 0x02 }
        if multipoint { flags |= 0x01 }
        bytes += [flags, detectMultiplier, UInt8(Self.length)]
        for value in [
            myDiscriminator, yourDiscriminator, desiredMinTxInterval, requiredMinRxInterval, requiredMinEchoRxInterval,
        ] {
            bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
        }
        return bytes
    }

    /// Decodes a UDP payload and applies the checks of RFC 5880 §6.8.6 that need no session: version, length,
    /// Detect Mult, the M bit, the discriminators, authentication, and P with F (§6.5 forbids both at once).
    /// - Throws: `BFDReceiveFailure` naming the check that failed.
    public init(decoding bytes: some Collection<UInt8>) throws(BFDReceiveFailure) {
        let data = Array(bytes.prefix(64))
        guard data.count >= Self.length else {
            throw BFDReceiveFailure(.truncated, "\(bytes.count) bytes, shorter than a BFD Control packet (24)")
        }
        let version = data[0] >> 5
        guard version == Self.version else {
            throw BFDReceiveFailure(.version, "version \(version), not 1")
        }
        let length = Int(data[3])
        let authentication = data[1] & 0x04 != 0
        // §6.8.6: shorter than the minimum (24, or 26 with the A bit), or longer than the payload: discard.
        guard length >= (authentication ? 26 : Self.length), length <= bytes.count else {
            throw BFDReceiveFailure(.length, "Length field \(length) with \(bytes.count) bytes received")
        }
        func word(_ offset: Int) -> UInt32 {
            data[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        self.init(
            state: BFDState(rawValue: data[1] >> 6)!, diagnostic: BFDDiagnostic(rawValue: data[0]),
            poll: data[1] & 0x20 != 0, final: data[1] & 0x10 != 0, detectMultiplier: data[2],
            myDiscriminator: word(4), yourDiscriminator: word(8), desiredMinTxInterval: word(12),
            requiredMinRxInterval: word(16))
        controlPlaneIndependent = data[1] & 0x08 != 0
        authenticationPresent = authentication
        demand = data[1] & 0x02 != 0
        multipoint = data[1] & 0x01 != 0
        requiredMinEchoRxInterval = word(20)
        guard detectMultiplier != 0 else { throw BFDReceiveFailure(.detectMultiplier, "Detect Mult is zero") }
        guard !multipoint else { throw BFDReceiveFailure(.multipoint, "the Multipoint (M) bit is set") }
        guard myDiscriminator != 0 else { throw BFDReceiveFailure(.discriminator, "My Discriminator is zero") }
        guard yourDiscriminator != 0 || state == .down || state == .adminDown else {
            throw BFDReceiveFailure(.discriminator, "Your Discriminator is zero in state \(state)")
        }
        guard !authenticationPresent else {
            throw BFDReceiveFailure(.authentication, "the packet is authenticated; Vigil runs BFD without")
        }
        guard !(poll && final) else { throw BFDReceiveFailure(.pollAndFinal, "both Poll and Final are set") }
    }
}

/// The receive checks a BFD packet can fail, each counted on its own (`vigilctl status`, `SIGUSR2`).
public enum BFDReceiveCheck: String, Hashable, Sendable, CaseIterable {
    /// Shorter than 24 bytes.
    case truncated
    case version
    /// The Length field disagrees with the datagram.
    case length
    case detectMultiplier = "detect_multiplier"
    case multipoint
    /// My Discriminator zero, or Your Discriminator zero outside Down/AdminDown.
    case discriminator
    case authentication
    case pollAndFinal = "poll_and_final"
    /// No session has the packet's Your Discriminator, or its source and destination addresses.
    case noSession = "no_session"
    /// The TTL (hop limit) is below what the session allows (RFC 5881 §5, RFC 5883 §2; keepalived's `max_hops`).
    case ttl
    /// The session is AdminDown (§6.8.6).
    case adminDown = "admin_down"
}

/// Why a received packet was dropped.
public struct BFDReceiveFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var check: BFDReceiveCheck
    public var message: String

    public init(_ check: BFDReceiveCheck, _ message: String) {
        self.check = check
        self.message = message
    }

    public var description: String { message }
}
