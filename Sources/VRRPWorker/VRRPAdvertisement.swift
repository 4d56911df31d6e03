import Config

/// The VRRP protocol version: 2 (RFC 3768, IPv4 only, seconds) or 3 (RFC 5798, IPv4 and IPv6, centiseconds).
public enum VRRPVersion: UInt8, Hashable, Sendable, CaseIterable {
    case v2 = 2
    case v3 = 3

    /// The unit of the advertisement interval field: seconds (RFC 3768 §5.3.7) or centiseconds (RFC 5798 §5.2.7).
    public var advertisementIntervalUnit: Duration { self == .v2 ? .seconds(1) : .milliseconds(10) }

    /// The largest value the interval field holds: 8 bits in v2, 12 bits in v3.
    public var maximumRawAdvertisementInterval: UInt16 { self == .v2 ? 0xff : 0x0fff }

    /// The interval field for `interval`: rounded to the nearest unit, clamped to 1…maximum.
    public func rawAdvertisementInterval(for interval: Duration) -> UInt16 {
        let unit = advertisementIntervalUnit.wholeMicroseconds
        let units = (interval.wholeMicroseconds + unit / 2) / unit
        return UInt16(min(max(units, 1), Int64(maximumRawAdvertisementInterval)))
    }

    /// The interval an interval field stands for.
    public func advertisementInterval(raw: UInt16) -> Duration {
        advertisementIntervalUnit * Int(raw)
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6, and RFC 2338 §5.3.6 for the types RFC 3768 removed but keepalived
/// still speaks). VRRPv3 has none (RFC 5798 §5.2.5: the field is reserved).
public enum VRRPAuthentication: Hashable, Sendable {
    /// Auth type 0.
    case none
    /// Auth type 1, simple text password: the 8 bytes of Authentication Data, zero-padded.
    case simplePassword([UInt8])
    /// Auth type 2, IP Authentication Header: the packet travels in AH (IP protocol 51; `AuthenticationHeader`).
    case ipAuthenticationHeader
    /// Any other auth type value.
    case unknown(UInt8)

    /// The size of the Authentication Data that follows the addresses in a VRRPv2 message.
    public static let dataLength = 8

    /// A simple password as keepalived's `auth_pass` stores it: the first 8 bytes of its UTF-8, zero-padded.
    public static func password(_ text: String) -> VRRPAuthentication {
        let bytes = Array(text.utf8.prefix(dataLength))
        return .simplePassword(bytes + Array(repeating: 0, count: dataLength - bytes.count))
    }

    /// The Auth Type field.
    public var typeCode: UInt8 {
        switch self {
        case .none: 0
        case .simplePassword: 1
        case .ipAuthenticationHeader: 2
        case .unknown(let code): code
        }
    }

    /// The 8 bytes of Authentication Data sent in a VRRPv2 message (zero but for a password).
    var data: [UInt8] {
        guard case .simplePassword(let bytes) = self else { return Array(repeating: 0, count: Self.dataLength) }
        let prefix = Array(bytes.prefix(Self.dataLength))
        return prefix + Array(repeating: 0, count: Self.dataLength - prefix.count)
    }

    init(typeCode: UInt8, data: ArraySlice<UInt8>) {
        switch typeCode {
        case 0: self = .none
        case 1: self = .simplePassword(Array(data))
        case 2: self = .ipAuthenticationHeader
        default: self = .unknown(typeCode)
        }
    }
}

/// What the socket layer knows of a received packet besides its VRRP bytes: the IP header's addresses and TTL
/// (IPv4, from the header) or hop limit (IPv6, from `IPV6_HOPLIMIT` ancillary data).
public struct VRRPPacketInfo: Hashable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// The IPv4 TTL or IPv6 hop limit.
    public var hopLimit: UInt8
    /// The IP Authentication Header the message came in (IPv4, VRRPv2 auth type 2), if any.
    public var authenticationHeader: AuthenticationHeader.Received?

    public init(
        source: IPAddress, destination: IPAddress, hopLimit: UInt8,
        authenticationHeader: AuthenticationHeader.Received? = nil
    ) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.authenticationHeader = authenticationHeader
    }

    public var family: IPAddress.Family { source.family }
}

/// Why an advertisement could not be encoded; names the field at fault.
public struct VRRPEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// A VRRP ADVERTISEMENT, version 2 (RFC 3768 §5.1) or 3 (RFC 5798 §5.1).
///
///     0                   1                   2                   3
///     |Version| Type  | Virtual Rtr ID|   Priority    | Count Addrs   |
///     v2: |   Auth Type   |   Adver Int   |          Checksum         |
///     v3: |(rsvd) |     Max Adver Int     |          Checksum         |
///     IPv4 or IPv6 addresses; v2 only: 8 bytes of Authentication Data
public struct VRRPAdvertisement: Hashable, Sendable {
    /// The Type of an ADVERTISEMENT, the only type VRRP defines (RFC 5798 §5.2.2).
    public static let advertisementType: UInt8 = 1
    /// The fixed part before the addresses.
    public static let headerLength = 8

    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    /// 0 means the master is resigning (RFC 5798 §5.2.4); 255 is the address owner.
    public var priority: UInt8
    /// The interval field as sent: whole seconds in v2 (8 bits), centiseconds in v3 (12 bits).
    public var rawAdvertisementInterval: UInt16
    /// Always `.none` in v3.
    public var authentication: VRRPAuthentication
    /// The virtual addresses, all of the packet's IP family.
    public var addresses: [IPAddress]

    public init(
        version: VRRPVersion,
        virtualRouterID: UInt8,
        priority: UInt8,
        rawAdvertisementInterval: UInt16,
        authentication: VRRPAuthentication = .none,
        addresses: [IPAddress]
    ) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.rawAdvertisementInterval = rawAdvertisementInterval
        self.authentication = authentication
        self.addresses = addresses
    }

    /// An advertisement whose interval field is `advertisementInterval` rounded to the version's unit.
    public init(
        version: VRRPVersion,
        virtualRouterID: UInt8,
        priority: UInt8,
        advertisementInterval: Duration,
        authentication: VRRPAuthentication = .none,
        addresses: [IPAddress]
    ) {
        self.init(
            version: version,
            virtualRouterID: virtualRouterID,
            priority: priority,
            rawAdvertisementInterval: version.rawAdvertisementInterval(for: advertisementInterval),
            authentication: authentication,
            addresses: addresses
        )
    }

    /// The advertisement interval the packet carries.
    public var advertisementInterval: Duration { version.advertisementInterval(raw: rawAdvertisementInterval) }

    /// Whether 8 bytes of Authentication Data follow the addresses (RFC 3768 §5.3.10: v2 always has them).
    private static func carriesAuthenticationData(_ version: VRRPVersion) -> Bool { version == .v2 }

    /// The length of the whole VRRP message for `count` addresses of `family`.
    static func messageLength(version: VRRPVersion, family: IPAddress.Family, count: Int) -> Int {
        let addressLength = family == .ipv4 ? 4 : 16
        let authentication = carriesAuthenticationData(version) ? VRRPAuthentication.dataLength : 0
        return headerLength + count * addressLength + authentication
    }

    // MARK: Encoding

    /// The VRRP message, checksum filled in.
    ///
    /// - Parameters:
    ///   - source: the IP source address the packet is sent from; v3 sums it in the pseudo-header.
    ///   - destination: the IP destination (the multicast group or a unicast peer); v3 sums it too.
    /// - Throws: `VRRPEncodingError` when the fields do not fit the version (mixed families, more than 255
    ///   addresses, an interval beyond the field, authentication in v3, IPv6 in v2).
    public func encoded(source: IPAddress, destination: IPAddress) throws(VRRPEncodingError) -> [UInt8] {
        let family = source.family
        guard destination.family == family else {
            throw VRRPEncodingError(description: "source \(source) and destination \(destination) differ in family")
        }
        if let stranger = addresses.first(where: { $0.family != family }) {
            throw VRRPEncodingError(description: "address \(stranger) is not of the packet's family (\(family))")
        }
        guard addresses.count <= 255 else {
            throw VRRPEncodingError(description: "\(addresses.count) addresses; a packet carries at most 255")
        }
        guard rawAdvertisementInterval <= version.maximumRawAdvertisementInterval else {
            throw VRRPEncodingError(description: "advertisement interval \(rawAdvertisementInterval) exceeds the field")
        }
        if version == .v2 && family == .ipv6 {
            throw VRRPEncodingError(description: "VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
        }
        if version == .v3 && authentication != .none {
            throw VRRPEncodingError(description: "VRRPv3 has no authentication (RFC 5798 §9)")
        }

        var message: [UInt8] = []
        message.reserveCapacity(Self.messageLength(version: version, family: family, count: addresses.count))
        message.append(version.rawValue << 4 | Self.advertisementType)
        message.append(virtualRouterID)
        message.append(priority)
        message.append(UInt8(addresses.count))
        switch version {
        case .v2:
            message.append(authentication.typeCode)  // RFC 3768 §5.3.6
            message.append(UInt8(rawAdvertisementInterval))  // RFC 3768 §5.3.7
        case .v3:
            // RFC 5798 §5.2.5-6: 4 reserved bits (zero), then 12 bits of centiseconds.
            message.append(UInt8(rawAdvertisementInterval >> 8 & 0x0f))
            message.append(UInt8(rawAdvertisementInterval & 0xff))
        }
        message.append(contentsOf: [0, 0])
        for address in addresses {
            message.append(contentsOf: address.bytes)
        }
        if Self.carriesAuthenticationData(version) {
            message.append(contentsOf: authentication.data)  // RFC 3768 §5.3.10
        }
        let checksum = Self.checksum(of: message, version: version, source: source, destination: destination)
        message[6] = UInt8(checksum >> 8)
        message[7] = UInt8(checksum & 0xff)
        return message
    }

    /// RFC 3768 §5.3.8 (v2: the message alone) and RFC 5798 §5.2.8 (v3: with the IPv4 or IPv6 pseudo-header
    /// of RFC 2460 §8.1 / RFC 768, protocol 112).
    static func checksum(
        of message: some Collection<UInt8>,
        version: VRRPVersion,
        source: IPAddress,
        destination: IPAddress
    ) -> UInt16 {
        var checksum = InternetChecksum()
        if version == .v3 {
            let length = UInt32(message.count)
            checksum.add(source.bytes)
            checksum.add(destination.bytes)
            switch source.family {
            case .ipv4:
                checksum.add([0, vrrpIPProtocol, UInt8(length >> 8 & 0xff), UInt8(length & 0xff)])
            case .ipv6:
                checksum.add([UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff)])
                checksum.add([UInt8(length & 0xff), 0, 0, 0, vrrpIPProtocol])
            }
        }
        checksum.add(message)
        return checksum.value
    }

    // MARK: Decoding

    /// Decodes a VRRP message, checking what needs no instance configuration, in RFC 5798 §7.1 order:
    /// version, type, that the whole message is there (and nothing after it), checksum.
    ///
    /// - Parameters:
    ///   - message: the VRRP message alone (for IPv4 raw sockets, strip the IP header first with
    ///     `IPv4Header.strip(_:)`).
    ///   - packet: the IP facts; the family decides the address size, v3 sums the addresses in its checksum.
    ///   - expectedVersion: when given, a well-formed header of the other version fails the version check first.
    /// - Throws: `VRRPReceiveFailure` with check `.length`, `.version`, `.type` or `.checksum`.
    public init(
        decoding message: some Collection<UInt8>,
        packet: VRRPPacketInfo,
        expectedVersion: VRRPVersion? = nil
    ) throws(VRRPReceiveFailure) {
        let bytes = Array(message)
        guard bytes.count >= Self.headerLength else {
            throw VRRPReceiveFailure(.length, "packet of \(bytes.count) bytes is shorter than the VRRP header (8)")
        }
        guard let version = VRRPVersion(rawValue: bytes[0] >> 4) else {
            throw VRRPReceiveFailure(.version, "unknown VRRP version \(bytes[0] >> 4)")
        }
        if let expectedVersion, expectedVersion != version {
            throw VRRPReceiveFailure(.version, "VRRP version \(version.rawValue), expected \(expectedVersion.rawValue)")
        }
        if version == .v2 && packet.family == .ipv6 {
            throw VRRPReceiveFailure(.version, "VRRP version 2 over IPv6 (RFC 3768 is IPv4 only)")
        }
        guard bytes[0] & 0x0f == Self.advertisementType else {
            throw VRRPReceiveFailure(.type, "VRRP packet type \(bytes[0] & 0x0f), expected 1 (ADVERTISEMENT)")
        }
        let count = Int(bytes[3])
        let expectedLength = Self.messageLength(version: version, family: packet.family, count: count)
        guard bytes.count == expectedLength else {
            let what = bytes.count < expectedLength ? "truncated" : "too long"
            throw VRRPReceiveFailure(
                .length,
                "packet \(what): \(bytes.count) bytes, \(count) addresses need \(expectedLength)"
            )
        }
        let checksum = Self.checksum(
            of: bytes,
            version: version,
            source: packet.source,
            destination: packet.destination
        )
        guard checksum == 0 else {
            let received = UInt16(bytes[6]) << 8 | UInt16(bytes[7])
            throw VRRPReceiveFailure(.checksum, "bad checksum \(hex(received))")
        }

        let addressLength = packet.family == .ipv4 ? 4 : 16
        var addresses: [IPAddress] = []
        addresses.reserveCapacity(count)
        for index in 0..<count {
            let start = Self.headerLength + index * addressLength
            // The slice is always 4 or 16 bytes, so the address always exists.
            addresses.append(IPAddress(bytes: Array(bytes[start..<start + addressLength]))!)
        }
        let authenticationStart = Self.headerLength + count * addressLength
        switch version {
        case .v2:
            self.rawAdvertisementInterval = UInt16(bytes[5])
            self.authentication = VRRPAuthentication(typeCode: bytes[4], data: bytes[authenticationStart...])
        case .v3:
            self.rawAdvertisementInterval = (UInt16(bytes[4]) << 8 | UInt16(bytes[5])) & 0x0fff
            self.authentication = .none
        }
        self.version = version
        self.virtualRouterID = bytes[1]
        self.priority = bytes[2]
        self.addresses = addresses
    }
}

func hex(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
}
