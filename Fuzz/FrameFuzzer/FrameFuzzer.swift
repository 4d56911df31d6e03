import FuzzSupport
import WorkerIPC

/// libFuzzer's entry point for the IPC frame decoder: the input is a series of datagrams (each behind a 2-byte
/// length) as a worker, the watchdog or a control client could send them; every message they complete is
/// decoded as a worker message and as a control request and answer. Any crash, hang or sanitizer report is a
/// bug.
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

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzFrames) }
    }
#endif
