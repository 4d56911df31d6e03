import Config
import Testing
import VRRPWorker

/// One test per receive check of RFC 3768 §7.1 / RFC 5798 §7.1 and keepalived's unicast source check.
@Suite("VRRP receive checks")
struct VRRPReceiveFilterTests {
    static let source = ip("10.0.0.5")
    static let packet = VRRPPacketInfo(source: source, destination: vrrpIPv4MulticastGroup, hopLimit: 255)
    static let addresses = [ip("10.0.0.1"), ip("10.0.0.2")]

    static let v2Filter = VRRPReceiveFilter(
        version: .v2,
        virtualRouterID: 51,
        authentication: .password("secret"),
        advertisementInterval: .seconds(1),
        virtualAddresses: addresses
    )
    static let v3Filter = VRRPReceiveFilter(
        version: .v3,
        virtualRouterID: 51,
        advertisementInterval: .seconds(1),
        virtualAddresses: addresses
    )

    static func advertisement(
        version: VRRPVersion = .v2,
        virtualRouterID: UInt8 = 51,
        priority: UInt8 = 100,
        interval: Duration = .seconds(1),
        authentication: VRRPAuthentication? = nil,
        addresses: [IPAddress] = addresses
    ) -> VRRPAdvertisement {
        VRRPAdvertisement(
            version: version,
            virtualRouterID: virtualRouterID,
            priority: priority,
            advertisementInterval: interval,
            authentication: authentication ?? (version == .v2 ? .password("secret") : .none),
            addresses: addresses
        )
    }

    static func bytes(_ advertisement: VRRPAdvertisement, packet: VRRPPacketInfo = packet) -> [UInt8] {
        try! advertisement.encoded(source: packet.source, destination: packet.destination)
    }

    /// The check that dropped the packet, or nil when it was accepted.
    static func droppedBy(
        _ filter: VRRPReceiveFilter,
        _ bytes: [UInt8],
        packet: VRRPPacketInfo = packet,
        currentMaster: IPAddress? = nil
    ) -> VRRPReceiveCheck? {
        guard case .dropped(let failure) = filter.check(bytes, packet: packet, currentMaster: currentMaster) else {
            return nil
        }
        return failure.check
    }

    /// The checks that only warned, or nil when the packet was dropped.
    static func warnings(_ filter: VRRPReceiveFilter, _ bytes: [UInt8]) -> [VRRPReceiveCheck]? {
        guard case .accepted(_, let warnings) = filter.check(bytes, packet: packet) else { return nil }
        return warnings.map(\.check)
    }

    @Test func acceptsAGoodAdvertisement() {
        let result = Self.v2Filter.check(Self.bytes(Self.advertisement()), packet: Self.packet)
        #expect(result == .accepted(Self.advertisement(), warnings: []))
        #expect(Self.warnings(Self.v3Filter, Self.bytes(Self.advertisement(version: .v3))) == [])
    }

    @Test func hopLimit() {
        var packet = Self.packet
        packet.hopLimit = 254
        let bytes = Self.bytes(Self.advertisement())
        #expect(Self.droppedBy(Self.v2Filter, bytes, packet: packet) == .hopLimit)
        // keepalived does not check the TTL of unicast adverts, unless in strict mode.
        var unicast = Self.v2Filter
        unicast.unicastPeers = [Self.source]
        #expect(Self.droppedBy(unicast, bytes, packet: packet) == nil)
        unicast.strict = true
        #expect(Self.droppedBy(unicast, bytes, packet: packet) == .hopLimit)
    }

    @Test func version() {
        var bytes = Self.bytes(Self.advertisement())
        bytes[0] = 0x41
        #expect(Self.droppedBy(Self.v2Filter, bytes) == .version)
        // A good VRRPv3 advert on a VRRPv2 instance.
        #expect(Self.droppedBy(Self.v2Filter, Self.bytes(Self.advertisement(version: .v3))) == .version)
    }

    @Test func type() {
        var bytes = Self.bytes(Self.advertisement())
        bytes[0] = 0x22
        #expect(Self.droppedBy(Self.v2Filter, bytes) == .type)
    }

    @Test func length() {
        let bytes = Self.bytes(Self.advertisement())
        #expect(Self.droppedBy(Self.v2Filter, Array(bytes.prefix(7))) == .length)  // shorter than the header
        #expect(Self.droppedBy(Self.v2Filter, Array(bytes.dropLast())) == .length)  // auth data cut short
        #expect(Self.droppedBy(Self.v2Filter, bytes + [0]) == .length)  // more than the count says
        var wrongCount = bytes
        wrongCount[3] = 3  // three addresses announced, two present
        #expect(Self.droppedBy(Self.v2Filter, wrongCount) == .length)
    }

    @Test func checksum() {
        var bytes = Self.bytes(Self.advertisement())
        bytes[11] ^= 0x01
        #expect(Self.droppedBy(Self.v2Filter, bytes) == .checksum)
    }

    @Test func virtualRouterID() {
        #expect(Self.droppedBy(Self.v2Filter, Self.bytes(Self.advertisement(virtualRouterID: 52))) == .virtualRouterID)
    }

    @Test func addressOwner() {
        var owner = Self.v2Filter
        owner.isAddressOwner = true
        #expect(Self.droppedBy(owner, Self.bytes(Self.advertisement())) == .addressOwner)
    }

    @Test func authenticationType() {
        let none = Self.advertisement(authentication: VRRPAuthentication.none)
        #expect(Self.droppedBy(Self.v2Filter, Self.bytes(none)) == .authenticationType)
        let unknown = Self.advertisement(authentication: .unknown(7))
        #expect(Self.droppedBy(Self.v2Filter, Self.bytes(unknown)) == .authenticationType)
    }

    @Test func authentication() {
        let wrong = Self.advertisement(authentication: .password("guess"))
        #expect(Self.droppedBy(Self.v2Filter, Self.bytes(wrong)) == .authentication)
        // Only the first 8 bytes count, as in keepalived's auth_pass.
        let longer = Self.advertisement(authentication: .password("secret"))
        var filter = Self.v2Filter
        filter.authentication = .password("secret\0\0ignored")
        #expect(Self.droppedBy(filter, Self.bytes(longer)) == nil)
    }

    @Test func authenticationUnsupported() {
        // An auth type VRRP never had (3) is dropped as such; AH without its header is the AH check's.
        var filter = Self.v2Filter
        filter.authentication = .unknown(3)
        let odd = Self.advertisement(authentication: .unknown(3))
        #expect(Self.droppedBy(filter, Self.bytes(odd)) == .authenticationUnsupported)
        filter.authentication = .ipAuthenticationHeader
        filter.authenticationHeaderKey = AuthenticationHeader.key("x")
        let ah = Self.advertisement(authentication: .ipAuthenticationHeader)
        #expect(Self.droppedBy(filter, Self.bytes(ah)) == .authenticationHeader)
    }

    @Test func advertisementInterval() {
        // RFC 3768 §7.1: VRRPv2 drops a different Adver Int.
        #expect(
            Self.droppedBy(Self.v2Filter, Self.bytes(Self.advertisement(interval: .seconds(2))))
                == .advertisementInterval)
        // RFC 5798: VRRPv3 accepts it (the backup adopts it); Vigil logs it.
        let v3 = Self.bytes(Self.advertisement(version: .v3, interval: .seconds(2)))
        #expect(Self.warnings(Self.v3Filter, v3) == [.advertisementInterval])
    }

    @Test func addressList() {
        let fewer = Self.bytes(Self.advertisement(addresses: [ip("10.0.0.1")]))
        let other = Self.bytes(Self.advertisement(addresses: [ip("10.0.0.1"), ip("10.0.0.3")]))
        let reordered = Self.bytes(Self.advertisement(addresses: Self.addresses.reversed()))
        #expect(Self.warnings(Self.v2Filter, fewer) == [.addressList])
        #expect(Self.warnings(Self.v2Filter, other) == [.addressList])
        #expect(Self.warnings(Self.v2Filter, reordered) == [])
        var strict = Self.v2Filter
        strict.strict = true
        #expect(Self.droppedBy(strict, other) == .addressList)
        // RFC 5798 §7.1: even strict, the address owner's advert is processed.
        let fromOwner = Self.bytes(Self.advertisement(priority: 255, addresses: [ip("10.0.0.9")]))
        #expect(Self.droppedBy(strict, fromOwner) == nil)
        // skip_check_adv_addr: not compared for the master already followed.
        var skipping = strict
        skipping.skipCheckAdvertisementAddresses = true
        #expect(Self.droppedBy(skipping, other, currentMaster: Self.source) == nil)
        #expect(Self.droppedBy(skipping, other, currentMaster: ip("10.0.0.6")) == .addressList)
    }

    @Test func unicastSource() {
        var filter = Self.v2Filter
        filter.unicastPeers = [ip("10.0.0.6")]
        filter.checkUnicastSource = true
        #expect(Self.droppedBy(filter, Self.bytes(Self.advertisement())) == .unicastSource)
        filter.unicastPeers.append(Self.source)
        #expect(Self.droppedBy(filter, Self.bytes(Self.advertisement())) == nil)
    }

    @Test func priorityZeroIsAcceptedAndCounted() {
        var statistics = VRRPReceiveStatistics()
        let resigning = Self.v2Filter.check(Self.bytes(Self.advertisement(priority: 0)), packet: Self.packet)
        guard case .accepted(let advertisement, _) = resigning else {
            Issue.record("priority 0 advert dropped: \(resigning)")
            return
        }
        #expect(advertisement.priority == 0)
        statistics.record(resigning)
        statistics.record(Self.v2Filter.check([0x21], packet: Self.packet))
        statistics.record(Self.v2Filter.check(Self.bytes(Self.advertisement(addresses: [])), packet: Self.packet))
        #expect(statistics.received == 3)
        #expect(statistics.accepted == 2)
        #expect(statistics.priorityZeroReceived == 1)
        #expect(statistics.dropped == [.length: 1])
        #expect(statistics.warnings == [.addressList: 1])
    }

    @Test func version3OverIPv6() {
        let packet = VRRPPacketInfo(source: ip("fe80::5"), destination: vrrpIPv6MulticastGroup, hopLimit: 255)
        let addresses = [ip("fe80::100"), ip("2001:db8::100")]
        let filter = VRRPReceiveFilter(version: .v3, virtualRouterID: 51, virtualAddresses: addresses)
        let bytes = Self.bytes(Self.advertisement(version: .v3, addresses: addresses), packet: packet)
        #expect(Self.droppedBy(filter, bytes, packet: packet) == nil)
        var limited = packet
        limited.hopLimit = 1
        #expect(Self.droppedBy(filter, bytes, packet: limited) == .hopLimit)
    }

    @Test func oldUnicastChecksumDetectedConfiguredOrRefused() {
        let unicast = VRRPPacketInfo(source: Self.source, destination: ip("10.0.0.9"), hopLimit: 255)
        let advertisement = Self.advertisement(version: .v3)
        // keepalived ≤ 1.3.6: the multicast group in the pseudo-header, sent to the peer.
        let old = try! advertisement.encoded(source: Self.source, destination: vrrpIPv4MulticastGroup)
        let new = Self.bytes(advertisement, packet: unicast)
        var filter = Self.v3Filter
        filter.unicastPeers = [Self.source]
        // old_unicast_checksum never: the RFC's only.
        #expect(Self.droppedBy(filter, old, packet: unicast) == .checksum)
        #expect(Self.droppedBy(filter, new, packet: unicast) == nil)
        // The default: the old one accepted with a warning the engine switches on.
        filter.detectOldChecksumGroup = vrrpIPv4MulticastGroup
        guard case .accepted(_, let warnings) = filter.check(old, packet: unicast, currentMaster: nil) else {
            Issue.record("the old checksum was not accepted")
            return
        }
        #expect(warnings.map(\.check) == [.checksum])
        guard case .accepted(_, let none) = filter.check(new, packet: unicast, currentMaster: nil) else {
            Issue.record("the RFC's checksum was not accepted")
            return
        }
        #expect(none.isEmpty)
        // old_unicast_checksum (or detected): the old one only.
        filter.oldChecksumGroup = vrrpIPv4MulticastGroup
        #expect(Self.droppedBy(filter, old, packet: unicast) == nil)
        #expect(Self.droppedBy(filter, new, packet: unicast) == .checksum)
        // Multicast instances are not concerned.
        var multicast = Self.v3Filter
        multicast.detectOldChecksumGroup = vrrpIPv4MulticastGroup
        #expect(Self.droppedBy(multicast, old, packet: unicast) == .checksum)
    }
}
