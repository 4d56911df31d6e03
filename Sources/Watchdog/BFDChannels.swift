import Logging
import WorkerIPC

#if canImport(Glibc)
    import Glibc
#endif

/// The direct channels between the BFD worker and its trackers (the VRRP and checker workers): one
/// `SOCK_SEQPACKET` socketpair per tracker role, made once by the watchdog and handed to every incarnation of
/// the workers at spawn (`--bfd-channel ROLE=FD`). The watchdog keeps both ends open and never reads them, so a
/// channel outlives the restart of either side: what the BFD worker sends while a tracker restarts waits in the
/// socket, and a restarted BFD worker writes to the same trackers. Why a direct channel and not the watchdog's
/// relay: see `BFDEngine`.
struct BFDChannels {
    /// Descriptors (numbered 10 or more, close-on-exec) by tracker role: the BFD worker's end and the tracker's.
    let ends: [WorkerRole: (bfd: Int32, tracker: Int32)]

    /// The file descriptor a worker gets each of its channels on.
    static let firstDescriptor: Int32 = 4

    static func open() throws(WatchdogError) -> BFDChannels {
        var ends: [WorkerRole: (bfd: Int32, tracker: Int32)] = [:]
        for role in [WorkerRole.vrrp, .checker] {
            let pair: (Int32, Int32)
            do {
                pair = try MessageSocket.pair()
            } catch {
                throw WatchdogError(code: error.code, "BFD channel to the \(role) worker: \(error)")
            }
            defer {
                close(pair.0)
                close(pair.1)
            }
            ends[role] = (try Syscalls.duplicateHigh(pair.0), try Syscalls.duplicateHigh(pair.1))
        }
        return BFDChannels(ends: ends)
    }

    /// What `role`'s worker inherits (descriptor, number in the worker) and each peer's number there (its
    /// `--bfd-channel`s, `WorkerCommandLine.peerChannels`).
    func spawnPlan(for role: WorkerRole) -> (inherit: [(source: Int32, target: Int32)], channels: [WorkerRole: Int32]) {
        var inherit: [(source: Int32, target: Int32)] = []
        var channels: [WorkerRole: Int32] = [:]
        var next = Self.firstDescriptor
        let peers: [(WorkerRole, Int32)] =
            role == .bfd
            ? [WorkerRole.vrrp, .checker].compactMap { peer in ends[peer].map { (peer, $0.bfd) } }
            : ends[role].map { [(WorkerRole.bfd, $0.tracker)] } ?? []
        for (peer, descriptor) in peers {
            inherit.append((descriptor, next))
            channels[peer] = next
            next += 1
        }
        return (inherit, channels)
    }
}

/// A tracker's end of its BFD channel, read by the worker runtime's main thread: each message goes to the
/// engine's loop, stamped with when it was read (the engine measures the delivery).
struct BFDChannelReader {
    let socket: MessageSocket

    /// Reads every waiting message; false when the channel is gone (the watchdog died).
    func drain(into engine: WorkerEngine, progress: WorkerProgress, logger: Logger) -> Bool {
        while true {
            switch socket.receive(BFDChannelMessage.self) {
            case .message(let message):
                let receivedAt = monotonicNanoseconds()
                engine.execute {
                    engine.bfdSessionsReceived(message, at: receivedAt)
                    progress.mark()
                }
            case .malformed(let why): logger.warning("dropped a malformed message on the BFD channel: \(why)")
            case .wouldBlock: return true
            case .closed: return false
            }
        }
    }
}
