import Config
import Netlink
import TestSupport
import Testing

@testable import IPVSShim

@Suite("Malformed replies never trap")
struct MalformedReplyTests {
    func kind(_ body: () throws -> Void) -> NetlinkError.Kind? {
        do {
            try body()
            return nil
        } catch let error as NetlinkError {
            return error.kind
        } catch {
            return nil
        }
    }

    @Test("Truncated netlink header")
    func truncatedHeader() {
        #expect(kind { _ = try NetlinkMessage.parseAll([0x10, 0, 0, 0, 0x1c, 0, 1, 0, 0, 0]) } == .truncated)
    }

    @Test("nlmsg_len below the header size or past the buffer")
    func badMessageLengths() {
        var short = NetlinkMessage.encode(type: 0x1c, flags: [], sequence: 1, payload: [1, 1, 0, 0])
        short.storeHostOrder(UInt32(8), at: 0)
        #expect(kind { _ = try NetlinkMessage.parseAll(short) } == .badLength)
        var long = NetlinkMessage.encode(type: 0x1c, flags: [], sequence: 1, payload: [1, 1, 0, 0])
        long.storeHostOrder(UInt32(400), at: 0)
        #expect(kind { _ = try NetlinkMessage.parseAll(long) } == .badLength)
        var zero = long
        zero.storeHostOrder(UInt32(0), at: 0)
        #expect(kind { _ = try NetlinkMessage.parseAll(zero) } == .badLength)
    }

    @Test("Attributes with nla_len < 4, past the end, or a header cut short")
    func badAttributes() {
        #expect(kind { _ = try NetlinkAttributeList(parsing: hex("02 00 01 00 00 00 00 00")[...]) } == .badLength)
        #expect(kind { _ = try NetlinkAttributeList(parsing: hex("20 00 01 00 00 00 00 00")[...]) } == .badLength)
        #expect(kind { _ = try NetlinkAttributeList(parsing: hex("08 00 01 00 00 00 00 00 06 00")[...]) } == .truncated)
        // The last attribute's padding may be missing.
        #expect(kind { _ = try NetlinkAttributeList(parsing: hex("05 00 01 00 07")[...]) } == nil)
    }

    @Test("Integer attributes shorter than their type")
    func shortIntegers() throws {
        let list = try NetlinkAttributeList(parsing: hex("06 00 01 00 01 02 00 00")[...])
        #expect(kind { _ = try list.integer(1, as: UInt32.self) } == .badAttribute)
        #expect(try list.integer(1, as: UInt16.self) == 0x0201)
        #expect(kind { _ = try list.counter(1) } == .badAttribute)
    }

    @Test("An error inside a nest names the path to it, however deep")
    func nestedErrorsNameTheirPath() throws {
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch let error as NetlinkError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        // A real server whose 64-bit statistics hold a 2-byte connection counter.
        let statistics = NetlinkAttribute.bytes(
            IPVSGenericNetlink.DestinationAttribute.statistics64,
            [
                NetlinkAttribute.bytes(IPVSGenericNetlink.StatisticsAttribute.connections, [1, 2])
            ].encoded())
        let destination = NetlinkAttribute.u32(IPVSGenericNetlink.DestinationAttribute.weight, 1)
        let reply = KernelReply.message(
            .newDestination,
            [.bytes(IPVSGenericNetlink.CommandAttribute.destination, [destination, statistics].encoded())],
            sequence: 1)
        let list = try GenericNetlinkReply(NetlinkMessage.parseAll(reply)[0]).attributes
        let nest = try #require(try list.nested(IPVSGenericNetlink.CommandAttribute.destination, context: "DEST"))
        let stats = try #require(
            try nest.nested(IPVSGenericNetlink.DestinationAttribute.statistics64, context: "STATS64"))
        #expect(
            message { _ = try stats.counter(IPVSGenericNetlink.StatisticsAttribute.connections) }
                .hasPrefix("\(list.context) > DEST > STATS64: attribute"))
        // A third level and a fourth keep the whole path.
        let deep = try NetlinkAttributeList(
            parsing: [
                NetlinkAttribute.bytes(
                    1,
                    [
                        NetlinkAttribute.bytes(
                            2,
                            [
                                NetlinkAttribute.bytes(
                                    3,
                                    [
                                        NetlinkAttribute.bytes(4, [9, 9, 9, 9, 0, 1])
                                    ].encoded())
                            ].encoded())
                    ].encoded())
            ].encoded()[...], context: "top")
        let fourth = try #require(
            try deep.nested(1, context: "one")?.nested(2, context: "two")?.nested(3, context: "three"))
        #expect(fourth.context == "top > one > two > three")
        #expect(message { _ = try fourth.nested(4, context: "four") }.hasPrefix("top > one > two > three > four: "))
        // The byte loader reads at any offset, aligned or not, in host order (little-endian here), nil past the end.
        let slice = (0..<16).map { UInt8(truncatingIfNeeded: $0 * 17 + 3) }[3...]
        for offset in 0...5 {
            var expected: UInt64 = 0
            for index in 0..<8 { expected |= UInt64(slice[slice.startIndex + offset + index]) << (8 * index) }
            #expect(slice.loadHostOrder(UInt64.self, at: offset) == expected)
        }
        #expect(slice.loadHostOrder(UInt64.self, at: 6) == nil)
        #expect(slice.loadHostOrder(UInt32.self, at: -1) == nil)
    }

    @Test("Garbage inside the service nest, missing attributes, bad family and protocol")
    func nestedGarbage() {
        func services(_ inner: [UInt8]) -> NetlinkError.Kind? {
            let message = KernelReply.message(
                .newService, [.bytes(IPVSGenericNetlink.CommandAttribute.service, inner)], sequence: 1)
            return kind { _ = try IPVSReply.services(NetlinkMessage.parseAll(message)) }
        }
        #expect(services(hex("ff ff ff ff de ad be ef")) == .badLength)
        #expect(services([]) == .missingAttribute)
        #expect(services([NetlinkAttribute.u16(1, 99)].encoded()) == .badAttribute)
        #expect(services([NetlinkAttribute.u16(1, 2), .u16(2, 6)].encoded()) == .missingAttribute)
        #expect(
            services([NetlinkAttribute.u16(1, 2), .u16(2, 47), .bytes(3, [1, 2, 3, 4]), .be16(4, 1)].encoded())
                == .badAttribute)
        #expect(
            services([NetlinkAttribute.u16(1, 10), .u16(2, 6), .bytes(3, [1, 2, 3, 4]), .be16(4, 1)].encoded())
                == .badAttribute)
        let noNest = KernelReply.message(.newService, [], sequence: 1)
        #expect(kind { _ = try IPVSReply.services(NetlinkMessage.parseAll(noNest)) } == .missingAttribute)
        let noGenlHeader = NetlinkMessage.encode(type: testFamily, flags: [.multi], sequence: 1, payload: [1, 1])
        #expect(kind { _ = try IPVSReply.services(NetlinkMessage.parseAll(noGenlHeader)) } == .truncated)
    }

    @Test("NLMSG_ERROR shorter than its errno")
    func shortError() {
        let message = NetlinkMessage.encode(
            type: NetlinkMessageType.error, flags: [], sequence: 1, payload: [0xff, 0xff])
        var transaction = NetlinkTransaction(sequence: 1, style: .acknowledged, operation: "op")
        #expect(kind { _ = try transaction.receive(message) } == .truncated)
    }

    @Test("Seeded fuzz: random bytes and mutated kernel replies")
    func fuzz() {
        var random = SplitMix64(seed: 0x5eed_1e55)
        let service = IPVSService(
            key: .address(ip("2001:db8::1"), port: 443, protocol: .tcp), scheduler: "mh",
            flags: [.persistent, .mhPort],
            timeout: 30, netmask: 48, persistenceEngine: "sip")
        let destination = IPVSDestination(
            address: ip("192.0.2.9"), port: 443, forwarding: .tunnel, tunnel: IPVSTunnel(type: .gue, port: 5555))
        let seeds: [[UInt8]] = [
            KernelReply.message(.newService, KernelReply.service(service), sequence: 1) + KernelReply.done(sequence: 1),
            KernelReply.message(.newDestination, KernelReply.destination(destination), sequence: 1)
                + KernelReply.done(sequence: 1),
            KernelReply.error(
                errno: 17, sequence: 1, request: IPVSMessage.flush(sequence: 1, family: testFamily),
                extendedMessage: "x"),
        ]
        var outcomes = [0, 0]
        for round in 0..<4000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int.random(in: 0..<300, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
            } else {
                bytes = seeds[round % seeds.count]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let position = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[position] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            }
            do {
                var transaction = NetlinkTransaction(sequence: 1, style: .dump, operation: "fuzz")
                if case .finished(let messages) = try transaction.receive(bytes) {
                    _ = try? IPVSReply.services(messages)
                    _ = try? IPVSReply.destinations(messages, serviceFamily: .ipv4)
                    _ = try? IPVSReply.daemons(messages)
                    _ = try? IPVSReply.info(messages)
                }
                outcomes[0] += 1
            } catch {
                outcomes[1] += 1
            }
        }
        #expect(outcomes[0] > 0 && outcomes[1] > 0)
    }
}

/// NetlinkFuzzer's finding: a status or error of Int32.min (no negation) trapped the transaction.
@Suite("NetlinkFuzzer findings")
struct NetlinkFuzzerFindingTests {
    @Test("NLMSG_DONE and NLMSG_ERROR carrying Int32.min are errors, not traps")
    func int32MinStatus() {
        var dump = NetlinkTransaction(sequence: 9, style: .dump, operation: "listing virtual servers")
        #expect(throws: NetlinkError.self) { _ = try dump.receive(KernelReply.done(sequence: 9, status: .min)) }
        var payload: [UInt8] = []
        payload.appendHostOrder(Int32.min)
        payload += NetlinkMessage.encode(type: 0x1c, flags: [], sequence: 9, payload: [])
        let error = NetlinkMessage.encode(type: NetlinkMessageType.error, flags: [], sequence: 9, payload: payload)
        var request = NetlinkTransaction(sequence: 9, style: .acknowledged, operation: "adding a virtual server")
        #expect(throws: NetlinkError.self) { _ = try request.receive(error) }
    }
}
