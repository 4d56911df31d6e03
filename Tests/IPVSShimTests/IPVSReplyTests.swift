import Config
import Netlink
import Testing

@testable import IPVSShim

@Suite("IPVS replies")
struct IPVSReplyTests {
    let web = IPVSService(key: .address(ip("192.0.2.100"), port: 80, protocol: .tcp), scheduler: "wlc")
    let dns = IPVSService(
        key: .address(ip("2001:db8::1"), port: 53, protocol: .udp), scheduler: "rr", flags: .persistent, timeout: 60,
        netmask: 64)
    let marked = IPVSService(
        key: .firewallMark(7, family: .ipv4), scheduler: "sh", flags: [.persistent, .shFallback], timeout: 300,
        netmask: 0xffff_ff00, persistenceEngine: "sip")

    func collect(_ datagrams: [[UInt8]], sequence: UInt32, style: NetlinkTransaction.Style = .dump) throws
        -> [NetlinkMessage]
    {
        var transaction = NetlinkTransaction(sequence: sequence, style: style, operation: "listing virtual servers")
        for (index, datagram) in datagrams.enumerated() {
            let progress = try transaction.receive(datagram)
            if case .finished(let messages) = progress {
                #expect(index == datagrams.count - 1, "finished before the last datagram")
                return messages
            }
        }
        Issue.record("transaction did not finish")
        return []
    }

    @Test("A multi-part service dump over two datagrams, ended by NLMSG_DONE")
    func multiPartServiceDump() throws {
        let first =
            KernelReply.message(.newService, KernelReply.service(web, connections: 123), sequence: 5)
            + KernelReply.message(.newService, KernelReply.service(dns), sequence: 5)
        let second =
            KernelReply.message(.newService, KernelReply.service(marked), sequence: 5) + KernelReply.done(sequence: 5)
        let services = try IPVSReply.services(collect([first, second], sequence: 5))
        #expect(services.count == 3)
        #expect(services.map(\.key) == [web.key, dns.key, marked.key])
        #expect(services[0].hasSameSettings(as: web))
        #expect(services[0].flags.contains(.hashed))
        #expect(services[0].statistics?.connections == 123)
        #expect(services[0].statistics?.incomingBytes == 1000)
        #expect(services[0].statistics?.outgoingByteRate == 5)
        #expect(services[1].hasSameSettings(as: dns))
        #expect(services[1].netmask == 64)
        #expect(services[2].hasSameSettings(as: marked))
        #expect(services[2].netmask == 0xffff_ff00)
        #expect(services[2].persistenceEngine == "sip")
    }

    @Test("Only 32-bit STATS (kernels before 4.1) still gives statistics")
    func narrowStatistics() throws {
        var attributes = KernelReply.service(web, connections: 9)
        guard case .bytes(let nest) = attributes[0].value,
            let list = try? NetlinkAttributeList(parsing: nest[...])
        else { throw Failure() }
        let kept = list.entries.filter { $0.type != IPVSGenericNetlink.ServiceAttribute.statistics64 }
            .map { NetlinkAttribute.bytes($0.type, Array($0.payload)) }
        attributes = [KernelReply.nest(IPVSGenericNetlink.CommandAttribute.service, kept)]
        let messages = try collect(
            [KernelReply.message(.newService, attributes, sequence: 1) + KernelReply.done(sequence: 1)], sequence: 1)
        #expect(try IPVSReply.services(messages)[0].statistics?.connections == 9)
    }

    @Test("Destinations: IPv4, IPv6, tunnel options, counters")
    func destinationDump() throws {
        let real = IPVSDestination(address: ip("192.0.2.11"), port: 80, forwarding: .directRouting, weight: 5)
        let tunnelled = IPVSDestination(
            address: ip("2001:db8::11"), port: 80, forwarding: .tunnel, weight: 1, upperThreshold: 100,
            lowerThreshold: 10, tunnel: IPVSTunnel(type: .gue, port: 6080, flags: [.checksum, .remoteChecksum]))
        let datagram =
            KernelReply.message(.newDestination, KernelReply.destination(real, active: 3, inactive: 12), sequence: 2)
            + KernelReply.message(.newDestination, KernelReply.destination(tunnelled), sequence: 2)
            + KernelReply.done(sequence: 2)
        let destinations = try IPVSReply.destinations(collect([datagram], sequence: 2), serviceFamily: .ipv4)
        #expect(destinations.count == 2)
        #expect(destinations[0].hasSameSettings(as: real))
        #expect(destinations[0].activeConnections == 3)
        #expect(destinations[0].inactiveConnections == 12)
        #expect(destinations[0].statistics?.connections == 3)
        #expect(destinations[1].address == ip("2001:db8::11"))
        #expect(destinations[1].hasSameSettings(as: tunnelled))
        #expect(destinations[1].tunnel == tunnelled.tunnel)
    }

    @Test("Round trip: what we send parses back to the same settings")
    func roundTrip() throws {
        for service in [web, dns, marked] {
            let request = IPVSMessage.request(for: .addService(service), family: testFamily)
            let bytes = request.encode(sequence: 1)
            let reply = try GenericNetlinkReply(NetlinkMessage.parseAll(bytes)[0])
            let nest = try #require(
                try reply.attributes.nested(IPVSGenericNetlink.CommandAttribute.service, context: "svc"))
            #expect(nest.context == "command 1 > svc")
            #expect(try IPVSReply.service(nest).hasSameSettings(as: service))
        }
        let destination = IPVSDestination(
            address: ip("2001:db8::5"), port: 8080, forwarding: .tunnel, weight: 7, upperThreshold: 9,
            lowerThreshold: 2, tunnel: IPVSTunnel(type: .gre, flags: .checksum))
        let bytes = IPVSMessage.newDestination(destination, service: dns.key, sequence: 1, family: testFamily)
        let reply = try GenericNetlinkReply(NetlinkMessage.parseAll(bytes)[0])
        let nest = try #require(
            try reply.attributes.nested(IPVSGenericNetlink.CommandAttribute.destination, context: "dest"))
        #expect(try IPVSReply.destination(nest, serviceFamily: .ipv6).hasSameSettings(as: destination))
    }

    @Test("Sync daemons, timeouts and info")
    func daemonsConfigInfo() throws {
        typealias A = IPVSGenericNetlink.DaemonAttribute
        let daemon = KernelReply.nest(
            IPVSGenericNetlink.CommandAttribute.daemon,
            [
                .u32(A.state, 2), .string(A.multicastInterface, "eth1"), .u32(A.syncID, 9),
                .u16(A.syncMaximumLength, 1472), .u16(A.multicastPort, 8848), .u8(A.multicastTTL, 1),
                .be32(A.multicastGroup, 0xe000_0051),
            ])
        let daemons = try IPVSReply.daemons(
            collect(
                [KernelReply.message(.newDaemon, [daemon], sequence: 3) + KernelReply.done(sequence: 3)], sequence: 3))
        #expect(
            daemons == [
                IPVSSyncDaemon(
                    state: .backup, interface: "eth1", syncID: 9, maximumLength: 1472, group: ip("224.0.0.81"),
                    port: 8848, ttl: 1)
            ])

        typealias C = IPVSGenericNetlink.CommandAttribute
        let config =
            KernelReply.message(
                .setConfig, [.u32(C.timeoutTCP, 900), .u32(C.timeoutTCPFin, 120), .u32(C.timeoutUDP, 300)], sequence: 4,
                flags: []) + KernelReply.error(errno: 0, sequence: 4)
        #expect(
            try IPVSReply.timeouts(collect([config], sequence: 4, style: .acknowledged))
                == IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))

        typealias I = IPVSGenericNetlink.InfoAttribute
        let info =
            KernelReply.message(
                .setInfo, [.u32(I.version, 0x01_0201), .u32(I.connectionTableSize, 4096)], sequence: 5, flags: [])
            + KernelReply.error(errno: 0, sequence: 5)
        let parsed = try IPVSReply.info(collect([info], sequence: 5, style: .acknowledged))
        #expect(parsed.versionString == "1.2.1")
        #expect(parsed.connectionTableSize == 4096)
    }

    @Test("NLMSG_ERROR with an errno becomes a kernel error naming the operation")
    func errorReply() {
        var transaction = NetlinkTransaction(
            sequence: 8, style: .acknowledged, operation: "adding real server 192.0.2.11:80 to TCP 192.0.2.100:80")
        #expect {
            try transaction.receive(KernelReply.error(errno: 17, sequence: 8))
        } throws: { error in
            guard let error = error as? NetlinkError else { return false }
            return error.kind == .kernel && error.errno == 17
                && error.message == "adding real server 192.0.2.11:80 to TCP 192.0.2.100:80: File exists"
        }
    }

    @Test("Uncapped NLMSG_ERROR with the request echoed and an extended ACK message")
    func extendedAck() {
        let request = IPVSMessage.newService(web, sequence: 8, family: testFamily)
        var transaction = NetlinkTransaction(sequence: 8, style: .acknowledged, operation: "adding virtual server X")
        #expect {
            try transaction.receive(
                KernelReply.error(errno: 2, sequence: 8, request: request, extendedMessage: "Scheduler not found"))
        } throws: { error in
            (error as? NetlinkError)?.message
                == "adding virtual server X: No such file or directory (Scheduler not found)"
        }
    }

    @Test("ACK completes a write; replies to other sequence numbers are ignored")
    func ackAndStaleReplies() throws {
        var transaction = NetlinkTransaction(sequence: 9, style: .acknowledged, operation: "op")
        #expect(try transaction.receive(KernelReply.error(errno: 22, sequence: 8)) == .needsMore)
        #expect(try transaction.receive(KernelReply.error(errno: 0, sequence: 9)) == .finished([]))
    }

    @Test("A negative NLMSG_DONE, an overrun, and an interrupted dump are errors")
    func dumpFailures() {
        var failing = NetlinkTransaction(sequence: 1, style: .dump, operation: "listing")
        #expect(throws: NetlinkError(kind: .kernel, code: 1, message: "listing: Operation not permitted")) {
            try failing.receive(KernelReply.done(sequence: 1, status: -1))
        }
        var overrun = NetlinkTransaction(sequence: 1, style: .dump, operation: "listing")
        let overrunMessage = NetlinkMessage.encode(
            type: NetlinkMessageType.overrun, flags: [], sequence: 1, payload: [])
        #expect(throws: NetlinkError.self) { try overrun.receive(overrunMessage) }

        var interrupted = NetlinkTransaction(sequence: 1, style: .dump, operation: "listing")
        let part = KernelReply.message(
            .newService, KernelReply.service(web), sequence: 1, flags: [.multi, .dumpInterrupted])
        #expect {
            try interrupted.receive(part + KernelReply.done(sequence: 1))
        } throws: { ($0 as? NetlinkError)?.errno == LinuxErrno.EINTR }
    }

    @Test("NLMSG_DONE in reply to a plain request is unexpected")
    func doneWithoutDump() {
        var transaction = NetlinkTransaction(sequence: 1, style: .acknowledged, operation: "op")
        #expect {
            try transaction.receive(KernelReply.done(sequence: 1))
        } throws: { ($0 as? NetlinkError)?.kind == .unexpectedMessage }
    }

    @Test("A reply with the wrong command is rejected")
    func wrongCommand() throws {
        let messages = try collect(
            [
                KernelReply.message(.newDestination, KernelReply.service(web), sequence: 1)
                    + KernelReply.done(sequence: 1)
            ],
            sequence: 1)
        #expect { try IPVSReply.services(messages) } throws: { ($0 as? NetlinkError)?.kind == .unexpectedMessage }
    }
}

struct Failure: Error {}
