import Config

/// One receive check of RFC 3768 §7.1 / RFC 5798 §7.1 (plus keepalived's unicast source check); each failure
/// is counted on its own so `status` can show which check drops a peer's adverts.
public enum VRRPReceiveCheck: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The IPv4 header of a raw-socket datagram is malformed or not VRRP (not an RFC check: the socket's).
    case ipHeader
    /// The IPv4 TTL or IPv6 hop limit is not 255: the packet crossed a router.
    case hopLimit
    /// Not version 2 or 3, or not the instance's version.
    case version
    /// Not an ADVERTISEMENT (type 1).
    case type
    /// Shorter than the header, truncated before the addresses (or auth data) end, or longer than they say.
    case length
    case checksum
    /// The VRID is not the instance's (on the interface, no instance has it).
    case virtualRouterID
    /// The local router owns the addresses (priority 255); RFC 5798 §7.1 has it discard every advert.
    case addressOwner
    /// v2: the Auth Type differs from the configured one (or is unknown).
    case authenticationType
    /// v2: the simple password does not match.
    case authentication
    /// v2: an auth type Vigil does not know.
    case authenticationUnsupported
    /// v2: the IP Authentication Header is missing, its SPI is not the sender, or its ICV does not verify.
    case authenticationHeader
    /// v2: the Adver Int differs from ours (drop); v3: the Max Adver Int does (a warning: backups learn it).
    case advertisementInterval
    /// The address count or list differs from the configured virtual addresses (a warning unless strict).
    case addressList
    /// keepalived's `vrrp_check_unicast_src`: the source is not one of the `unicast_peer`s.
    case unicastSource

    public var description: String { rawValue }
}

/// A failed receive check: which one, and a message for the log that says what arrived.
public struct VRRPReceiveFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var check: VRRPReceiveCheck
    public var message: String

    public init(_ check: VRRPReceiveCheck, _ message: String) {
        self.check = check
        self.message = message
    }

    public var description: String { "\(check): \(message)" }
}

/// The verdict on one received packet for one instance.
public enum VRRPReceiveResult: Hashable, Sendable {
    /// Hand the advertisement to the state machine; log the warnings (checks RFC 5798 §7.1 lets pass).
    case accepted(VRRPAdvertisement, warnings: [VRRPReceiveFailure])
    /// Discard the packet (RFC 5798 §7.1: "MUST discard the packet, SHOULD log the event").
    case dropped(VRRPReceiveFailure)
}

/// Counters for one instance's received packets, for the status and stats dumps.
public struct VRRPReceiveStatistics: Hashable, Sendable {
    /// Every packet checked.
    public var received: UInt64 = 0
    /// Packets handed to the state machine.
    public var accepted: UInt64 = 0
    /// Accepted advertisements with priority 0 (a master resigning).
    public var priorityZeroReceived: UInt64 = 0
    /// Packets dropped, by the check that dropped them.
    public var dropped: [VRRPReceiveCheck: UInt64] = [:]
    /// Accepted packets that failed a check that only warns, by check.
    public var warnings: [VRRPReceiveCheck: UInt64] = [:]

    public init() {}

    public mutating func record(_ result: VRRPReceiveResult) {
        received += 1
        switch result {
        case .accepted(let advertisement, let failures):
            accepted += 1
            if advertisement.priority == 0 {
                priorityZeroReceived += 1
            }
            for failure in failures {
                warnings[failure.check, default: 0] += 1
            }
        case .dropped(let failure):
            dropped[failure.check, default: 0] += 1
        }
    }
}

/// One instance's receive checks, RFC 3768 §7.1 (v2) and RFC 5798 §7.1 (v3), in the RFCs' order.
public struct VRRPReceiveFilter: Hashable, Sendable {
    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    /// v2 only; compared type first, then the password.
    public var authentication: VRRPAuthentication
    /// The configured advertisement interval (compared in the wire's unit).
    public var advertisementInterval: Duration
    /// The configured virtual addresses (`virtual_ipaddress`) of the instance's family.
    public var virtualAddresses: [IPAddress]
    /// The instance's base priority is 255.
    public var isAddressOwner: Bool
    /// keepalived's `unicast_peer`; empty for multicast.
    public var unicastPeers: [IPAddress]
    /// keepalived's global `vrrp_check_unicast_src`.
    public var checkUnicastSource: Bool
    /// keepalived's `skip_check_adv_addr`: do not compare the addresses of adverts from the current master.
    public var skipCheckAdvertisementAddresses: Bool
    /// keepalived's `strict_mode`: the TTL is checked even with unicast peers, and an address list mismatch
    /// drops the packet (unless it comes from the address owner, RFC 5798 §7.1) instead of warning.
    public var strict: Bool
    /// `auth_type AH`: the HMAC-MD5 key (`AuthenticationHeader.key`).
    public var authenticationHeaderKey: [UInt8]?
    /// `unicast_peer … min_ttl N max_ttl M`: the TTL / hop limit range accepted from each peer.
    public var peerHopLimits: [IPAddress: ClosedRange<UInt8>] = [:]
    /// `old_unicast_checksum`: VRRPv3 IPv4 unicast checksums sum this group (keepalived ≤ 1.3.6), set when configured
    /// or detected.
    public var oldChecksumGroup: IPAddress?
    /// keepalived's default: a unicast advert whose checksum only the old way accepts is taken (with a `.checksum`
    /// warning, on which the engine switches to the old way); the group it would sum.
    public var detectOldChecksumGroup: IPAddress?

    public init(
        version: VRRPVersion,
        virtualRouterID: UInt8,
        authentication: VRRPAuthentication = .none,
        advertisementInterval: Duration = .seconds(1),
        virtualAddresses: [IPAddress],
        isAddressOwner: Bool = false,
        unicastPeers: [IPAddress] = [],
        checkUnicastSource: Bool = false,
        skipCheckAdvertisementAddresses: Bool = false,
        strict: Bool = false
    ) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.authentication = authentication
        self.advertisementInterval = advertisementInterval
        self.virtualAddresses = virtualAddresses
        self.isAddressOwner = isAddressOwner
        self.unicastPeers = unicastPeers
        self.checkUnicastSource = checkUnicastSource
        self.skipCheckAdvertisementAddresses = skipCheckAdvertisementAddresses
        self.strict = strict
    }

    /// Runs every check on a received VRRP message.
    ///
    /// - Parameters:
    ///   - message: the VRRP message (after `IPv4Header.strip(_:)` for IPv4).
    ///   - packet: the IP source, destination and TTL / hop limit.
    ///   - currentMaster: the master the instance follows, for `skip_check_adv_addr`.
    public func check(
        _ message: some Collection<UInt8>,
        packet: VRRPPacketInfo,
        currentMaster: IPAddress? = nil
    ) -> VRRPReceiveResult {
        do throws(VRRPReceiveFailure) {
            let (advertisement, warnings) = try checkedAdvertisement(message, packet, currentMaster)
            return .accepted(advertisement, warnings: warnings)
        } catch {
            return .dropped(error)
        }
    }

    private func checkedAdvertisement(
        _ message: some Collection<UInt8>,
        _ packet: VRRPPacketInfo,
        _ currentMaster: IPAddress?
    ) throws(VRRPReceiveFailure) -> (VRRPAdvertisement, [VRRPReceiveFailure]) {
        // RFC 5798 §7.1: "MUST verify that the IPv4 TTL or IPv6 Hop Limit is 255". keepalived skips it with
        // unicast peers (which may sit behind routers) unless in strict mode.
        if packet.hopLimit != vrrpHopLimit && (unicastPeers.isEmpty || strict) {
            throw VRRPReceiveFailure(.hopLimit, "TTL/hop limit \(packet.hopLimit) from \(packet.source), expected 255")
        }
        // keepalived's `unicast_peer … min_ttl/max_ttl`: a peer whose packets cross routers is held to a range.
        if let range = peerHopLimits[packet.source], !range.contains(packet.hopLimit) {
            throw VRRPReceiveFailure(
                .hopLimit, "TTL/hop limit \(packet.hopLimit) from unicast peer \(packet.source), expected \(range)")
        }
        // RFC 5798 §7.1: version, complete packet, checksum.
        var warnings: [VRRPReceiveFailure] = []
        let advertisement: VRRPAdvertisement
        let oldStyle = version == .v3 && packet.family == .ipv4 && !unicastPeers.isEmpty
        var summed = packet
        if oldStyle, let group = oldChecksumGroup { summed.destination = group }
        do {
            advertisement = try VRRPAdvertisement(decoding: message, packet: summed, expectedVersion: version)
        } catch  where error.check == .checksum && oldStyle && oldChecksumGroup == nil {
            guard let group = detectOldChecksumGroup, group != packet.destination else { throw error }
            summed.destination = group
            advertisement = try VRRPAdvertisement(decoding: message, packet: summed, expectedVersion: version)
            warnings.append(
                VRRPReceiveFailure(.checksum, "\(packet.source) sums \(group) in its checksum (keepalived ≤ 1.3.6)"))
        }
        // RFC 5798 §7.1: "MUST verify that the VRID is configured ... and the local router is not the IPvX
        // address owner".
        guard advertisement.virtualRouterID == virtualRouterID else {
            throw VRRPReceiveFailure(
                .virtualRouterID,
                "VRID \(advertisement.virtualRouterID) from \(packet.source), ours is \(virtualRouterID)"
            )
        }
        if isAddressOwner {
            throw VRRPReceiveFailure(.addressOwner, "advert from \(packet.source) while we own the addresses")
        }
        // RFC 3768 §7.1: "MUST verify that the Auth Type matches ... and perform that authentication method".
        if version == .v2 {
            try checkAuthentication(advertisement.authentication, from: packet.source)
            if let key = authenticationHeaderKey {
                try checkAuthenticationHeader(message, packet: packet, key: key)
            }
        }
        // keepalived: a unicast instance with vrrp_check_unicast_src only hears its peers.
        if checkUnicastSource && !unicastPeers.isEmpty && !unicastPeers.contains(packet.source) {
            throw VRRPReceiveFailure(.unicastSource, "source \(packet.source) is not a unicast peer")
        }
        // RFC 5798 §7.1: "MAY verify that 'Count IPvX Addrs' and the list of IPvX address(es) match". On a
        // mismatch it SHOULD log, and drops unless the sender is the address owner; Vigil drops only in strict
        // mode, so a misconfigured peer cannot make both routers master.
        let fromCurrentMaster = currentMaster == packet.source
        if !(skipCheckAdvertisementAddresses && fromCurrentMaster),
            let mismatch = addressListMismatch(advertisement.addresses, from: packet.source)
        {
            if strict && advertisement.priority != 255 {
                throw mismatch
            }
            warnings.append(mismatch)
        }
        // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as the locally
        // configured". RFC 5798 drops that check: a backup adopts the master's interval (§6.4.2).
        let ours = version.rawAdvertisementInterval(for: advertisementInterval)
        if advertisement.rawAdvertisementInterval != ours {
            let mismatch = VRRPReceiveFailure(
                .advertisementInterval,
                "advertisement interval \(advertisement.advertisementInterval) from \(packet.source), ours is "
                    + "\(version.advertisementInterval(raw: ours))"
            )
            guard version == .v3 else { throw mismatch }
            warnings.append(mismatch)
        }
        return (advertisement, warnings)
    }

    private func checkAuthentication(
        _ received: VRRPAuthentication,
        from source: IPAddress
    ) throws(VRRPReceiveFailure) {
        guard received.typeCode == authentication.typeCode else {
            throw VRRPReceiveFailure(
                .authenticationType,
                "auth type \(received.typeCode) from \(source), expected \(authentication.typeCode)"
            )
        }
        switch received {
        case .ipAuthenticationHeader:
            break  // verified with the AH itself (`checkAuthenticationHeader`)
        case .unknown:
            throw VRRPReceiveFailure(
                .authenticationUnsupported, "auth type \(received.typeCode) from \(source) is not one VRRP has")
        case .simplePassword:
            guard received.data == authentication.data else {
                throw VRRPReceiveFailure(.authentication, "wrong password from \(source)")
            }
        case .none:
            break
        }
    }

    /// keepalived's AH checks: present, SPI the sender's address, ICV verified with the key (replays are the
    /// engine's to refuse: it keeps the last sequence number).
    private func checkAuthenticationHeader(
        _ message: some Collection<UInt8>, packet: VRRPPacketInfo, key: [UInt8]
    ) throws(VRRPReceiveFailure) {
        guard let header = packet.authenticationHeader else {
            throw VRRPReceiveFailure(
                .authenticationHeader, "advert from \(packet.source) without an Authentication Header")
        }
        guard header.spi == packet.source.bytes else {
            throw VRRPReceiveFailure(.authenticationHeader, "AH SPI from \(packet.source) is not its address")
        }
        guard header.verifies(message: message, key: key, unicast: !unicastPeers.isEmpty) else {
            throw VRRPReceiveFailure(
                .authenticationHeader, "AH ICV from \(packet.source) does not verify (wrong auth_pass?)")
        }
    }

    private func addressListMismatch(_ received: [IPAddress], from source: IPAddress) -> VRRPReceiveFailure? {
        if received.count != virtualAddresses.count {
            return VRRPReceiveFailure(
                .addressList,
                "\(received.count) addresses from \(source), \(virtualAddresses.count) configured"
            )
        }
        if let missing = virtualAddresses.first(where: { !received.contains($0) }) {
            return VRRPReceiveFailure(.addressList, "advert from \(source) lacks virtual address \(missing)")
        }
        return nil
    }
}
