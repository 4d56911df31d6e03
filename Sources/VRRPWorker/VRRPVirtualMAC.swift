import Config

/// A virtual MAC interface (keepalived's VMAC, `use_vmac`): a macvlan in private mode over `base` carrying the
/// virtual router MAC of RFC 5798 §7.3, so the virtual addresses on it answer ARP/ND with that MAC and, unless
/// `vmac_xmit_base`, adverts leave from it.
///
/// Private mode matters: a multicast frame from a source MAC that one of the base's macvlans owns is delivered to
/// that macvlan only, so a backup hears a peer's adverts (sent from the same virtual MAC) on its own VMAC.
///
/// `use_ipvlan` makes an ipvlan in L2 mode instead: no MAC of its own (it shares the base's), its own address, and
/// the adverts leave from it; keepalived 2.2.7 leaves the virtual addresses on the base then. Either is put in the
/// VRF its base is enslaved to (keepalived does the same).
public struct VRRPVirtualMAC: Hashable, Sendable, CustomStringConvertible {
    /// What link type carries it.
    public enum Kind: Hashable, Sendable {
        /// `use_vmac`: a private macvlan with `hardwareAddress`.
        case macvlan
        /// `use_ipvlan`: an L2 ipvlan with this mode (`bridge`, `private`, `vepa`); `hardwareAddress` is empty.
        case ipvlan(IPVLAN.Mode)
    }

    public var name: String
    public var kind = Kind.macvlan
    /// `use_ipvlan ADDRESS`: the ipvlan's own address (the adverts' source unless another is configured).
    public var address: IPPrefix?
    /// The interface the macvlan is created over.
    public var base: String
    /// 6 bytes.
    public var hardwareAddress: [UInt8]
    /// The family of the addresses it carries: IPv4 VMACs get keepalived's ARP settings and no IPv6.
    public var family: IPAddress.Family
    /// The IPv6 link-local address put on it so adverts can leave from it (the instance's source address); nil
    /// for IPv4, and with `vmac_xmit_base`.
    public var linkLocal: IPAddress?

    public init(
        name: String, base: String, hardwareAddress: [UInt8], family: IPAddress.Family, linkLocal: IPAddress? = nil
    ) {
        self.name = name
        self.base = base
        self.hardwareAddress = hardwareAddress
        self.family = family
        self.linkLocal = linkLocal
    }

    /// An ipvlan (`use_ipvlan`).
    public static func ipvlan(
        name: String, base: String, mode: IPVLAN.Mode, family: IPAddress.Family, address: IPPrefix?
    ) -> VRRPVirtualMAC {
        var link = VRRPVirtualMAC(name: name, base: base, hardwareAddress: [], family: family)
        link.kind = .ipvlan(mode)
        link.address = address
        return link
    }

    /// "vrrp.51 (00:00:5e:00:01:33 on eth0)", "vrrp.51 (ipvlan l2 bridge on eth0, 192.0.2.10/24)".
    public var description: String {
        switch kind {
        case .macvlan: "\(name) (\(Self.text(hardwareAddress)) on \(base))"
        case .ipvlan(let mode): "\(name) (ipvlan l2 \(mode.rawValue) on \(base)\(address.map { ", \($0)" } ?? ""))"
        }
    }

    /// Whether a link the kernel has is this one: same type (and mode), same base, same MAC for a macvlan.
    public func matches(_ facts: VRRPLinkFacts) -> Bool {
        guard facts.lower == base else { return false }
        switch kind {
        case .macvlan: return facts.isMacvlan && facts.hardwareAddress == hardwareAddress
        case .ipvlan: return facts.isIPVLAN
        }
    }

    /// The link type's name, as `ip -d link` shows it.
    public var linkKind: String {
        switch kind {
        case .macvlan: "macvlan"
        case .ipvlan: "ipvlan"
        }
    }

    /// The longest interface name the kernel takes (`IFNAMSIZ` - 1).
    public static let maximumNameLength = 15

    /// 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6 (RFC 5798 §7.3).
    public static func virtualRouterMAC(family: IPAddress.Family, virtualRouterID: Int) -> [UInt8] {
        [0x00, 0x00, 0x5e, 0x00, family == .ipv4 ? 0x01 : 0x02, UInt8(truncatingIfNeeded: virtualRouterID)]
    }

    /// `use_vmac`'s MAC argument: six octets, or five followed by the VRID (keepalived). nil when absent or not a
    /// MAC (the schema has reported it).
    public static func configuredMAC(_ text: String?, virtualRouterID: Int) -> [UInt8]? {
        guard let text else { return nil }
        let octets = text.split(separator: ":", omittingEmptySubsequences: false).map { UInt8($0, radix: 16) }
        guard octets.allSatisfy({ $0 != nil }) else { return nil }
        let bytes = octets.compactMap { $0 }
        switch bytes.count {
        case 6: return bytes
        case 5: return bytes + [UInt8(truncatingIfNeeded: virtualRouterID)]
        default: return nil
        }
    }

    /// The names keepalived tries for a generated VMAC, in order: `PREFIX.VRID`, then `PREFIXn.VRID` for n = 1, 2, …
    /// (IPv6 tries 6 first), each cut to fit `IFNAMSIZ` by shortening the prefix.
    public static func candidateNames(prefix: String, virtualRouterID: Int, family: IPAddress.Family, count: Int = 64)
        -> [String]
    {
        var numbers: [Int?] = [nil]
        var next = 1
        if family == .ipv6 { numbers.append(6) }
        while numbers.count < count {
            if !(family == .ipv6 && next == 6) { numbers.append(next) }
            next += 1
        }
        return numbers.map { number in
            let suffix = "\(number.map(String.init) ?? "").\(virtualRouterID)"
            return String(prefix.prefix(max(0, maximumNameLength - suffix.count))) + suffix
        }
    }

    /// "00:00:5e:00:01:33".
    public static func text(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

/// What the kernel has under a name a VMAC might take.
public struct VRRPLinkFacts: Hashable, Sendable {
    public var isMacvlan: Bool
    public var isIPVLAN = false
    /// The name of the link it sits on, if any.
    public var lower: String?
    public var hardwareAddress: [UInt8]

    public init(isMacvlan: Bool, isIPVLAN: Bool = false, lower: String?, hardwareAddress: [UInt8]) {
        self.isMacvlan = isMacvlan
        self.isIPVLAN = isIPVLAN
        self.lower = lower
        self.hardwareAddress = hardwareAddress
    }
}
