/// An interface the VRRP part of a configuration names, and the line that names it.
public struct NamedInterface: Sendable, Hashable {
    public var name: String
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

extension KeepalivedConfig {
    /// The interfaces the VRRP part names, first mention of each, as keepalived looks them up when it reads the file:
    /// each instance's `interface`, its `track_interface`s, the `dev` of its addresses and routes and the `iif`/`oif`
    /// of its rules, the same on the `static_*` lines (`default_interface` for a static address without `dev`), the
    /// sync groups' `track_interface`s, the `garp_group`s' and `interface_up_down_delays`' interfaces. Without
    /// `dynamic_interfaces` keepalived refuses to run the VRRP part when one of them does not exist.
    public var namedInterfaces: [NamedInterface] {
        var named: [NamedInterface] = []
        func add(_ name: String?, _ location: SourceLocation) {
            if let name, !name.isEmpty { named.append(NamedInterface(name: name, location: location)) }
        }
        func rule(_ line: VirtualRule) {
            for option in line.options where ["iif", "oif"].contains(option.first) && option.count > 1 {
                add(option[1], line.location)
            }
        }
        let hasVRRP =
            !vrrp.instances.isEmpty || !vrrp.staticAddresses.isEmpty || !vrrp.staticRoutes.isEmpty
            || !vrrp.staticRules.isEmpty
        guard hasVRRP else { return [] }
        for address in vrrp.staticAddresses { add(address.device ?? globalDefs.defaultInterface, address.location) }
        for route in vrrp.staticRoutes { add(route.device, route.location) }
        vrrp.staticRules.forEach(rule)
        for instance in vrrp.instances {
            add(instance.interface, instance.location)
            for tracked in instance.trackInterfaces { add(tracked.name, tracked.location ?? instance.location) }
            for address in instance.virtualAddresses + instance.excludedVirtualAddresses {
                add(address.device, address.location)
            }
            for route in instance.virtualRoutes { add(route.device, route.location) }
            instance.virtualRules.forEach(rule)
        }
        for group in vrrp.syncGroups {
            for tracked in group.trackInterfaces { add(tracked.name, tracked.location ?? group.location) }
        }
        for group in vrrp.garpGroups {
            for name in group.interfaces { add(name, group.location) }
        }
        for line in vrrp.interfaceUpDownDelays { add(line.interface, line.location) }
        var seen: Set<String> = []
        return named.filter { seen.insert($0.name).inserted }
    }
}
