import CVigilShim
import CheckerWorker
import Config
import Foundation
import IPVSShim
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `vigil-microbench STEP FILE [REPEAT]`: one step of what the watchdog and the checker worker do with a
/// configuration, in process, timed (and instruction-counted under `valgrind --tool=callgrind`, which cannot follow
/// vigild's re-executed workers). Steps: parse, encode, decode, configure, reload, desired, diff (parse again and diff), change (FILE2's configuration as a reload message from FILE's: built, encoded,
/// decoded, applied), checks.
@main
struct MicroBenchmark {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            print(
                "usage: vigil-microbench parse|encode|decode|configure|reload|desired|diff|change|checks FILE [REPEAT [FILE2]]"
            )
            exit(2)
        }
        let step = arguments[1]
        let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
        let loaded = ConfigLoader.load(path: arguments[2])
        guard loaded.isValid else {
            print(loaded.diagnostics.errors.map(\.description).joined(separator: "\n"))
            exit(1)
        }
        let configuration = WorkerConfiguration(
            globalDefs: loaded.config.globalDefs, vrrp: loaded.config.vrrp, lvs: loaded.config.lvs)
        let message = MessageCodec.encode(WorkerMessage.configure(configuration))
        var random = SystemRandomNumberGenerator()
        let start = monotonicNanoseconds()
        var detail = ""
        for _ in 0..<repeats {
            switch step {
            case "parse":
                detail = "\(ConfigLoader.load(path: arguments[2]).config.lvs.virtualServers.count) virtual servers"
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
                detail =
                    "model \((afterParse - base) / 1024) KiB, encoding \((afterEncode - afterParse) / 1024) KiB, "
                    + "decoded \((afterDecode - afterEncode) / 1024) KiB, checker core \((afterCore - afterDecode) / 1024) KiB"
                withExtendedLifetime(held) {}
                detail +=
                    "; strides: VirtualServer \(MemoryLayout<VirtualServer>.stride), "
                    + "RealServer \(MemoryLayout<RealServer>.stride), Checker \(MemoryLayout<Checker>.stride)"
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

/// Bytes the allocator has handed out and not had back, over all arenas.
func heapInUse() -> Int { Int(cvigil_heap_in_use()) }
