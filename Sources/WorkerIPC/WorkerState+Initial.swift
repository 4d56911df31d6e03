import Config

extension WorkerState {
    /// What a worker owns before its engine has decided anything: every instance and server from the
    /// configuration, in the state the previous incarnation reported when there is one.
    public static func initial(_ configuration: WorkerConfiguration) -> WorkerState {
        let saved = configuration.savedState
        let instances = (configuration.vrrp?.instances ?? []).map { instance in
            saved?.vrrpInstances.first { $0.name == instance.name }
                ?? VRRPInstanceReport(name: instance.name, state: .initializing)
        }
        let servers = (configuration.lvs?.virtualServers ?? []).map { server in
            let name = VirtualServerNames.name(server.address)
            return saved?.virtualServers.first { $0.name == name }
                ?? VirtualServerReport(
                    name: name,
                    realServers: server.realServers.map {
                        RealServerReport(server: ServerAddress($0))
                    })
        }
        return WorkerState(vrrpInstances: instances, virtualServers: servers)
    }

    /// The plain-text dump of a state report (`SIGUSR1`).
    public var dumpText: String {
        var lines: [String] = []
        for instance in vrrpInstances {
            lines.append("vrrp_instance \(instance.name) \(instance.state.rawValue) \(instance.heldAddresses)")
        }
        for server in virtualServers {
            lines.append("virtual_server \(server.name) \(server.health.rawValue)")
            for real in server.realServers { lines.append("  real_server \(real.address) \(real.health.rawValue)") }
        }
        return lines.joined(separator: "\n")
    }
}

/// Virtual servers as keepalived.conf writes them.
public enum VirtualServerNames {
    public static func name(_ address: VirtualServerAddress) -> String {
        switch address {
        case .endpoint(let ip, let port): "\(ip) \(port)"
        case .fwmark(let mark): "fwmark \(mark)"
        case .group(let group): "group \(group)"
        }
    }
}
