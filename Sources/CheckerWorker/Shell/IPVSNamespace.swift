import CVigilShim
import IPVSShim
import Netlink
import Synchronization
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// `net_namespace_ipvs [NAME]`: the network namespace the checker worker's IPVS sockets are opened in, so IPVS (its
/// services, real servers and sync daemon) lives there while the health checks run in the worker's own namespace.
/// Read from the configuration at the first apply; keepalived cannot change it at a reload, and vigild refuses such a
/// reload.
final class IPVSNamespace: Sendable {
    private let name = Mutex<String?>(nil)

    /// Where the namespace is bound: `/run/netns/NAME` (`ip netns add`), and for a bare `net_namespace_ipvs` init's
    /// (`/proc/1/ns/net`), as keepalived opens them.
    static func path(_ name: String) -> String { name.isEmpty ? "/proc/1/ns/net" : "/run/netns/\(name)" }

    /// Sets the namespace (nil: the worker's own).
    func set(_ new: String?) { name.withLock { $0 = new } }

    /// A client over a socket opened in the namespace.
    /// - Throws: `NetlinkError` naming the namespace when it cannot be entered, or when IPVS is not there.
    func client() throws(NetlinkError) -> IPVSNetlinkClient {
        guard let name = name.withLock({ $0 }) else { return try IPVSNetlinkClient() }
        let socket = try Self.socket(in: name)
        do {
            return try IPVSNetlinkClient(transport: socket)
        } catch {
            var named = error
            named.message += " (in network namespace \(name.isEmpty ? "of init" : name), net_namespace_ipvs)"
            throw named
        }
    }

    /// A generic netlink socket opened on a thread of its own that entered the namespace (the namespace of a thread
    /// is its own, and ends with it: the worker's threads stay where they are). A socket keeps the namespace it was
    /// opened in. The corresponding C calls are `setns` and `genl_connect`.
    private static func socket(in name: String) throws(NetlinkError) -> GenericNetlinkSocket {
        /// Written by the thread before it ends, read after `pthread_join`: never touched by two threads at once.
        final class Handoff: @unchecked Sendable {
            var socket: GenericNetlinkSocket?
            var failure: NetlinkError?
        }
        let handoff = Handoff()
        let path = path(name)
        let created = WorkerThread.run(join: true) {
            guard cvigil_enter_net_namespace(path) == 0 else {
                let code = errno
                let why = String(cString: strerror(code))
                handoff.failure = NetlinkError(
                    kind: .library, code: code,
                    message: "net_namespace_ipvs: cannot enter network namespace \(name) (\(path)): \(why)")
                return
            }
            do throws(NetlinkError) {
                handoff.socket = try GenericNetlinkSocket()
            } catch {
                handoff.failure = error
            }
        }
        guard created == 0 else {
            throw NetlinkError(kind: .library, code: created, message: "net_namespace_ipvs: pthread_create failed")
        }
        if let failure = handoff.failure { throw failure }
        guard let socket = handoff.socket else {
            throw NetlinkError(kind: .library, code: 0, message: "net_namespace_ipvs: no socket")
        }
        return socket
    }
}
