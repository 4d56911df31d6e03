import Config
import Netlink
import TestSupport
import Testing

@testable import IPVSShim

@Suite("IPVS reconciler")
struct IPVSReconcilerTests {
    let webKey = IPVSServiceKey.address(ip("192.0.2.100"), port: 80, protocol: .tcp)
    let dnsKey = IPVSServiceKey.address(ip("2001:db8::1"), port: 53, protocol: .udp)
    let foreignKey = IPVSServiceKey.address(ip("198.51.100.1"), port: 25, protocol: .tcp)

    func real(_ last: Int, weight: UInt32 = 1, port: UInt16 = 80) -> IPVSDestination {
        IPVSDestination(address: ip("192.0.2.\(last)"), port: port, forwarding: .directRouting, weight: weight)
    }

    var web: IPVSVirtualServer {
        IPVSVirtualServer(service: IPVSService(key: webKey, scheduler: "wlc"), destinations: [real(11), real(12)])
    }
    var dns: IPVSVirtualServer {
        IPVSVirtualServer(
            service: IPVSService(key: dnsKey, scheduler: "rr"),
            destinations: [IPVSDestination(address: ip("2001:db8::53"), port: 53)])
    }
    var foreign: IPVSVirtualServer {
        IPVSVirtualServer(service: IPVSService(key: foreignKey, scheduler: "rr"), destinations: [real(99, port: 25)])
    }

    /// Plans against the fake kernel, applies, and checks that a second plan is empty and issues no writes.
    @discardableResult
    func converge(
        _ kernel: IPVSFakeKernel, to desired: IPVSTable, ownership: IPVSOwnership = IPVSOwnership(),
        foreignRules: IPVSForeignRulePolicy = .leave
    ) throws -> IPVSPlan {
        let plan = IPVSReconciler.plan(
            desired: desired, current: try kernel.table(), ownership: ownership, foreignRules: foreignRules)
        #expect(kernel.apply(plan.operations).isEmpty)
        kernel.resetLog()
        let second = IPVSReconciler.plan(
            desired: desired, current: try kernel.table(), ownership: plan.ownership, foreignRules: foreignRules)
        #expect(second.operations.isEmpty)
        #expect(second.ownership == plan.ownership)
        #expect(kernel.apply(second.operations).isEmpty)
        #expect(kernel.writeCount == 0)
        return plan
    }

    @Test("Empty kernel: services first, each followed by its real servers")
    func addEverything() throws {
        let kernel = IPVSFakeKernel()
        let plan = try converge(kernel, to: IPVSTable([web, dns]))
        #expect(
            plan.operations == [
                .addService(web.service), .addDestination(real(11), service: webKey),
                .addDestination(real(12), service: webKey), .addService(dns.service),
                .addDestination(dns.destinations[0], service: dnsKey),
            ])
        #expect(plan.ownership.services == [webKey, dnsKey])
        #expect(plan.ownership.destinations.count == 3)
        #expect(try kernel.table().virtualServers.map(\.service.key) == [webKey, dnsKey])
    }

    @Test("Rules already in the kernel that match are adopted, never re-created")
    func adoptExisting() throws {
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        let plan = try converge(kernel, to: IPVSTable([web]))
        #expect(plan.operations.isEmpty)
        #expect(plan.ownership.services == [webKey])
        #expect(plan.ownership.destinations == IPVSTable([web]).destinationKeys)
    }

    @Test("A weight change is one SET_DEST")
    func weightChange() throws {
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        var desired = web
        desired.destinations[1].weight = 0
        let plan = try converge(kernel, to: IPVSTable([desired]))
        #expect(plan.operations == [.editDestination(real(12, weight: 0), service: webKey)])
        #expect(try kernel.table()[webKey]?.destinations[1].weight == 0)
    }

    @Test("Forwarding, thresholds and tunnel options are edited in place")
    func destinationEdits() throws {
        var tunnelled = web
        tunnelled.destinations[0].forwarding = .tunnel
        tunnelled.destinations[0].tunnel = IPVSTunnel(type: .gue, port: 6080)
        tunnelled.destinations[1].upperThreshold = 100
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        let plan = try converge(kernel, to: IPVSTable([tunnelled]))
        #expect(plan.operations.count == 2)
        #expect(plan.operations.allSatisfy { if case .editDestination = $0 { true } else { false } })

        var changedTunnel = tunnelled
        changedTunnel.destinations[0].tunnel.flags = .checksum
        let again = try converge(kernel, to: IPVSTable([changedTunnel]), ownership: plan.ownership)
        #expect(again.operations == [.editDestination(changedTunnel.destinations[0], service: webKey)])
    }

    @Test("Tunnel options of a non-tunnel real server are not a difference")
    func tunnelIgnoredWithoutTunnelForwarding() throws {
        var desired = web
        desired.destinations[0].tunnel = IPVSTunnel(type: .gre)
        let plan = IPVSReconciler.plan(
            desired: IPVSTable([desired]), current: IPVSTable([web]), ownership: IPVSOwnership())
        #expect(plan.operations.isEmpty)
    }

    @Test("A scheduler change is one SET_SERVICE")
    func schedulerChange() throws {
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        var desired = web
        desired.service.scheduler = "rr"
        let plan = try converge(kernel, to: IPVSTable([desired]))
        #expect(plan.operations == [.editService(desired.service)])
        #expect(try kernel.table()[webKey]?.service.scheduler == "rr")
    }

    @Test("Persistence timeout, netmask and engine change in place")
    func persistenceChange() throws {
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        var persistent = web
        persistent.service.flags = .persistent
        persistent.service.timeout = 50
        let first = try converge(kernel, to: IPVSTable([persistent]))
        #expect(first.operations == [.editService(persistent.service)])

        var granular = persistent
        granular.service.netmask = 0xffff_ff00
        granular.service.persistenceEngine = "sip"
        let second = try converge(kernel, to: IPVSTable([granular]), ownership: first.ownership)
        #expect(second.operations == [.editService(granular.service)])
        #expect(kernel.log.isEmpty)
    }

    @Test("The kernel's hashed flag and counters do not count as differences")
    func readBackStateIgnored() {
        var current = web
        current.service.flags.insert(.hashed)
        current.service.statistics = IPVSStatistics()
        current.destinations[0].activeConnections = 40
        current.destinations[0].statistics = IPVSStatistics()
        let plan = IPVSReconciler.plan(
            desired: IPVSTable([web]), current: IPVSTable([current]), ownership: IPVSOwnership())
        #expect(plan.operations.isEmpty)
    }

    @Test("Owned rules no longer desired are removed: real servers before services")
    func removeOwned() throws {
        let kernel = IPVSFakeKernel()
        let start = try converge(kernel, to: IPVSTable([web, dns]))
        var smaller = web
        smaller.destinations.removeLast()
        let plan = try converge(kernel, to: IPVSTable([smaller]), ownership: start.ownership)
        #expect(
            plan.operations == [
                .deleteDestination(IPVSDestinationKey(service: webKey, destination: real(12))), .deleteService(dnsKey),
            ])
        #expect(plan.ownership.services == [webKey])
        #expect(plan.ownership.destinations == IPVSTable([smaller]).destinationKeys)
    }

    @Test("Foreign rules are left alone, including foreign real servers in an adopted service")
    func leaveForeign() throws {
        var webWithStranger = web
        webWithStranger.destinations.append(real(77))
        let kernel = IPVSFakeKernel(IPVSTable([foreign, webWithStranger]))
        let plan = try converge(kernel, to: IPVSTable([web]))
        #expect(plan.operations.isEmpty)
        #expect(!plan.ownership.services.contains(foreignKey))
        #expect(try kernel.table()[foreignKey] != nil)
        #expect(try kernel.table()[webKey]?.destinations.count == 3)
    }

    @Test("The flush policy (lvs_flush) removes foreign rules but keeps matching ones")
    func flushPolicy() throws {
        var webWithStranger = web
        webWithStranger.destinations.append(real(77))
        let kernel = IPVSFakeKernel(IPVSTable([foreign, webWithStranger]))
        let plan = try converge(kernel, to: IPVSTable([web]), foreignRules: .remove)
        #expect(
            plan.operations == [
                .deleteDestination(IPVSDestinationKey(service: webKey, destination: real(77))),
                .deleteService(foreignKey),
            ])
        #expect(try kernel.table() == IPVSFakeKernel(IPVSTable([web])).table())
    }

    @Test("Stop removes only owned rules; stop with flush is one FLUSH")
    func stop() throws {
        let kernel = IPVSFakeKernel(IPVSTable([foreign]))
        let start = try converge(kernel, to: IPVSTable([web, dns]))
        let stop = IPVSReconciler.stop(current: try kernel.table(), ownership: start.ownership)
        #expect(Set(stop.operations) == [.deleteService(webKey), .deleteService(dnsKey)])
        #expect(stop.ownership == IPVSOwnership())
        #expect(kernel.apply(stop.operations).isEmpty)
        #expect(try kernel.table().virtualServers.map(\.service.key) == [foreignKey])

        let flush = IPVSReconciler.stop(current: try kernel.table(), ownership: IPVSOwnership(), foreignRules: .remove)
        #expect(flush.operations == [.flush])
        #expect(
            IPVSReconciler.stop(current: IPVSTable(), ownership: IPVSOwnership(), foreignRules: .remove).operations
                .isEmpty)
    }

    @Test("An owned real server left in a foreign service is removed; the service stays")
    func ownedDestinationInForeignService() {
        var current = foreign
        current.destinations.append(real(5, port: 25))
        let key = IPVSDestinationKey(service: foreignKey, destination: real(5, port: 25))
        let plan = IPVSReconciler.plan(
            desired: IPVSTable(), current: IPVSTable([current]), ownership: IPVSOwnership(destinations: [key]))
        #expect(plan.operations == [.deleteDestination(key)])
    }

    @Test("A changed key is a removal and an addition; vanished owned rules are forgotten")
    func keyChange() throws {
        let kernel = IPVSFakeKernel()
        let start = try converge(kernel, to: IPVSTable([web]))
        var moved = web
        moved.service.key = .address(ip("192.0.2.100"), port: 8080, protocol: .tcp)
        let plan = try converge(kernel, to: IPVSTable([moved]), ownership: start.ownership)
        #expect(plan.operations.first == .deleteService(webKey))
        #expect(plan.operations.count == 4)
        #expect(!plan.ownership.services.contains(webKey))
    }

    @Test("Owned rules gone from the kernel are forgotten unless still wanted; wanted ones come back")
    func vanishedOwnedRules() {
        // Owned from an earlier plan: web with 11 and 12, dns, and a real server of the foreign service. The kernel
        // has lost dns, web's 12 and the foreign service (ipvsadm -C, -d); the configuration now drops dns.
        let earlier = IPVSOwnership(
            services: [webKey, dnsKey],
            destinations: IPVSTable([web, dns]).destinationKeys.union([
                IPVSDestinationKey(service: foreignKey, destination: real(99, port: 25))
            ]))
        var present = web
        present.destinations = [real(11)]
        let plan = IPVSReconciler.plan(
            desired: IPVSTable([web]), current: IPVSTable([present]), ownership: earlier)
        #expect(plan.operations == [.addDestination(real(12), service: webKey)])
        #expect(plan.ownership.services == [webKey])
        #expect(plan.ownership.destinations == IPVSTable([web]).destinationKeys)
    }
    @Test("The fake kernel refuses like ip_vs_ctl.c")
    func fakeKernelErrors() throws {
        let kernel = IPVSFakeKernel(IPVSTable([web]))
        func errno(_ operation: IPVSOperation) -> Int32? {
            do {
                try kernel.apply(operation)
                return 0
            } catch {
                return error.errno
            }
        }
        #expect(errno(.addService(web.service)) == LinuxErrno.EEXIST)
        #expect(errno(.addDestination(real(11), service: webKey)) == LinuxErrno.EEXIST)
        #expect(errno(.deleteService(dnsKey)) == LinuxErrno.ESRCH)
        #expect(errno(.addDestination(real(11), service: dnsKey)) == LinuxErrno.ESRCH)
        #expect(
            errno(.deleteDestination(IPVSDestinationKey(service: webKey, destination: real(50)))) == LinuxErrno.ENOENT)
        #expect(errno(.editDestination(real(50), service: webKey)) == LinuxErrno.ENOENT)
        #expect(errno(.addService(IPVSService(key: dnsKey, scheduler: "nope"))) == LinuxErrno.ENOENT)
        var thresholds = real(13)
        thresholds.lowerThreshold = 5
        #expect(errno(.addDestination(thresholds, service: webKey)) == LinuxErrno.ERANGE)
        #expect(kernel.writeCount == 8)
        do {
            try kernel.apply(.addDestination(real(11), service: webKey))
        } catch {
            #expect(error.message == "adding real server 192.0.2.11:80 to TCP 192.0.2.100:80: File exists")
        }
        let daemon = IPVSSyncDaemon(state: .master, interface: "eth0", syncID: 1)
        #expect(errno(.startSyncDaemon(daemon)) == 0)
        #expect(errno(.startSyncDaemon(daemon)) == LinuxErrno.EEXIST)
        #expect(errno(.stopSyncDaemon(.backup)) == LinuxErrno.ESRCH)
        #expect(errno(.setTimeouts(IPVSTimeouts(tcp: 60))) == 0)
        #expect(try kernel.timeouts() == IPVSTimeouts(tcp: 60, tcpFin: 120, udp: 300))
    }

    @Test("Applying a plan skips operations on a service whose addition failed")
    func applySkipsAfterFailedService() {
        let kernel = IPVSFakeKernel()
        var broken = web
        broken.service.scheduler = "missing"
        let plan = IPVSReconciler.plan(
            desired: IPVSTable([broken, dns]), current: IPVSTable(), ownership: IPVSOwnership())
        let failures = kernel.apply(plan.operations)
        #expect(failures.count == 1)
        #expect(failures.first?.errno == LinuxErrno.ENOENT)
        #expect(kernel.writeCount == 3)
    }

    @Test("A table follows a batch of writes exactly as it follows them one by one")
    func tableFollowsABatch() {
        // Services the operations name: some in the table, some not; deletions, re-additions and edits after them.
        let keys =
            (0..<12).map { IPVSServiceKey.address(ip("192.0.2.\(100 + $0)"), port: 80, protocol: .tcp) }
            + [.firewallMark(7, family: .ipv4), .firewallMark(7, family: .ipv6)]
        func operation(_ random: inout some RandomNumberGenerator) -> IPVSOperation {
            let key = keys.randomElement(using: &random)!
            let destination = IPVSDestination(
                address: ip("198.51.100.\(Int.random(in: 1...4, using: &random))"), port: 80,
                weight: UInt32.random(in: 0...3, using: &random))
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<20:
                return .addService(IPVSService(key: key, scheduler: ["rr", "wlc"].randomElement(using: &random)!))
            case 20..<30: return .editService(IPVSService(key: key, scheduler: "sh"))
            case 30..<42: return .deleteService(key)
            case 42..<70: return .addDestination(destination, service: key)
            case 70..<85: return .editDestination(destination, service: key)
            case 85..<99:
                return .deleteDestination(
                    IPVSDestinationKey(service: key, address: destination.address, port: destination.port))
            default: return .flush
            }
        }
        var random = SplitMix64(seed: 0x5eed)
        var batches = 0
        for _ in 0..<300 {
            var start = IPVSTable()
            for key in keys.shuffled(using: &random).prefix(Int.random(in: 0...keys.count, using: &random)) {
                start.virtualServers.append(
                    IPVSVirtualServer(
                        service: IPVSService(key: key, scheduler: "rr"),
                        destinations: [IPVSDestination(address: ip("198.51.100.1"), port: 80)]))
            }
            let operations = (0..<Int.random(in: 1...40, using: &random)).map { _ in operation(&random) }
            var oneByOne = start
            for operation in operations { oneByOne.apply(operation) }
            var batch = start
            batch.apply(operations)
            #expect(batch == oneByOne, "from \(start.virtualServers.map(\.service.key)) by \(operations)")
            if batch != start { batches += 1 }
        }
        // The operations changed most tables: the comparison was not between untouched ones.
        #expect(batches > 250)
    }

    @Test("Services sort in ipvsadm's listing order")
    func serviceKeyOrder() {
        // ipvs_cmp_services: address services before marks; then family, protocol, address, port; marks by mark, then
        // family. Written here as the list of numbers it compares, independently of the comparison under test.
        func rank(_ key: IPVSServiceKey) -> [UInt64] {
            switch key {
            case .address(let address, let port, let proto):
                [0, address.family == .ipv4 ? 0 : 1, UInt64(proto.rawValue)] + address.bytes.map(UInt64.init)
                    + [UInt64(port)]
            case .firewallMark(let mark, let family): [1 + UInt64(mark), family == .ipv4 ? 0 : 1]
            }
        }
        let addresses = ["192.0.2.1", "192.0.2.10", "198.51.100.1", "2001:db8::1", "2001:db8::1:0", "203.0.113.255"]
        var keys: [IPVSServiceKey] = [.firewallMark(1, family: .ipv6), .firewallMark(1, family: .ipv4)]
        keys.append(.firewallMark(256, family: .ipv4))
        for address in addresses {
            for port: UInt16 in [53, 80, 443] {
                for proto: IPVSShim.IPVSProtocol in [.tcp, .udp, .sctp] {
                    keys.append(.address(ip(address), port: port, protocol: proto))
                }
            }
        }
        for left in keys {
            for right in keys {
                #expect(
                    (left < right) == rank(left).lexicographicallyPrecedes(rank(right)), "\(left) < \(right)")
            }
        }
        #expect(keys.sorted().first == .address(ip("192.0.2.1"), port: 53, protocol: .tcp))
        #expect(keys.sorted().last == .firewallMark(256, family: .ipv4))
    }

    /// What the checker holds as the kernel's table keeps no counter the kernel reported (each would cost its real
    /// server a box), and compares as the same settings.
    @Test func settingsLeaveOutWhatOnlyTheKernelReports() {
        var read = IPVSVirtualServer(
            service: IPVSService(key: webKey, scheduler: "wlc"), destinations: [real(11), real(12)])
        let written = read
        #expect(read.settings == written)
        var counted = IPVSStatistics()
        counted.connections = 3
        read.service.statistics = counted
        counted.incomingBytes = 100
        read.destinations[0].statistics = counted
        read.destinations[1].activeConnections = 4
        read.destinations[1].persistentConnections = 1
        #expect(read != written)
        #expect(read.settings == written)
        #expect(read.settings.destinations.allSatisfy { $0.statistics == nil && !$0.hasConnections })
        // The counters out of line: an IPVSDestination is its settings and three connection counts.
        #expect(MemoryLayout<IPVSDestination>.stride <= 64)
    }
}
