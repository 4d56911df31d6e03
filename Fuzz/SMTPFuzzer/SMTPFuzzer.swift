import FuzzSupport

@testable import CheckerWorker

/// libFuzzer's entry point for SMTP_CHECK's dialogue: the input is the server's side cut into reads (each behind
/// a 2-byte length), fed until the dialogue decides. Any crash, hang or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var dialogue = SMTPDialogue(heloName: "fuzz.example", label: "SMTP_CHECK fuzz")
    _ = dialogue.connected()
    for read in FuzzReplay.pieces(FuzzReplay.bytes(data, size)) {
        if case .finish = dialogue.received(read, eof: false) { return 0 }
    }
    _ = dialogue.received([], eof: true)
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzSMTP) }
    }
#endif
