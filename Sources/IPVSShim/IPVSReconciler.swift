import Config

/// A virtual service and its real servers.
public struct IPVSVirtualServer: Hashable, Sendable {
    public var service: IPVSService
    public var destinations: [IPVSDestination]

    public init(service: IPVSService, destinations: [IPVSDestination] = []) {
        self.service = service
        self.destinations = destinations
    }

    /// The same without what only the kernel reports (counters, connections open now): what a plan compares.
    public var settings: IPVSVirtualServer {
        guard destinations.contains(where: { $0.statistics != nil || $0.hasConnections }) || service.statistics != nil
        else { return self }
        var stripped = self
        stripped.service.statistics = nil
        for index in stripped.destinations.indices {
            stripped.destinations[index].statistics = nil
            stripped.destinations[index].activeConnections = 0
            stripped.destinations[index].inactiveConnections = 0
            stripped.destinations[index].persistentConnections = 0
        }
        return stripped
    }

    /// The real server at `address` and `port`, if present.
    public func destination(at address: IPAddress, port: UInt16) -> IPVSDestination? {
        destinations.first { $0.address == address && $0.port == port }
    }
}

/// The kernel's IPVS rules, or the rules the configuration wants.
public struct IPVSTable: Hashable, Sendable {
    public var virtualServers: [IPVSVirtualServer]

    public init(_ virtualServers: [IPVSVirtualServer] = []) {
        self.virtualServers = virtualServers
    }

    /// The virtual server with `key`, if present. A linear search: planners over large tables use `byKey`.
    public subscript(key: IPVSServiceKey) -> IPVSVirtualServer? {
        virtualServers.first { $0.service.key == key }
    }

    /// Every virtual server by its key (the first one where a key repeats).
    public var byKey: [IPVSServiceKey: IPVSVirtualServer] {
        Dictionary(virtualServers.map { ($0.service.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every real server's identity.
    public var destinationKeys: Set<IPVSDestinationKey> {
        Set(
            virtualServers.flatMap { server in
                server.destinations.map { IPVSDestinationKey(service: server.service.key, destination: $0) }
            })
    }
}

/// The rules Vigil added or adopted, so it removes those and nothing else.
public struct IPVSOwnership: Hashable, Sendable {
    public var services: Set<IPVSServiceKey>
    public var destinations: Set<IPVSDestinationKey>

    public init(services: Set<IPVSServiceKey> = [], destinations: Set<IPVSDestinationKey> = []) {
        self.services = services
        self.destinations = destinations
    }
}

/// What to do with rules in the kernel that Vigil does not own.
public enum IPVSForeignRulePolicy: Sendable, Hashable {
    /// Leave them: another tool (or an operator with ipvsadm) put them there.
    case leave
    /// Remove them as if they were Vigil's (keepalived's `lvs_flush` at start, `lvs_flush_onstop` at stop).
    case remove
}

/// The operations bringing the kernel to the desired state, and who owns what once they are applied.
public struct IPVSPlan: Hashable, Sendable {
    public var operations: [IPVSOperation]
    /// The ownership to keep for the next plan, assuming every operation succeeds.
    public var ownership: IPVSOwnership

    public init(operations: [IPVSOperation], ownership: IPVSOwnership) {
        self.operations = operations
        self.ownership = ownership
    }
}

/// Plans the smallest set of IPVS operations from the current to the desired table. Pure.
///
/// - A desired rule missing from the kernel is added; one present is adopted (owned from now on) and, if a setting
///   differs, edited in place with `SET_SERVICE`/`SET_DEST`, never deleted and re-added.
/// - A rule that is not desired is deleted only if owned, or if the policy says to remove foreign rules.
/// - Order: deletions of real servers, deletions of services, service edits, then each new service followed by its
///   real servers, then real server edits and additions in existing services. A deleted service takes its real
///   servers with it in the kernel (`ip_vs_del_service`), so they get no operations of their own.
public enum IPVSReconciler {
    /// Services compared between two calls of `plan`'s `progress`.
    static let progressEvery = 64

    /// Plans the changes at start or reload.
    /// - Parameter progress: called every `progressEvery` services compared: a long plan (tens of thousands of real
    ///   servers on a slow machine) is work the caller's liveness check must see as such.
    public static func plan(
        desired: IPVSTable, current: IPVSTable, ownership: IPVSOwnership, foreignRules: IPVSForeignRulePolicy = .leave,
        progress: () -> Void = {}
    ) -> IPVSPlan {
        var deletions: [IPVSOperation] = []
        var serviceDeletions: [IPVSOperation] = []
        var serviceEdits: [IPVSOperation] = []
        var additions: [IPVSOperation] = []
        var destinationChanges: [IPVSOperation] = []
        var owned = ownership

        // Built only when something is looked up in it: a first start (an empty kernel, nothing owned) needs neither
        // this set nor the filtering of the ownership at the end.
        lazy var desiredDestinations = desired.destinationKeys
        let desiredByKey = desired.byKey
        let currentByKey = current.byKey

        func removable(_ isOwned: Bool) -> Bool { isOwned || foreignRules == .remove }

        for (index, server) in current.virtualServers.enumerated() {
            if index % progressEvery == progressEvery - 1 { progress() }
            let key = server.service.key
            guard desiredByKey[key] != nil else {
                if removable(owned.services.contains(key)) {
                    serviceDeletions.append(.deleteService(key))
                    owned.services.remove(key)
                    owned.destinations = owned.destinations.filter { $0.service != key }
                } else {
                    // A foreign service keeps its real servers, even ones we once owned.
                    for destination in server.destinations {
                        let destinationKey = IPVSDestinationKey(service: key, destination: destination)
                        if owned.destinations.contains(destinationKey) {
                            deletions.append(.deleteDestination(destinationKey))
                            owned.destinations.remove(destinationKey)
                        }
                    }
                }
                continue
            }
            for destination in server.destinations {
                let destinationKey = IPVSDestinationKey(service: key, destination: destination)
                if !desiredDestinations.contains(destinationKey), removable(owned.destinations.contains(destinationKey))
                {
                    deletions.append(.deleteDestination(destinationKey))
                    owned.destinations.remove(destinationKey)
                }
            }
        }

        for (index, server) in desired.virtualServers.enumerated() {
            if index % progressEvery == progressEvery - 1 { progress() }
            let key = server.service.key
            owned.services.insert(key)
            guard let existing = currentByKey[key] else {
                additions.append(.addService(server.service))
                for destination in server.destinations {
                    additions.append(.addDestination(destination, service: key))
                    owned.destinations.insert(IPVSDestinationKey(service: key, destination: destination))
                }
                continue
            }
            if !server.service.hasSameSettings(as: existing.service) {
                serviceEdits.append(.editService(server.service))
            }
            let presentDestinations = Dictionary(
                existing.destinations.map { (IPVSDesiredState.IPVSEndpoint(address: $0.address, port: $0.port), $0) },
                uniquingKeysWith: { first, _ in first })
            for destination in server.destinations {
                owned.destinations.insert(IPVSDestinationKey(service: key, destination: destination))
                if let present = presentDestinations[
                    IPVSDesiredState.IPVSEndpoint(address: destination.address, port: destination.port)]
                {
                    if !destination.hasSameSettings(as: present) {
                        destinationChanges.append(.editDestination(destination, service: key))
                    }
                } else {
                    destinationChanges.append(.addDestination(destination, service: key))
                }
            }
        }

        // Forget rules that vanished from the kernel behind our back and are not wanted any more. What this plan added
        // to the ownership is wanted: only what was owned before can be such a rule.
        if !ownership.services.isEmpty {
            let present = Set(current.virtualServers.map(\.service.key))
            owned.services.subtract(
                ownership.services.filter { !present.contains($0) && desiredByKey[$0] == nil })
        }
        if !ownership.destinations.isEmpty {
            let presentDestinations = current.destinationKeys
            owned.destinations.subtract(
                ownership.destinations.filter {
                    !presentDestinations.contains($0) && !desiredDestinations.contains($0)
                })
        }

        return IPVSPlan(
            operations: deletions + serviceDeletions + serviceEdits + additions + destinationChanges,
            ownership: owned)
    }

    /// Plans the changes at stop: remove what Vigil owns, or everything with `.remove` (`lvs_flush_onstop`),
    /// which is one `FLUSH`.
    public static func stop(current: IPVSTable, ownership: IPVSOwnership, foreignRules: IPVSForeignRulePolicy = .leave)
        -> IPVSPlan
    {
        if foreignRules == .remove {
            return IPVSPlan(operations: current.virtualServers.isEmpty ? [] : [.flush], ownership: IPVSOwnership())
        }
        let plan = plan(desired: IPVSTable(), current: current, ownership: ownership)
        return IPVSPlan(operations: plan.operations, ownership: IPVSOwnership())
    }
}

extension IPVSTable {
    /// The table after `operation` succeeded: how a program that holds the kernel's rules follows its own writes
    /// without reading them back. Counters and connection figures of edited rules are kept.
    public mutating func apply(_ operation: IPVSOperation) {
        let index = operation.serviceKey.flatMap { key in virtualServers.firstIndex { $0.service.key == key } }
        apply(operation, at: index)
    }

    /// The table after every one of `operations` succeeded, in order: the same as applying each, with the services
    /// found through one index instead of a search per operation (a plan of thousands of operations on a table of
    /// thousands of services).
    public mutating func apply(_ operations: some Sequence<IPVSOperation>) {
        var indexOf: [IPVSServiceKey: Int] = [:]
        indexOf.reserveCapacity(virtualServers.count)
        for (index, server) in virtualServers.enumerated() where indexOf[server.service.key] == nil {
            indexOf[server.service.key] = index
        }
        // Deleted services leave a hole until the end, so the index stays right.
        var deleted: Set<Int> = []
        for operation in operations {
            let key = operation.serviceKey
            let index = key.flatMap { indexOf[$0] }
            switch operation {
            case .deleteService:
                if let index, let key {
                    deleted.insert(index)
                    indexOf[key] = nil
                }
            case .addService(let service) where index == nil:
                indexOf[service.key] = virtualServers.count
                virtualServers.append(IPVSVirtualServer(service: service))
            case .flush:
                deleted = []
                indexOf = [:]
                virtualServers = []
            default:
                apply(operation, at: index)
            }
        }
        if !deleted.isEmpty {
            virtualServers = virtualServers.enumerated().filter { !deleted.contains($0.offset) }.map(\.element)
        }
    }

    /// `operation` on the virtual server at `index`, nil when the table has none. The batch above removes deleted
    /// services itself, at its end.
    private mutating func apply(_ operation: IPVSOperation, at index: Int?) {
        switch operation {
        case .addService(let service):
            if let index {
                virtualServers[index].service = service
            } else {
                virtualServers.append(IPVSVirtualServer(service: service))
            }
        case .editService(let service):
            guard let index else { return }
            var edited = service
            edited.statistics = virtualServers[index].service.statistics
            virtualServers[index].service = edited
        case .deleteService:
            if let index { virtualServers.remove(at: index) }
        case .addDestination(let destination, _), .editDestination(let destination, _):
            guard let index else { return }
            if let position = virtualServers[index].destinations.firstIndex(where: {
                $0.address == destination.address && $0.port == destination.port
            }) {
                var edited = destination
                let old = virtualServers[index].destinations[position]
                (edited.activeConnections, edited.inactiveConnections) = (
                    old.activeConnections, old.inactiveConnections
                )
                (edited.persistentConnections, edited.statistics) = (old.persistentConnections, old.statistics)
                virtualServers[index].destinations[position] = edited
            } else {
                virtualServers[index].destinations.append(destination)
            }
        case .deleteDestination(let key):
            guard let index else { return }
            virtualServers[index].destinations.removeAll { $0.address == key.address && $0.port == key.port }
        case .flush:
            virtualServers = []
        case .startSyncDaemon, .stopSyncDaemon, .setTimeouts, .zeroCounters:
            return
        }
    }
}
