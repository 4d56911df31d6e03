import Config

/// The IP protocol number of VRRP (RFC 5798 §5.1.1.4).
public let vrrpIPProtocol: UInt8 = 112

/// The IP protocol number of the IP Authentication Header (RFC 4302), used by VRRPv2 auth type 2.
public let authenticationHeaderIPProtocol: UInt8 = 51

/// The TTL / hop limit every VRRP packet is sent with and must arrive with (RFC 5798 §5.1.1.3, §5.1.2.3).
public let vrrpHopLimit: UInt8 = 255

/// The IPv4 multicast group of VRRP, 224.0.0.18 (RFC 5798 §5.1.1.2).
public let vrrpIPv4MulticastGroup = IPAddress.v4(0xe000_0012)

/// The IPv6 multicast group of VRRP, ff02::12 (RFC 5798 §5.1.2.2).
public let vrrpIPv6MulticastGroup = IPAddress.v6([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12])

extension Duration {
    /// The duration in whole microseconds, truncated: keepalived keeps its VRRP timers in microseconds.
    var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

extension IPAddress {
    /// Compares two addresses as unsigned integers in network byte order, as RFC 5798 §6.4.3 compares
    /// primary addresses; `nil` when the families differ.
    static func compareNumerically(_ lhs: IPAddress, _ rhs: IPAddress) -> Int? {
        guard lhs.family == rhs.family else { return nil }
        for (left, right) in zip(lhs.bytes, rhs.bytes) where left != right {
            return left < right ? -1 : 1
        }
        return 0
    }
}
