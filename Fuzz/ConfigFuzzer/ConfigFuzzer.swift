import Config
import FuzzSupport

/// libFuzzer's entry point: the bytes become a configuration file and go through the whole reader
/// and schema. Any crash, hang or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let files = InMemoryFileSource([
        "/fuzz/keepalived.conf": text,
        // Something for `include` lines to find, including the file itself (a loop).
        "/fuzz/conf.d/a.conf": text,
    ])
    let options = ConfigReaderOptions(configID: "main", maxExpandedLines: 200_000)
    _ = ConfigLoader.load(path: "/fuzz/keepalived.conf", from: files, options: options)
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzConfig) }
    }
#endif
