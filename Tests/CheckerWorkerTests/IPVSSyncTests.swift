import Config
import IPVSShim
import Logging
import Netlink
import Testing

@testable import CheckerWorker

/// The drift check's services list: handed over by the traffic counters' reader, read by the check itself only when
/// none is recent or a service's real servers differ, and never taken for drift where this worker wrote since.
@Suite("IPVS sync: the drift check's services list")
struct IPVSSyncTests {
    /// Two virtual servers of one service each, 198.51.100.11 in each, on a virtual loop and a fake kernel.
    final class Harness {
        let loop = CheckLoop(virtualTimeFrom: .seconds(1000))
        let kernel = IPVSFakeKernel()
        var wanted: [IPVSVirtualServer]
        var events: [String] = []
        var sync: IPVSSync!

        init() {
            wanted = (0..<2).map { index in
                IPVSVirtualServer(
                    service: IPVSService(
                        key: .address(IPAddress("192.0.2.\(index + 1)")!, port: 80, protocol: .tcp), scheduler: "wlc"),
                    destinations: [
                        IPVSDestination(
                            address: IPAddress("198.51.100.11")!, port: 80, forwarding: .directRouting, weight: 1)
                    ])
            }
            sync = IPVSSync(
                loop: loop, logger: Logger(label: "test"), event: { [unowned self] in events.append($0) },
                makeClient: { [kernel] () throws(NetlinkError) -> any IPVSClient in kernel },
                desire: IPVSSync.Desire(
                    state: { [unowned self] in IPVSDesiredState(table: IPVSTable(wanted)) },
                    services: { [unowned self] in [wanted[$0]] }, syncDaemons: { [] }),
                progress: {})
            sync.configure(
                keys: wanted.map { [$0.service.key] }, retiring: [], repairInterval: .seconds(10), changed: nil)
            loop.runQueued()
        }

        func advance(seconds: Int64) { loop.advance(by: .seconds(seconds)) }
    }

    @Test("a list handed over is compared instead of one read; a flush is seen by the real servers' reads")
    func handedOverLists() throws {
        let harness = Harness()
        let kernel = harness.kernel
        #expect(kernel.state.virtualServers.count == 2)
        // The reader hands over a list every 5 s: over a quiet 20 s, the drift check reads none of its own.
        kernel.resetLog()
        let listings = kernel.servicesListings
        for _ in 0..<4 {
            harness.sync.listed(try kernel.services())
            harness.advance(seconds: 5)
        }
        #expect(kernel.servicesListings == listings + 4, "the drift check listed no services itself")
        #expect(kernel.writeCount == 0)
        // `ipvsadm -E` behind Vigil's back: the next list handed over shows it, and it is put back.
        var edited = kernel.state.virtualServers[1].service
        edited.scheduler = "sh"
        try kernel.apply(.editService(edited))
        harness.sync.listed(try kernel.services())
        harness.advance(seconds: 2)
        #expect(kernel.state.virtualServers[1].service.scheduler == "wlc")
        #expect(harness.sync.counters.repairs == 1)
        // No list for longer than servicesMaxAge: the drift check reads one.
        let quiet = kernel.servicesListings
        harness.advance(seconds: 12)
        #expect(kernel.servicesListings > quiet)
        // `ipvsadm -C`: the next real servers' read finds none, the check lists the services at once, and every
        // rule is back.
        try kernel.apply(.flush)
        harness.advance(seconds: 2)
        #expect(kernel.state.virtualServers.count == 2)
        #expect(kernel.state.destinationKeys.count == 2)
    }

    @Test("a list read before this worker wrote a service is not taken for drift of that service")
    func staleListIsNotDrift() throws {
        let harness = Harness()
        let kernel = harness.kernel
        // The reader hands over a list; before the drift check's next tick, the configuration's scheduler changes
        // and the worker writes it.
        let before = try kernel.services()
        harness.sync.listed(before)
        harness.wanted[1].service.scheduler = "rr"
        harness.sync.update(virtualServer: 1)
        #expect(kernel.state.virtualServers[1].service.scheduler == "rr")
        kernel.resetLog()
        harness.advance(seconds: 3)
        #expect(kernel.writeCount == 0, "nothing drifted: the list is older than the write")
        #expect(harness.sync.counters.repairs == 0)
        #expect(harness.events.isEmpty)
        // The other service, not written since, is still compared with that list: edited behind Vigil's back.
        var edited = kernel.state.virtualServers[0].service
        edited.scheduler = "sh"
        try kernel.apply(.editService(edited))
        var listed = before
        listed[0] = edited
        harness.sync.listed(listed)
        harness.advance(seconds: 2)
        #expect(kernel.state.virtualServers[0].service.scheduler == "wlc")
        #expect(kernel.state.virtualServers[1].service.scheduler == "rr")
    }
}
