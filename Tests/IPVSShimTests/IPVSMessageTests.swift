import Config
import Netlink
import Testing

@testable import IPVSShim

/// Wire images checked by hand against include/uapi/linux/ip_vs.h and the kernel's `ip_vs_*_policy`, on a
/// little-endian host (x86_64, aarch64): host-order integers are little endian, ports and IPv4 masks big endian.
@Suite("IPVS request bytes")
struct IPVSMessageTests {
    let web = IPVSServiceKey.address(ip("192.0.2.100"), port: 80, protocol: .tcp)

    @Test("NEW_SERVICE for TCP 192.0.2.100:80 wlc")
    func newServiceIPv4() {
        let bytes = IPVSMessage.newService(IPVSService(key: web, scheduler: "wlc"), sequence: 1, family: testFamily)
        let expected = hex(
            """
            68 00 00 00  1c 00  05 00  01 00 00 00  00 00 00 00
            01 01 00 00
            54 00 01 80
              06 00 01 00  02 00 00 00
              06 00 02 00  06 00 00 00
              14 00 03 00  c0 00 02 64  00 00 00 00  00 00 00 00  00 00 00 00
              06 00 04 00  00 50 00 00
              08 00 06 00  77 6c 63 00
              0c 00 07 00  00 00 00 00  ff ff ff ff
              08 00 08 00  00 00 00 00
              08 00 09 00  ff ff ff ff
            """)
        #expect(bytes == expected)
    }

    @Test("NEW_SERVICE with persistence, a /24 netmask in network order, and the hashed flag never sent")
    func persistentServiceIPv4() {
        let service = IPVSService(
            key: web, scheduler: "rr", flags: [.persistent, .hashed, .onePacket], timeout: 300, netmask: 0xffff_ff00)
        let bytes = IPVSMessage.newService(service, sequence: 9, family: testFamily)
        // 20 header bytes, the nest header, AF, PROTOCOL, ADDR, PORT, SCHED_NAME "rr": FLAGS start at 76.
        #expect(
            Array(bytes[76...])
                == hex("0c 00 07 00  05 00 00 00  ff ff ff ff  08 00 08 00  2c 01 00 00  08 00 09 00  ff ff ff 00"))
    }

    @Test("SET_SERVICE for FWM 7 IPv6: sh with sh-port, pe sip, prefix length in host order")
    func fwmarkServiceIPv6() {
        let service = IPVSService(
            key: .firewallMark(7, family: .ipv6), scheduler: "sh", flags: [.persistent, .shPort], timeout: 300,
            netmask: 64, persistenceEngine: "sip")
        let bytes = IPVSMessage.setService(service, sequence: 2, family: testFamily)
        let expected = hex(
            """
            54 00 00 00  1c 00  05 00  02 00 00 00  00 00 00 00
            02 01 00 00
            40 00 01 80
              06 00 01 00  0a 00 00 00
              08 00 05 00  07 00 00 00
              07 00 06 00  73 68 00 00
              08 00 0b 00  73 69 70 00
              0c 00 07 00  11 00 00 00  ff ff ff ff
              08 00 08 00  2c 01 00 00
              08 00 09 00  40 00 00 00
            """)
        #expect(bytes == expected)
    }

    @Test("DEL_SERVICE carries only the key")
    func deleteService() {
        let bytes = IPVSMessage.deleteService(.firewallMark(1, family: .ipv4), sequence: 3, family: testFamily)
        #expect(
            bytes
                == hex(
                    "28 00 00 00 1c 00 05 00 03 00 00 00 00 00 00 00  03 01 00 00  14 00 01 80  06 00 01 00 02 00 00 00  08 00 05 00 01 00 00 00"
                ))
    }

    @Test("NEW_DEST 192.0.2.11:80 DR weight 1 in TCP 192.0.2.100:80")
    func newDestinationIPv4() {
        let destination = IPVSDestination(address: ip("192.0.2.11"), port: 80, forwarding: .directRouting, weight: 1)
        let bytes = IPVSMessage.newDestination(destination, service: web, sequence: 4, family: testFamily)
        let expected = hex(
            """
            8c 00 00 00  1c 00  05 00  04 00 00 00  00 00 00 00
            05 01 00 00
            30 00 01 80
              06 00 01 00  02 00 00 00
              06 00 02 00  06 00 00 00
              14 00 03 00  c0 00 02 64  00 00 00 00  00 00 00 00  00 00 00 00
              06 00 04 00  00 50 00 00
            48 00 02 80
              14 00 01 00  c0 00 02 0b  00 00 00 00  00 00 00 00  00 00 00 00
              06 00 02 00  00 50 00 00
              06 00 0b 00  02 00 00 00
              08 00 03 00  03 00 00 00
              08 00 04 00  01 00 00 00
              08 00 05 00  00 00 00 00
              08 00 06 00  00 00 00 00
            """)
        #expect(bytes == expected)
    }

    @Test("SET_DEST [2001:db8::11]:443 tunnel GUE port 6080 csum in TCP [2001:db8::1]:443")
    func setDestinationIPv6Tunnel() {
        let service = IPVSServiceKey.address(ip("2001:db8::1"), port: 443, protocol: .tcp)
        let destination = IPVSDestination(
            address: ip("2001:db8::11"), port: 443, forwarding: .tunnel, weight: 100,
            tunnel: IPVSTunnel(type: .gue, port: 6080, flags: .checksum))
        let bytes = IPVSMessage.setDestination(destination, service: service, sequence: 5, family: testFamily)
        let expected = hex(
            """
            a4 00 00 00  1c 00  05 00  05 00 00 00  00 00 00 00
            06 01 00 00
            30 00 01 80
              06 00 01 00  0a 00 00 00
              06 00 02 00  06 00 00 00
              14 00 03 00  20 01 0d b8  00 00 00 00  00 00 00 00  00 00 00 01
              06 00 04 00  01 bb 00 00
            60 00 02 80
              14 00 01 00  20 01 0d b8  00 00 00 00  00 00 00 00  00 00 00 11
              06 00 02 00  01 bb 00 00
              06 00 0b 00  0a 00 00 00
              08 00 03 00  02 00 00 00
              08 00 04 00  64 00 00 00
              08 00 05 00  00 00 00 00
              08 00 06 00  00 00 00 00
              05 00 0d 00  01 00 00 00
              06 00 0e 00  17 c0 00 00
              06 00 0f 00  01 00 00 00
            """)
        #expect(bytes == expected)
    }

    @Test("DEL_DEST carries address, port and family only")
    func deleteDestination() {
        let key = IPVSDestinationKey(service: .firewallMark(1, family: .ipv4), address: ip("10.0.0.1"), port: 0)
        let bytes = IPVSMessage.deleteDestination(key, sequence: 6, family: testFamily)
        #expect(bytes.count == 16 + 4 + (4 + 8 + 8) + (4 + 20 + 8 + 8))
        #expect(
            bytes[20...].starts(with: hex("14 00 01 80 06 00 01 00 02 00 00 00 08 00 05 00 01 00 00 00 28 00 02 80")))
        #expect(bytes.suffix(16) == hex("06 00 02 00 00 00 00 00 06 00 0b 00 02 00 00 00")[...])
    }

    @Test("NEW_DAEMON master on eth0: group in network order, port in host order")
    func newDaemon() {
        let daemon = IPVSSyncDaemon(
            state: .master, interface: "eth0", syncID: 7, maximumLength: 1472, group: ip("224.0.0.81"), port: 8848,
            ttl: 1)
        let bytes = IPVSMessage.newDaemon(daemon, sequence: 7, family: testFamily)
        let expected = hex(
            """
            54 00 00 00  1c 00  05 00  07 00 00 00  00 00 00 00
            09 01 00 00
            40 00 03 80
              08 00 01 00  01 00 00 00
              09 00 02 00  65 74 68 30  00 00 00 00
              08 00 03 00  07 00 00 00
              06 00 04 00  c0 05 00 00
              08 00 05 00  e0 00 00 51
              06 00 07 00  90 22 00 00
              05 00 08 00  01 00 00 00
            """)
        #expect(bytes == expected)
    }

    @Test("NEW_DAEMON with an IPv6 group, DEL_DAEMON with the state only")
    func daemonIPv6AndDelete() {
        let daemon = IPVSSyncDaemon(state: .backup, interface: "bond0", syncID: 1, group: ip("ff02::81"))
        let bytes = IPVSMessage.newDaemon(daemon, sequence: 8, family: testFamily)
        #expect(bytes.suffix(20) == hex("14 00 06 00 ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 81")[...])
        let stop = IPVSMessage.deleteDaemon(.backup, sequence: 8, family: testFamily)
        #expect(
            stop
                == hex(
                    "20 00 00 00 1c 00 05 00 08 00 00 00 00 00 00 00 0a 01 00 00 0c 00 03 80 08 00 01 00 02 00 00 00"))
    }

    @Test("SET_CONFIG with the three timeouts")
    func setConfig() {
        let bytes = IPVSMessage.setConfig(
            IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300), sequence: 10, family: testFamily)
        let expected = hex(
            """
            2c 00 00 00  1c 00  05 00  0a 00 00 00  00 00 00 00
            0c 01 00 00
            08 00 04 00  84 03 00 00
            08 00 05 00  78 00 00 00
            08 00 06 00  2c 01 00 00
            """)
        #expect(bytes == expected)
    }

    @Test("Dumps use NLM_F_REQUEST|NLM_F_DUMP; GET_DEST names its service; ZERO and FLUSH are bare")
    func dumpsAndBareCommands() {
        let services = IPVSMessage.getServices(family: testFamily).encode(sequence: 11)
        #expect(services == hex("14 00 00 00 1c 00 01 03 0b 00 00 00 00 00 00 00 04 01 00 00"))
        let destinations = IPVSMessage.getDestinations(of: web, family: testFamily).encode(sequence: 12)
        #expect(destinations[4..<8] == hex("1c 00 01 03")[...])
        #expect(destinations[16] == 8)
        #expect(destinations.count == 20 + 48)
        #expect(IPVSMessage.getDaemons(family: testFamily).encode(sequence: 1)[16] == 11)
        #expect(IPVSMessage.getConfig(family: testFamily).encode(sequence: 1)[6] == 0x05)
        #expect(IPVSMessage.getInfo(family: testFamily).encode(sequence: 1)[16] == 15)
        #expect(IPVSMessage.flush(sequence: 13, family: testFamily).count == 20)
        #expect(IPVSMessage.flush(sequence: 13, family: testFamily)[16] == 17)
        #expect(IPVSMessage.zero(nil, sequence: 14, family: testFamily).count == 20)
        #expect(IPVSMessage.zero(web, sequence: 14, family: testFamily).count == 20 + 48)
    }

    @Test("Every command number matches the uapi enum")
    func commandNumbers() {
        #expect(IPVSGenericNetlink.Command.allCases.map(\.rawValue) == Array(1...17))
    }

    @Test("Operations name their object for error messages")
    func operationDescriptions() {
        let destination = IPVSDestination(address: ip("192.0.2.11"), port: 80)
        #expect(
            IPVSOperation.addDestination(destination, service: web).description
                == "adding real server 192.0.2.11:80 to TCP 192.0.2.100:80")
        #expect(
            IPVSOperation.deleteService(.address(ip("2001:db8::1"), port: 53, protocol: .udp)).description
                == "removing virtual server UDP [2001:db8::1]:53")
        #expect(
            IPVSOperation.editService(IPVSService(key: .firewallMark(3, family: .ipv4), scheduler: "rr")).description
                == "updating virtual server FWM 3")
    }
}
