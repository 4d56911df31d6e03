import Config
import Netlink
import Testing

@testable import IPVSShim

/// A transport that answers from a script, checking what is sent: the netlink client without a kernel.
final class ScriptedTransport: GenericNetlinkTransport {
    var sent: [GenericNetlinkMessage] = []
    var answers: [(NetlinkTransaction.Style, (UInt32) -> [[UInt8]])] = []
    var sequence: UInt32 = 100

    func resolveFamily(named name: String) throws(NetlinkError) -> UInt16 {
        guard name == "IPVS" else { throw NetlinkError(code: 12, message: "resolving \(name): Object not found") }
        return testFamily
    }

    func exchange(_ request: GenericNetlinkMessage, style: NetlinkTransaction.Style, operation: String)
        throws(NetlinkError) -> [NetlinkMessage]
    {
        sent.append(request)
        sequence += 1
        let (expectedStyle, answer) = answers.removeFirst()
        #expect(style == expectedStyle)
        var transaction = NetlinkTransaction(sequence: sequence, style: style, operation: operation)
        for datagram in answer(sequence) {
            if case .finished(let messages) = try transaction.receive(datagram) { return messages }
        }
        throw NetlinkError(kind: .truncated, code: 0, message: "script ran out")
    }
}

@Suite("IPVS netlink client over a scripted transport")
struct IPVSClientTests {
    let web = IPVSService(key: .address(ip("192.0.2.100"), port: 80, protocol: .tcp), scheduler: "wlc")

    @Test("table() dumps services, then each service's real servers")
    func table() throws {
        let transport = ScriptedTransport()
        let destination = IPVSDestination(address: ip("192.0.2.11"), port: 80, forwarding: .directRouting)
        transport.answers = [
            (
                .dump,
                {
                    [
                        KernelReply.message(.newService, KernelReply.service(self.web), sequence: $0),
                        KernelReply.done(sequence: $0),
                    ]
                }
            ),
            (
                .dump,
                {
                    [
                        KernelReply.message(.newDestination, KernelReply.destination(destination), sequence: $0)
                            + KernelReply.done(sequence: $0)
                    ]
                }
            ),
        ]
        let client = try IPVSNetlinkClient(transport: transport)
        let table = try client.table()
        #expect(table.virtualServers.count == 1)
        #expect(table.virtualServers[0].destinations[0].hasSameSettings(as: destination))
        #expect(transport.sent.map(\.command) == [4, 8])
        #expect(transport.sent[1].attributes == [.nested(1, IPVSMessage.serviceKeyAttributes(web.key))])
    }

    @Test("An interrupted dump is retried")
    func dumpRetry() throws {
        let transport = ScriptedTransport()
        transport.answers = [
            (
                .dump,
                {
                    [
                        KernelReply.message(
                            .newService, KernelReply.service(self.web), sequence: $0, flags: [.multi, .dumpInterrupted])
                            + KernelReply.done(sequence: $0)
                    ]
                }
            ),
            (.dump, { [KernelReply.done(sequence: $0)] }),
        ]
        #expect(try IPVSNetlinkClient(transport: transport).services().isEmpty)
        #expect(transport.sent.count == 2)
    }

    @Test("A write is acknowledged or fails with the kernel's errno and the object's name")
    func writes() throws {
        let transport = ScriptedTransport()
        transport.answers = [
            (.acknowledged, { [KernelReply.error(errno: 0, sequence: $0)] }),
            (.acknowledged, { [KernelReply.error(errno: 3, sequence: $0)] }),
        ]
        let client = try IPVSNetlinkClient(transport: transport)
        try client.apply(.addService(web))
        #expect(
            throws: NetlinkError(
                kind: .kernel, code: 3, message: "removing virtual server TCP 192.0.2.100:80: No such process")
        ) {
            try client.apply(.deleteService(web.key))
        }
        #expect(transport.sent[0] == IPVSMessage.request(for: .addService(web), family: testFamily))
    }
}
