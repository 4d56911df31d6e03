import Config
import FuzzSupport
import VRRPWorker

/// libFuzzer's entry point for the VRRP receive path: the bytes are an IPv4 datagram (header stripped and
/// checked as the raw socket's receive does) and, unstripped, an IPv6 VRRP message; each goes through every
/// receive check of a v2 instance with a password, a v3 instance and a v3 unicast instance. Any crash, hang or
/// sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVRRP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzReplay.bytes(data, size)
    var statistics = VRRPReceiveStatistics()
    if let stripped = try? IPv4Header.strip(bytes) {
        for filter in VRRPFuzzFilters.ipv4 {
            statistics.record(
                filter.check(stripped.message, packet: stripped.packet, currentMaster: stripped.packet.source))
        }
    }
    let packet = VRRPPacketInfo(
        source: IPAddress("fe80::1")!, destination: IPAddress("ff02::12")!, hopLimit: bytes.first ?? 255)
    for filter in VRRPFuzzFilters.ipv6 {
        statistics.record(filter.check(bytes.dropFirst(), packet: packet))
    }
    return 0
}

enum VRRPFuzzFilters {
    static let ipv4 = [
        VRRPReceiveFilter(
            version: .v2, virtualRouterID: 51, authentication: .simplePassword(Array("secret\0\0".utf8)),
            virtualAddresses: [IPAddress("192.0.2.10")!, IPAddress("192.0.2.11")!]),
        VRRPReceiveFilter(
            version: .v3, virtualRouterID: 7, virtualAddresses: [IPAddress("192.168.1.100")!], strict: true),
        VRRPReceiveFilter(
            version: .v3, virtualRouterID: 7, virtualAddresses: [IPAddress("192.0.2.10")!],
            unicastPeers: [IPAddress("192.0.2.2")!], checkUnicastSource: true),
    ]
    static let ipv6 = [
        VRRPReceiveFilter(
            version: .v3, virtualRouterID: 10, virtualAddresses: [IPAddress("fe80::100")!, IPAddress("2001:db8::100")!])
    ]
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzVRRP) }
    }
#endif
