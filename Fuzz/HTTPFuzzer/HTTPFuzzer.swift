import FuzzSupport

@testable import CheckerWorker

/// libFuzzer's entry point for HTTP_GET's reply parser: the input is a reply cut into reads (each behind a
/// 2-byte length), fed incrementally with and without a body wanted; the result must equal the whole reply
/// parsed at once. Any crash, hang, mismatch or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let reads = FuzzReplay.pieces(FuzzReplay.bytes(data, size))
    for needBody in [true, false] {
        var parser = HTTPResponseParser(needBody: needBody)
        var result = HTTPResponseParser.Result.incomplete
        for read in reads where result == .incomplete {
            result = parser.feed(read[...], eof: false)
        }
        if result == .incomplete { result = parser.feed([], eof: true) }
        let whole = HTTPResponseParser.parse(reads.flatMap { $0 }, eof: true, needBody: needBody)
        precondition(result == whole, "split reads gave \(result), the whole reply \(whole)")
    }
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzHTTP) }
    }
#endif
