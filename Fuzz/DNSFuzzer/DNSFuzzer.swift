import Config
import FuzzSupport

@testable import CheckerWorker

/// libFuzzer's entry point for DNS_CHECK's response parser: the input's first bytes pick the query (id, name,
/// type), the rest is the response, whose id is set to the query's half the time so the parser gets past the
/// header. Any crash, hang or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = FuzzReplay.bytes(data, size)
    guard bytes.count >= 2 else { return 0 }
    let names = ["www.example.com", ".", "a.b.c.d.e.f.g.h", "Example.TEST"]
    let types: [DNSCheck.QueryType] = [.a, .ns, .cname, .soa, .mx, .txt, .aaaa]
    let name = names[Int(bytes[0] & 3)]
    let type = types[Int(bytes[0] >> 2) % types.count]
    let matchID = bytes[1] & 1 == 1
    bytes.removeFirst(2)
    guard let query = DNSMessage.query(id: 0x1234, name: name, type: type) else { return 0 }
    if matchID && bytes.count >= 2 {
        bytes[0] = 0x12
        bytes[1] = 0x34
    }
    _ = DNSMessage.judge(reply: bytes, query: query)
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzDNS) }
    }
#endif
