import CVigilShim
import CheckerWorker
import Config
import Foundation
import IPVSShim
import Netlink
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `vigil-microbench STEP FILE [REPEAT]`: one step of what the watchdog and the checker worker do with a
/// configuration, in process, timed (and instruction-counted under `valgrind --tool=callgrind`, which cannot follow
/// vigild's re-executed workers). Steps: parse, encode, decode, configure, reload, desired, diff (parse again and diff), change (FILE2's configuration as a reload message from FILE's: built, encoded,
/// decoded, applied), checks, replies (the kernel's IPVS replies holding FILE's table, parsed).
@main
struct MicroBenchmark {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            print(
                "usage: vigil-microbench parse|encode|decode|configure|reload|desired|initial|diff|change|checks|replies FILE [REPEAT [FILE2]]\n"
                    + "       vigil-microbench save FILE 1 OUT; vigil-microbench decode-saved OUT"
            )
            exit(2)
        }
        let step = arguments[1]
        let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
        if step == "decode-saved" {
            // A message `save` wrote, decoded once in a process that has encoded nothing: a worker's cold decode.
            let fd = open(arguments[2], O_RDONLY)
            guard fd >= 0 else {
                print("cannot open \(arguments[2])")
                exit(1)
            }
            var bytes = [UInt8](repeating: 0, count: Int(lseek(fd, 0, SEEK_END)))
            _ = pread(fd, &bytes, bytes.count, 0)
            close(fd)
            let decoded = try MessageCodec.decode(WorkerMessage.self, from: bytes)
            if case .configure(let configuration) = decoded {
                print("\(bytes.count) bytes, \(configuration.lvs?.virtualServers.count ?? 0) virtual servers")
            }
            return
        }
        let loaded = ConfigLoader.load(path: arguments[2])
        guard loaded.isValid else {
            print(loaded.diagnostics.errors.map(\.description).joined(separator: "\n"))
            exit(1)
        }
        let configuration = WorkerConfiguration(
            globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs)
        let message = MessageCodec.encode(WorkerMessage.configure(configuration))
        var random = SplitMix64()  // as the checker engine
        // Built before the clock starts: `replies` times the parse alone.
        let replies = step == "replies" ? IPVSReplies(desired: desiredTable(configuration, using: &random)) : nil
        let start = monotonicNanoseconds()
        var detail = ""
        for _ in 0..<repeats {
            switch step {
            case "parse":
                detail = "\(ConfigLoader.load(path: arguments[2]).config.lvs.virtualServers.count) virtual servers"
            case "save":
                let fd = open(arguments[arguments.count - 1], O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                detail = "\(message.count) bytes saved"
            case "encode":
                detail = "\(MessageCodec.encode(WorkerMessage.configure(configuration)).count) bytes"
            case "decode":
                let decoded = try MessageCodec.decode(WorkerMessage.self, from: message)
                detail = "\(message.count) bytes, equal: \(decoded == .configure(configuration))"
            case "configure":
                var core = CheckerCore()
                let change = core.configure(configuration, isReload: false, now: .zero, using: &random)
                detail = "\(change.build.count) real servers"
            case "reload":
                var core = CheckerCore()
                _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
                let change = core.configure(configuration, isReload: true, now: .seconds(1), using: &random)
                detail = "\(change.changed.count) virtual servers changed"
            case "desired":
                var core = CheckerCore()
                _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
                let desired = core.desiredState()
                let plan = desired.plan(
                    current: IPVSTable(), currentSyncDaemons: [],
                    currentTimeouts: IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300),
                    ownership: IPVSOwnership())
                detail = "\(plan.operations.count) operations"
            case "initial":
                // The watchdog's share of a start (`StartRules.program`): the rules worked out, then planned
                // against an empty kernel.
                let table = CheckerCore.initialTable(configuration)
                let plan = IPVSReconciler.plan(
                    desired: table, current: IPVSTable(), ownership: .adopting(table, current: IPVSTable()))
                detail = "\(plan.operations.count) operations"
            case "diff":
                let again = ConfigLoader.load(path: arguments[2])
                detail = "\(ConfigDiff(from: loaded.config, to: again.config).changes.count) changes"
            case "change":
                // FILE's configuration changed as FILE2 (the fourth argument) says: the reload message's work.
                // Read under FILE's name, as a reload of FILE edited to FILE2 would be.
                let text = try String(
                    contentsOfFile: arguments.count > 4 ? arguments[4] : arguments[2], encoding: .utf8)
                let other = ConfigLoader.load(text: text, name: arguments[2]).config
                let next = WorkerConfiguration(globalDefs: other.globalDefs, vrrp: other.vrrp, lvs: other.lvs)
                let change = WorkerConfigurationChange(sequence: 1, from: configuration, to: next)
                let bytes = MessageCodec.encode(WorkerMessage.reconfigure(change))
                guard case .reconfigure(let decoded) = try MessageCodec.decode(WorkerMessage.self, from: bytes),
                    decoded.applied(to: configuration) == next
                else { throw MicroError.mismatch }
                detail = "\(bytes.count) bytes, \(change.sentWhole) virtual servers whole"
            case "memory":
                // Bytes in use on the heap (mallinfo2) held by the parsed model, its encoding, the decoded copy
                // and the checker core built from it: what each process keeps for FILE.
                let base = heapInUse()
                var held: [Any] = []
                let tree = ConfigReader.read(path: arguments[2], from: DiskFileSource())
                let treeBytes = heapInUse() - base
                withExtendedLifetime(tree) {}
                let parsed = ConfigLoader.load(path: arguments[2]).config
                held.append(parsed)
                let afterParse = heapInUse()
                let encoded = MessageCodec.encode(WorkerMessage.configure(configuration))
                held.append(encoded)
                let afterEncode = heapInUse()
                guard case .configure(var decoded) = try MessageCodec.decode(WorkerMessage.self, from: encoded) else {
                    throw MicroError.mismatch
                }
                decoded.lvs?.dropSpareCapacity()  // as the worker does
                held.append(decoded)
                let afterDecode = heapInUse()
                var core = CheckerCore()
                _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
                held.append(core)
                let afterCore = heapInUse()
                // How each check runs (the engine's runners: TCP_CHECK's socket plans, the other probes).
                var runners = CheckRunners()
                runners.build(
                    core.entries.map(\.token), core: core, lvs: configuration.lvs ?? LVSConfig(),
                    make: {
                        HealthProbes.make(
                            checker: $0, realServer: $1, virtualServer: $2, group: nil, scripts: nil, sslContext: nil)
                    })
                held.append(runners)
                let afterRunners = heapInUse()
                // What the checker reports and the watchdog keeps: the state (every real server's health) and the
                // IPVS statistics (every real server's counters, named as the kernel and the file name them).
                let state = core.report(ipvsServices: [])
                held.append(state)
                let afterState = heapInUse()
                let statistics = IPVSStatisticsReport(
                    services: configuration.lvs?.virtualServers.map { server in
                        IPVSServiceStatistics(
                            virtualServer: VirtualServerNames.name(server.address), address: "\(server.address)",
                            protocolNumber: 6, counters: IPVSCounters(),
                            realServers: server.realServers.map { real in
                                IPVSRealServerStatistics(
                                    endpoint: ServerAddress(real.address, port: UInt16(real.port ?? 0)),
                                    naming: .withPort,
                                    weight: real.weight, activeConnections: 0, inactiveConnections: 0,
                                    persistentConnections: 0, counters: IPVSCounters())
                            })
                    } ?? [], readAt: 0)
                held.append(statistics)
                let afterStatistics = heapInUse()
                // The table the checker holds as the kernel's (IPVSSync), built from the desired state.
                held.append(core.desiredState().table)
                let afterTable = heapInUse()
                detail =
                    "parse tree \(treeBytes / 1024) KiB, model \((afterParse - base) / 1024) KiB, encoding \((afterEncode - afterParse) / 1024) KiB, "
                    + "decoded \((afterDecode - afterEncode) / 1024) KiB, checker core \((afterCore - afterDecode) / 1024) KiB, "
                    + "check runners \((afterRunners - afterCore) / 1024) KiB, "
                    + "state report \((afterState - afterRunners) / 1024) KiB, "
                    + "IPVS statistics \((afterStatistics - afterState) / 1024) KiB, "
                    + "IPVS table \((afterTable - afterStatistics) / 1024) KiB"
                withExtendedLifetime(held) {}
                detail +=
                    "; strides: VirtualServer \(MemoryLayout<VirtualServer>.stride), "
                    + "RealServer \(MemoryLayout<RealServer>.stride), Checker \(MemoryLayout<Checker>.stride), "
                    + "IPVSDestination \(MemoryLayout<IPVSDestination>.stride), "
                    + "RealServerReport \(MemoryLayout<RealServerReport>.stride), "
                    + "IPVSRealServerStatistics \(MemoryLayout<IPVSRealServerStatistics>.stride), "
                    + "CheckState \(MemoryLayout<HealthScheduler.CheckState>.stride), "
                    + "CheckTiming \(MemoryLayout<CheckTiming>.stride), "
                    + "ServerState \(MemoryLayout<HealthScheduler.ServerState>.stride)"
            case "replies":
                // The kernel's answers to one full read of FILE's table (the services dump, then each service's
                // real servers), parsed: what the checker's reads cost, apart from the system calls.
                let parsed = try replies!.parse()
                detail = "\(parsed.services) services, \(parsed.destinations) real servers"
            case "checks":
                var core = CheckerCore()
                _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
                var now = Duration.zero
                var done = 0
                while done < 100_000 {
                    now += .milliseconds(10)
                    for check in core.due(now: now) {
                        _ = core.completed(check.ticket, .success(), now: now)
                        done += 1
                    }
                }
                detail = "\(done) checks"
            default:
                print("unknown step \(step)")
                exit(2)
            }
        }
        let elapsed = Double(monotonicNanoseconds() - start) / 1e6 / Double(repeats)
        print("\(step): \(fixedPoint(elapsed, digits: 2)) ms each (\(detail))")
    }
}

enum MicroError: Error { case mismatch }

/// The rules FILE's configuration asks of IPVS.
func desiredTable(_ configuration: WorkerConfiguration, using random: inout some RandomNumberGenerator) -> IPVSTable {
    var core = CheckerCore()
    _ = core.configure(configuration, isReload: false, now: .zero, using: &random)
    return core.desiredState().table
}

/// Kernel replies (`ip_vs_genl_fill_service`, `_fill_dest`: every attribute, both statistics nests) holding a table.
struct IPVSReplies {
    typealias Service = IPVSGenericNetlink.ServiceAttribute
    typealias Destination = IPVSGenericNetlink.DestinationAttribute
    typealias Statistics = IPVSGenericNetlink.StatisticsAttribute
    let services: [UInt8]
    let destinations: [(IPVSServiceKey, [UInt8])]

    init(desired: IPVSTable) {
        func statistics(_ type: UInt16, wide: Bool) -> NetlinkAttribute {
            let counter: (UInt16, UInt64) -> NetlinkAttribute = { wide ? .u64($0, $1) : .u32($0, UInt32($1)) }
            return .nested(
                type,
                [
                    counter(Statistics.connections, 12), counter(Statistics.incomingPackets, 340),
                    counter(Statistics.outgoingPackets, 330), .u64(Statistics.incomingBytes, 45_000),
                    .u64(Statistics.outgoingBytes, 91_000), counter(Statistics.connectionRate, 1),
                    counter(Statistics.incomingPacketRate, 2), counter(Statistics.outgoingPacketRate, 3),
                    counter(Statistics.incomingByteRate, 4), counter(Statistics.outgoingByteRate, 5),
                ])
        }
        func address(_ address: IPAddress) -> [UInt8] {
            address.bytes + Array(repeating: 0, count: 16 - address.bytes.count)
        }
        func message(_ command: IPVSGenericNetlink.Command, _ attribute: NetlinkAttribute) -> [UInt8] {
            GenericNetlinkMessage(
                family: 0x1c, command: command.rawValue, version: 1, flags: [.multi], attributes: [attribute]
            )
            .encode(sequence: 1, portID: 1)
        }
        var services: [UInt8] = []
        var destinations: [(IPVSServiceKey, [UInt8])] = []
        for server in desired.virtualServers {
            let service = server.service
            var attributes: [NetlinkAttribute] = [
                .u16(Service.addressFamily, IPVSMessage.addressFamily(service.key.family))
            ]
            if case .address(let ip, let port, let proto) = service.key {
                attributes += [
                    .u16(Service.protocol, proto.rawValue), .bytes(Service.address, address(ip)),
                    .be16(Service.port, port),
                ]
            }
            attributes += [
                .string(Service.schedulerName, service.scheduler),
                .bytes(Service.flags, [2, 0, 0, 0, 255, 255, 255, 255]),
                .u32(Service.timeout, service.timeout), .u32(Service.netmask, 0xffff_ffff),
                statistics(Service.statistics, wide: false), statistics(Service.statistics64, wide: true),
            ]
            services += message(.newService, .nested(IPVSGenericNetlink.CommandAttribute.service, attributes))
            var dump: [UInt8] = []
            for real in server.destinations {
                dump += message(
                    .newDestination,
                    .nested(
                        IPVSGenericNetlink.CommandAttribute.destination,
                        [
                            .bytes(Destination.address, address(real.address)), .be16(Destination.port, real.port),
                            .u32(Destination.forwardingMethod, real.forwarding.rawValue),
                            .u32(Destination.weight, real.weight),
                            .u8(Destination.tunnelType, 0), .be16(Destination.tunnelPort, 0),
                            .u16(Destination.tunnelFlags, 0),
                            .u32(Destination.upperThreshold, 0), .u32(Destination.lowerThreshold, 0),
                            .u32(Destination.activeConnections, 3), .u32(Destination.inactiveConnections, 9),
                            .u32(Destination.persistentConnections, 0),
                            .u16(Destination.addressFamily, IPVSMessage.addressFamily(real.address.family)),
                            statistics(Destination.statistics, wide: false),
                            statistics(Destination.statistics64, wide: true),
                        ]))
            }
            destinations.append((service.key, dump))
        }
        self.services = services
        self.destinations = destinations
    }

    func parse() throws -> (services: Int, destinations: Int) {
        let services = try IPVSReply.services(NetlinkMessage.parseAll(self.services))
        var count = 0
        for (key, bytes) in destinations {
            count += try IPVSReply.destinations(NetlinkMessage.parseAll(bytes), serviceFamily: key.family).count
        }
        return (services.count, count)
    }
}

/// Bytes the allocator has handed out and not had back, over all arenas.
func heapInUse() -> Int { Int(cvigil_heap_in_use()) }
