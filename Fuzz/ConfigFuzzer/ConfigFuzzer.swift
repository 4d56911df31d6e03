import Config

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
    /// Without libFuzzer (a plain `swift build`), the target replays inputs given as file paths, so a
    /// crash file from a fuzzing run can be re-run under a debugger.
    @main
    enum ReplayFuzzInputs {
        static func main() {
            for path in CommandLine.arguments.dropFirst() {
                guard let bytes = try? DiskFileSource().read(path, limit: 64 << 20) else {
                    print("cannot read \(path)")
                    continue
                }
                _ = bytes.withUnsafeBufferPointer { fuzzConfig($0.baseAddress!, $0.count) }
                print("\(path): ok")
            }
        }
    }
#endif
