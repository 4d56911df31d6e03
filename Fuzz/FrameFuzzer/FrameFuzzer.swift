import Config
import FuzzSupport
import WorkerIPC

/// libFuzzer's entry point for the IPC frame decoder: the input is a series of datagrams (each behind a 2-byte
/// length) as a worker, the watchdog or a control client could send them; every message they complete is
/// decoded as a worker message and as a control request and answer (the binary codec). Any crash, hang or
/// sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var reader = WorkerFrameReader(maxMessageSize: 1 << 20)
    for datagram in FuzzReplay.pieces(FuzzReplay.bytes(data, size)) {
        guard let payload = try? reader.receive(datagram) else { continue }
        _ = try? MessageCodec.decode(WorkerMessage.self, from: payload, version: workerProtocolVersion)
        _ = try? MessageCodec.decode(ControlRequest.self, from: payload, version: controlProtocolVersion)
        _ = try? MessageCodec.decode(ControlResponse.self, from: payload, version: controlProtocolVersion)
    }
    return 0
}

/// The seed corpus: the messages of `Tests/WorkerIPCTests/MessageTests` and the control socket's, framed as
/// `MessageSocket` sends them, in the target's input format (`scripts/fuzz` runs `FrameFuzzer --write-seeds DIR`).
enum FrameSeeds {
    static let workerMessages: [WorkerMessage] = [
        .hello(WorkerHello(role: .vrrp, pid: 42, vigilVersion: "0.1.0")),
        .configure(WorkerConfiguration(globalDefs: GlobalDefs(), vrrp: VRRPConfig(), releaseOnStop: false)),
        .ping(sequence: 7),
        .pong(WorkerHeartbeat(sequence: 7, answeredAt: 1_000, progressAt: 900, maxLoopLag: 12)),
        .state(
            WorkerState(
                vrrpInstances: [VRRPInstanceReport(name: "VI_1", state: .master, heldAddresses: ["192.0.2.10/24"])],
                virtualServers: [
                    VirtualServerReport(
                        name: "192.0.2.10 80", health: .up,
                        realServers: [
                            RealServerReport(server: ServerAddress(configName: "198.51.100.1 80")!, health: .down)
                        ])
                ])),
        .event(WorkerEvent(summary: "VI_1 entered MASTER")),
        .command(id: 4, .stop(release: true)),
        .ack(id: 4, ok: true, detail: "stopping"),
    ]

    /// Each seed: its datagrams behind 2-byte lengths; a message split into 64-byte chunks, another whole.
    static func write(to directory: String) {
        var seeds: [String: [UInt8]] = [:]
        for (index, message) in workerMessages.enumerated() {
            let payload = MessageCodec.encode(message)
            seeds["worker-\(index)"] = framed(WorkerFrame.datagrams(for: payload, id: UInt32(index + 1)))
            seeds["worker-\(index)-chunks"] = framed(
                WorkerFrame.datagrams(for: payload, id: UInt32(index + 1), maxChunk: 64))
        }
        for (name, request) in [("status", ControlRequest.status), ("stop", .stop), ("reload-diff", .reloadDiff)] {
            seeds["control-\(name)"] = framed(
                WorkerFrame.datagrams(for: MessageCodec.encode(request, version: controlProtocolVersion), id: 1))
        }
        seeds["control-refused"] = framed(
            WorkerFrame.datagrams(
                for: MessageCodec.encode(
                    ControlResponse.refused("vigild is stopping"), version: controlProtocolVersion),
                id: 2))
        for (name, bytes) in seeds { FuzzReplay.write(bytes, to: "\(directory)/seed-\(name)") }
    }

    static func framed(_ datagrams: [[UInt8]]) -> [UInt8] {
        datagrams.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xff)] + $0 }
    }
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "--write-seeds", arguments.count == 2 {
                FrameSeeds.write(to: arguments[1])
            } else {
                FuzzReplay.run(arguments, fuzzFrames)
            }
        }
    }
#endif
