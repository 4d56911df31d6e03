import CNetlink
import Config
import Foundation
import Netlink
import Testing
import VRRPWorker

#if canImport(Glibc)
    import Glibc
#endif

/// An `AF_PACKET` socket that sees every frame arriving on one interface (the veth peer of the sender).
final class FrameCapture {
    let descriptor: Int32

    init(interface: String) throws {
        descriptor = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(UInt16(0x0003).bigEndian))  // ETH_P_ALL
        guard descriptor >= 0 else { throw SetupError(message: "AF_PACKET socket: errno \(errno)") }
        var address = withUnsafeBytes(of: UInt16(AF_PACKET)) { Array($0) }
        address += withUnsafeBytes(of: UInt16(0x0003).bigEndian) { Array($0) }
        address += withUnsafeBytes(of: Int32(if_nametoindex(interface))) { Array($0) }
        address += [UInt8](repeating: 0, count: 12)
        let bound = address.withUnsafeBytes {
            bind(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else { throw SetupError(message: "bind AF_PACKET to \(interface): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// The first frame within three seconds for which `matches` holds.
    func first(where matches: ([UInt8]) -> Bool) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(3)
        var buffer = [UInt8](repeating: 0, count: 2048)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0, matches(Array(buffer[0..<count])) { return Array(buffer[0..<count]) }
        }
        return nil
    }
}

@Suite(.serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(1)))
struct LinkMonitorAndAnnouncerTests {
    @Test func linkMonitorSeesDownAndUp() throws {
        let namespace = try TestNamespace("monitor")
        defer { namespace.close() }
        try namespace.enter {
            let monitor = try LinkMonitor()
            #expect(fcntl(monitor.fileDescriptor, F_GETFL) & O_NONBLOCK != 0)
            #expect(fcntl(monitor.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
            #expect(monitor.drain().isEmpty)  // nothing yet, and drain does not block
            try forgeLinkUp(to: monitor)
            #expect(monitor.drain().isEmpty)  // a process is not the kernel: dropped and counted
            #expect(monitor.malformedMessages == 1)

            /// Events for vio0 until one has `isUp == wanted` (polling the descriptor as the engine would).
            func waitFor(_ wanted: Bool) -> [LinkEvent] {
                var seen: [LinkEvent] = []
                let deadline = Date().addingTimeInterval(3)
                while Date() < deadline {
                    var entry = pollfd(fd: monitor.fileDescriptor, events: Int16(POLLIN), revents: 0)
                    _ = poll(&entry, 1, 200)
                    seen += monitor.drain().filter { $0.name == "vio0" }
                    if seen.contains(where: { $0.isUp == wanted }) { break }
                }
                return seen
            }
            let index = try #require(try RouteNetlinkSocket().interfaceIndex(named: "vio0"))
            _ = namespace.ip("link", "set", "vio0", "down")
            let down = waitFor(false)
            #expect(down.contains(LinkEvent(name: "vio0", index: index, isUp: false)), "\(down)")
            _ = namespace.ip("link", "set", "vio0", "up")
            let up = waitFor(true)
            #expect(up.contains(LinkEvent(name: "vio0", index: index, isUp: true)), "\(up)")
            #expect(monitor.malformedMessages == 1)
        }
    }

    /// Sends a well-formed `RTM_NEWLINK` for "vio0" from an ordinary netlink socket straight to the monitor's port.
    func forgeLinkUp(to monitor: LinkMonitor) throws {
        var own = sockaddr_nl()
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        _ = withUnsafeMutablePointer(to: &own) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(monitor.fileDescriptor, $0, &length) }
        }
        let forger = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue), NETLINK_ROUTE)
        guard forger >= 0 else { throw SetupError(message: "netlink socket: errno \(errno)") }
        defer { close(forger) }
        var payload: [UInt8] = [0, 0, 1, 0, 3, 0, 0, 0, 0x41, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        payload += [NetlinkAttribute.string(3, "vio0")].encoded()
        let bytes = NetlinkMessage.encode(type: 16, flags: [], sequence: 1, payload: payload)
        var target = sockaddr_nl()
        target.nl_family = sa_family_t(AF_NETLINK)
        target.nl_pid = own.nl_pid
        let sent = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(forger, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard sent == bytes.count else { throw SetupError(message: "forged sendto: errno \(errno)") }
    }

    @Test func gratuitousARPLeavesTheInterface() throws {
        let namespace = try TestNamespace("garp")
        defer { namespace.close() }
        try namespace.enter {
            let mac = try #require(try RouteNetlinkSocket().hardwareAddress(named: "vio0"))
            let capture = try FrameCapture(interface: "vio1")
            let announcer = Announcer()
            try announcer.sendGratuitousARP(for: IPAddress("192.0.2.100")!, on: "vio0")
            let frame = try #require(capture.first { $0.count >= 42 && $0[12] == 0x08 && $0[13] == 0x06 })
            #expect(frame.count == 42, "\(frame)")
            #expect(Array(frame[0..<6]) == Announcement.broadcast)
            #expect(Array(frame[6..<12]) == mac)
            #expect(Array(frame[20..<22]) == [0, 1])  // request
            #expect(Array(frame[22..<28]) == mac)
            #expect(Array(frame[28..<32]) == [192, 0, 2, 100])
            #expect(Array(frame[38..<42]) == [192, 0, 2, 100])

            let error = #expect(throws: AnnounceError.self) {
                try announcer.sendGratuitousARP(for: IPAddress("192.0.2.100")!, on: "vio-nosuch")
            }
            #expect(error?.message == "cannot send gratuitous ARP for 192.0.2.100 on vio-nosuch: no such interface")
            #expect(throws: AnnounceError.self) {
                try announcer.sendGratuitousARP(for: IPAddress("2001:db8::1")!, on: "vio0")
            }
        }
    }

    @Test func unsolicitedNeighborAdvertisementLeavesTheInterface() throws {
        let namespace = try TestNamespace("na")
        defer { namespace.close() }
        let vip = IPAddress("2001:db8::100")!
        try namespace.enter {
            let mac = try #require(try RouteNetlinkSocket().hardwareAddress(named: "vio0"))
            let capture = try FrameCapture(interface: "vio1")
            try Announcer().sendUnsolicitedNA(for: vip, on: "vio0")
            let frame = try #require(
                capture.first { $0.count >= 86 && $0[12] == 0x86 && $0[13] == 0xdd && $0[20] == 58 && $0[54] == 136 })
            #expect(Array(frame[0..<6]) == [0x33, 0x33, 0, 0, 0, 1])
            #expect(Array(frame[6..<12]) == mac)
            #expect(frame[21] == 255)  // hop limit
            #expect(Array(frame[22..<38]) == vip.bytes)
            #expect(Array(frame[38..<54]) == IPAddress("ff02::1")!.bytes)
            #expect(frame[58] == 0x20)  // override
            #expect(Array(frame[62..<78]) == vip.bytes)
            #expect(Array(frame[78..<86]) == [2, 1] + mac)
            let pseudo = Array(frame[22..<54]) + [0, 0, 0, 32, 0, 0, 0, 58]
            #expect(onesComplementSum(pseudo + Array(frame[54..<86])) == 0xffff)
        }
    }

    @Test func receivingKernelLearnsTheNeighbor() throws {
        // The peer's kernel accepts our NA (checksum, hop limit and option all valid) and records the neighbour.
        let namespace = try TestNamespace("learn")
        defer { namespace.close() }
        _ = namespace.ip("addr", "add", "2001:db8::1/64", "dev", "vio1", "nodad")
        let vip = IPAddress("2001:db8::100")!
        try namespace.enter {
            let mac = try #require(try RouteNetlinkSocket().hardwareAddress(named: "vio0"))
            // An existing (STALE) entry is what an unsolicited NA with the override flag updates (RFC 4861 §7.2.5).
            _ = namespace.ip(
                "neigh", "replace", "2001:db8::100", "lladdr", "02:00:00:00:00:99", "dev", "vio1", "nud", "stale")
            try Announcer().sendUnsolicitedNA(for: vip, on: "vio0")
            let text = mac.map { String(format: "%02x", $0) }.joined(separator: ":")
            let deadline = Date().addingTimeInterval(3)
            var shown = ""
            while Date() < deadline {
                shown = namespace.ip("neigh", "show", "dev", "vio1")
                if shown.contains("2001:db8::100 lladdr \(text)") { break }
                usleep(50_000)
            }
            #expect(shown.contains("2001:db8::100 lladdr \(text)"), "\(shown)")
        }
    }
}
