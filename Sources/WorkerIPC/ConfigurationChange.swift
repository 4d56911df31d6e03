import Config

/// A reload as the watchdog sends it to a worker that already runs: the new `WorkerConfiguration` told as a change
/// of the one the worker holds, so that a reload touching one real server of 10,000 does not encode, send and decode
/// megabytes (1,000 × 10 was 1.2 MB, 300 ms of a host's CPU each way). Everything but the virtual servers is sent
/// whole (it is small); each virtual server is either "the one at this index of your list" (unchanged, compared with
/// `==`, which leaves out where its blocks stand in the file: `NotCompared`) or sent whole. The worker rebuilds the
/// configuration the watchdog holds, but for the line numbers of virtual servers that only moved.
///
/// `sequence` is how many configurations the watchdog sent this worker before this one: a worker that counted a
/// different number (a message lost, or a bug) must not guess, and exits to be restarted with the whole configuration.
public struct WorkerConfigurationChange: Codable, Sendable, Hashable {
    /// One virtual server of the new list.
    public enum VirtualServerEntry: Codable, Sendable, Hashable {
        /// The virtual server at this index of the list the worker holds, unchanged.
        case kept(Int)
        /// A new or changed virtual server.
        case new(VirtualServer)
    }

    public var sequence: UInt64
    /// The new configuration with `lvs.virtualServers` emptied (they are in `virtualServers`).
    public var rest: WorkerConfiguration
    /// The new list of virtual servers; nil when the configuration has no `lvs` part.
    public var virtualServers: [VirtualServerEntry]?

    /// The change from `old` to `new`; `sequence` as above. `savedState` is not sent: a running worker has its own.
    public init(sequence: UInt64, from old: WorkerConfiguration, to new: WorkerConfiguration) {
        self.sequence = sequence
        rest = new
        rest.savedState = nil
        rest.lvs?.virtualServers = []
        guard let servers = new.lvs?.virtualServers else {
            virtualServers = nil
            return
        }
        let previous = old.lvs?.virtualServers ?? []
        // Most reloads keep the order: compare in place first. When that fails (the virtual server changed, or moved),
        // the old ones at the same address are its candidates: indexed by address, not by value (hashing every old
        // virtual server whole, for one changed weight among 1,000 × 10, was half of a reload's work here).
        var index: [VirtualServerAddress: [Int]]?
        var entries: [VirtualServerEntry] = []
        entries.reserveCapacity(servers.count)
        for position in servers.indices {
            if position < previous.count, previous[position] == servers[position] {
                entries.append(.kept(position))
                continue
            }
            if index == nil {
                var built: [VirtualServerAddress: [Int]] = [:]
                built.reserveCapacity(previous.count)
                for old in previous.indices { built[previous[old].address, default: []].append(old) }
                index = built
            }
            let match = index?[servers[position].address]?.first { old in
                old != position && previous[old] == servers[position]
            }
            entries.append(match.map { .kept($0) } ?? .new(servers[position]))
        }
        virtualServers = entries
    }

    /// The configuration this change makes of `old`; nil when it does not fit `old` (an index out of its range).
    public func applied(to old: WorkerConfiguration) -> WorkerConfiguration? {
        var result = rest
        guard let entries = virtualServers else { return result }
        let previous = old.lvs?.virtualServers ?? []
        var servers: [VirtualServer] = []
        servers.reserveCapacity(entries.count)
        for entry in entries {
            switch entry {
            case .kept(let index):
                guard previous.indices.contains(index) else { return nil }
                servers.append(previous[index])
            case .new(let server): servers.append(server)
            }
        }
        if result.lvs == nil { result.lvs = LVSConfig() }
        result.lvs?.virtualServers = servers
        return result
    }

    /// How many virtual servers are sent whole.
    public var sentWhole: Int {
        virtualServers?.reduce(0) { count, entry in if case .new = entry { count + 1 } else { count } } ?? 0
    }
}
