import FuzzSupport
import Monitoring

/// libFuzzer's entry point for the metrics listener's request parser: the input is what a client sends, cut into
/// reads (each behind a 2-byte length), fed as the listener does — the whole input so far parsed after each read,
/// a complete request consumed, the rest kept for the next. Parsing must agree with parsing everything at once, never
/// consume more than it was given, and every request it accepts must route to a response. Any crash, hang, mismatch
/// or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetricsHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let reads = FuzzReplay.pieces(FuzzReplay.bytes(data, size))
    var input: [UInt8] = []
    var heads: [HTTPRequestHead] = []
    var refused = false
    for read in reads where !refused {
        input += read
        while true {
            switch HTTPRequestParser.parse(input) {
            case .incomplete:
                break
            case .invalid(let error):
                _ = HTTPResponse.text(error.status, error.reason).serialized(keepAlive: false)
                refused = true
            case .request(let head, let consumed):
                precondition(consumed > 0 && consumed <= input.count, "consumed \(consumed) of \(input.count)")
                heads.append(head)
                if case .response(let response) = MonitoringEndpoint.route(head) {
                    _ = response.serialized(keepAlive: head.keepAlive, omitBody: head.method == "HEAD")
                }
                input.removeFirst(consumed)
                continue
            }
            break
        }
    }
    // The same bytes in one read give the same requests.
    var whole = reads.flatMap { $0 }
    var again: [HTTPRequestHead] = []
    while case .request(let head, let consumed) = HTTPRequestParser.parse(whole) {
        again.append(head)
        whole.removeFirst(consumed)
    }
    precondition(again.count >= heads.count && Array(again.prefix(heads.count)) == heads, "\(heads) vs \(again)")
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzMetricsHTTP) }
    }
#endif
