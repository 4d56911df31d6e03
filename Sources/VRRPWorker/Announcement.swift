import Config

/// The frames a new master sends so neighbours learn that its virtual addresses moved: a gratuitous ARP for
/// IPv4 and an unsolicited neighbour advertisement for IPv6. Pure: bytes in, bytes out; the socket is `Announcer`.
public enum Announcement {
    /// The Ethernet broadcast address.
    public static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    /// `ETH_P_ARP`, `ETH_P_IPV6`.
    public static let arpEthertype: UInt16 = 0x0806
    public static let ipv6Ethertype: UInt16 = 0x86dd
    /// ff02::1, the all-nodes multicast group (RFC 4291 §2.7.1).
    public static let allNodes: [UInt8] = [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]

    /// A gratuitous ARP request as keepalived sends it: Ethernet broadcast from `hardwareAddress`, opcode 1,
    /// sender and target protocol address both `address`, target hardware address all ones. 42 bytes.
    /// - Parameters:
    ///   - address: 4 bytes, network order.
    ///   - hardwareAddress: 6 bytes.
    public static func gratuitousARP(address: [UInt8], hardwareAddress: [UInt8]) -> [UInt8] {
        precondition(address.count == 4 && hardwareAddress.count == 6)
        var frame = broadcast + hardwareAddress + bigEndian(arpEthertype)
        frame += bigEndian(UInt16(1))  // ARPHRD_ETHER
        frame += bigEndian(UInt16(0x0800))  // ETH_P_IP
        frame += [6, 4]
        frame += bigEndian(UInt16(1))  // ARPOP_REQUEST
        frame += hardwareAddress + address + broadcast + address
        return frame
    }

    /// An unsolicited neighbour advertisement (RFC 4861 §7.2.6): from `address` to ff02::1 (33:33:00:00:00:01),
    /// hop limit 255 (§7.1.2 requires it), override flag set, router and solicited flags clear, with a target
    /// link-layer address option. Ethernet + IPv6 + 32 bytes of ICMPv6: 86 bytes.
    /// - Parameters:
    ///   - address: 16 bytes, the target and source address.
    ///   - hardwareAddress: 6 bytes.
    public static func unsolicitedNeighborAdvertisement(address: [UInt8], hardwareAddress: [UInt8]) -> [UInt8] {
        precondition(address.count == 16 && hardwareAddress.count == 6)
        // RFC 4861 §4.4: type 136, code 0, checksum, R|S|O flags, reserved, target; §4.6.1 option 2, length 1.
        var icmp: [UInt8] = [136, 0, 0, 0, 0x20, 0, 0, 0] + address + [2, 1] + hardwareAddress
        let checksum = icmpv6Checksum(source: address, destination: allNodes, message: icmp)
        icmp[2] = UInt8(checksum >> 8)
        icmp[3] = UInt8(checksum & 0xff)
        let multicastMAC: [UInt8] = [0x33, 0x33] + allNodes[12..<16]  // RFC 2464 §7
        var frame = multicastMAC + hardwareAddress + bigEndian(ipv6Ethertype)
        frame += [0x60, 0, 0, 0]  // version 6, traffic class 0, flow label 0
        frame += bigEndian(UInt16(icmp.count))
        frame += [58, 255]  // next header ICMPv6, hop limit
        frame += address + allNodes + icmp
        return frame
    }

    /// The ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header and `message` (whose checksum field is zero, or
    /// already set when verifying: then the result is zero).
    public static func icmpv6Checksum(source: [UInt8], destination: [UInt8], message: [UInt8]) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(source)
        sum.add(destination)
        sum.add(bigEndian(UInt32(message.count)))
        sum.add([0, 0, 0, 58])
        sum.add(message)
        return sum.value
    }

    // Concrete overloads: with one generic function, `frame += bigEndian(UInt16(1))` was type-checked with
    // T = Int and wrote 8 bytes (seen on the wire as "ARP, Unknown Hardware (0)").
    private static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
}
