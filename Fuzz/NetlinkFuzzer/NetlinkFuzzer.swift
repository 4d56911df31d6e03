import Config
import FuzzSupport
import IPVSShim
import Netlink

/// libFuzzer's entry point for what the kernel answers over netlink: the input is a series of datagrams (each
/// behind a 2-byte length) fed to a dump and an acknowledged transaction; every message parsed goes through the
/// generic netlink header, `NLMSG_ERROR`, link events and every IPVS reply parser. Any crash, hang or sanitizer
/// report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let datagrams = FuzzReplay.pieces(FuzzReplay.bytes(data, size))
    var dump = NetlinkTransaction(sequence: 1, style: .dump, operation: "fuzz dump")
    var acknowledged = NetlinkTransaction(sequence: 1, style: .acknowledged, operation: "fuzz request")
    var messages: [NetlinkMessage] = []
    for datagram in datagrams {
        _ = try? dump.receive(datagram)
        _ = try? acknowledged.receive(datagram)
        messages += (try? NetlinkMessage.parseAll(datagram)) ?? []
    }
    for message in messages {
        _ = try? GenericNetlinkReply(message)
        _ = try? NetlinkErrorMessage(message)
        _ = try? LinkEvent.decode(message)
    }
    _ = try? IPVSReply.services(messages)
    _ = try? IPVSReply.destinations(messages, serviceFamily: .ipv4)
    _ = try? IPVSReply.destinations(messages, serviceFamily: .ipv6)
    _ = try? IPVSReply.daemons(messages)
    _ = try? IPVSReply.timeouts(messages)
    _ = try? IPVSReply.info(messages)
    return 0
}

#if !FUZZING
    @main
    enum ReplayFuzzInputs {
        static func main() { FuzzReplay.run(Array(CommandLine.arguments.dropFirst()), fuzzNetlink) }
    }
#endif
