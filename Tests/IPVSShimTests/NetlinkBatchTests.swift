import Netlink
import Testing

@testable import IPVSShim

/// Several requests per `sendmsg`: their acknowledgements, in any order and datagram split, map back to the requests.
@Suite("Netlink batches")
struct NetlinkBatchTests {
    static func acknowledgement(sequence: UInt32, errno: Int32) -> [UInt8] {
        var payload: [UInt8] = []
        withUnsafeBytes(of: -errno) { payload += $0 }
        // The original request's header (16 bytes): what the kernel echoes.
        payload += [UInt8](repeating: 0, count: 16)
        return NetlinkMessage.encode(type: 2, flags: [], sequence: sequence, payload: payload)
    }

    @Test("acknowledgements in any order; an error stays with its request; others' replies are ignored")
    func collects() throws {
        var batch = NetlinkBatch(firstSequence: 100, operations: ["a", "b", "c"])
        try batch.receive(Self.acknowledgement(sequence: 102, errno: 0) + Self.acknowledgement(sequence: 7, errno: 5))
        #expect(!batch.isComplete)
        try batch.receive(Self.acknowledgement(sequence: 101, errno: 17))
        try batch.receive(Self.acknowledgement(sequence: 100, errno: 0))
        #expect(batch.isComplete)
        let failures = batch.failures
        #expect(failures.count == 3 && failures[0] == nil && failures[2] == nil)
        #expect(failures[1]?.errno == 17 && failures[1]?.description.contains("b") == true)
    }

    @Test("sequence numbers that wrap around")
    func wraps() throws {
        var batch = NetlinkBatch(firstSequence: UInt32.max, operations: ["a", "b"])
        try batch.receive(Self.acknowledgement(sequence: UInt32.max, errno: 0))
        try batch.receive(Self.acknowledgement(sequence: 0, errno: 2))
        #expect(batch.isComplete)
        #expect(batch.failures[1]?.errno == 2)
    }

    @Test("a fake kernel applies a batch one operation at a time, each result in its place")
    func fakeKernelEach() {
        let kernel = IPVSFakeKernel()
        let key = IPVSServiceKey.address(.v4(0xc000_0201), port: 80, protocol: .tcp)
        let results = kernel.applyEach([
            .addService(IPVSService(key: key, scheduler: "rr")), .addService(IPVSService(key: key, scheduler: "rr")),
            .addService(IPVSService(key: .address(.v4(0xc000_0202), port: 80, protocol: .tcp), scheduler: "nope")),
        ])
        #expect(results.count == 3 && results[0] == nil && results[1]?.errno == 17 && results[2]?.errno == 2)
    }
}
