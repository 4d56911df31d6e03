/// The VRRP half of a configuration: static addresses, routes and rules, tracking scripts and files,
/// sync groups and instances, in file order.
public struct VRRPConfig: Sendable, Hashable, Codable {
    /// `static_ipaddress { }`: configured at startup, never moved.
    public var staticAddresses: [VirtualAddress] = []
    /// `static_routes { }`.
    public var staticRoutes: [VirtualRoute] = []
    /// `static_rules { }`.
    public var staticRules: [VirtualRule] = []
    /// `vrrp_script NAME { }`.
    public var scripts: [VRRPScript] = []
    /// `track_file NAME { }` (or `vrrp_track_file`).
    public var trackFiles: [TrackFile] = []
    /// `vrrp_track_process NAME { }`.
    public var trackProcesses: [VRRPTrackProcess] = []
    /// `vrrp_sync_group NAME { }`.
    public var syncGroups: [SyncGroup] = []
    /// `garp_group { }`: announcement pacing per interface or group of interfaces.
    public var garpGroups: [GARPGroup] = []
    /// `track_group NAME { group { } }`: instances that track the interfaces of static lines naming the group.
    public var trackGroups: [StaticTrackGroup] = []
    /// `vrrp_instance NAME { }`.
    public var instances: [VRRPInstance] = []
    /// `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] }`: how long a link change of each interface must
    /// last before the instances act on it.
    public var interfaceUpDownDelays: [InterfaceUpDownDelay] = []

    public init() {}

    public func instance(named name: String) -> VRRPInstance? { instances.first { $0.name == name } }
    public func script(named name: String) -> VRRPScript? { scripts.first { $0.name == name } }
    public func trackFile(named name: String) -> TrackFile? { trackFiles.first { $0.name == name } }
    public func trackProcess(named name: String) -> VRRPTrackProcess? { trackProcesses.first { $0.name == name } }

    /// The interfaces `instance` tracks through `track_group` (each with weight 0: FAULT while it is down), as
    /// keepalived's static_track_group_init does: the `dev` of each static address naming a group the instance is
    /// in (`defaultInterface` without one), the `dev` of each such static route, the `iif` of each such static
    /// rule; a line with `no_track` is not tracked.
    public func trackGroupInterfaces(of instance: String, defaultInterface: String) -> [String] {
        let groups = Set(trackGroups.filter { $0.members.contains { $0.name == instance } }.map(\.name))
        guard !groups.isEmpty else { return [] }
        func tracked(_ line: some TrackGroupLine) -> Bool {
            line.trackGroup.map(groups.contains) == true && !line.noTrack
        }
        let interfaces =
            staticAddresses.filter(tracked).map { $0.device ?? defaultInterface }
            + staticRoutes.filter(tracked).compactMap(\.device)
            + staticRules.filter(tracked).compactMap(\.inputInterface)
        var seen: Set<String> = []
        return interfaces.filter { seen.insert($0).inserted }
    }
}

/// An address, route or rule line, which on `static_*` blocks may name a `track_group`.
public protocol TrackGroupLine {
    var trackGroup: String? { get set }
    var noTrack: Bool { get }
    var location: SourceLocation { get }
}

extension VirtualAddress: TrackGroupLine {}
extension VirtualRoute: TrackGroupLine {}
extension VirtualRule: TrackGroupLine {}

/// `track_group NAME { group { INSTANCE … } }` (keepalived's static track group): the instances listed follow the
/// interfaces of the `static_ipaddress`, `static_routes` and `static_rules` lines that say `track_group NAME`.
public struct StaticTrackGroup: Sendable, Hashable, Codable {
    public var name: String
    /// `group { }`: the instances' names.
    public var members: [NameReference] = []
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// `vrrp_script NAME { }`: a command run periodically whose exit status tracking instances follow.
public struct VRRPScript: Sendable, Hashable, Codable {
    public var name: String
    /// `script`; `nil` when missing: keepalived then drops the script and its trackers ignore it.
    public var script: ScriptCommand?
    /// `interval` (default 1 s).
    public var interval: Duration = .seconds(1)
    /// `timeout`; `nil` means the interval.
    public var timeout: Duration?
    /// `weight N [reverse]` (−253…253, default 0: failure means FAULT).
    public var weight = 0
    public var reverse = false
    /// `rise`: successes before OK (default 1).
    public var rise = 1
    /// `fall`: failures before KO (default 1).
    public var fall = 1
    /// `user USER [GROUP]`; `nil` means the global `script_user`.
    public var user: ScriptUser?
    /// `init_fail`: start in the failed state.
    public var initFail = false
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// `track_file NAME { }`: a file holding a number that adjusts the priority of tracking instances.
public struct TrackFile: Sendable, Hashable, Codable {
    public var name: String
    /// `file`; `nil` when missing: keepalived then drops the track file.
    public var file: String?
    /// `weight N [reverse]` (default 1).
    public var weight = 1
    public var reverse = false
    /// `init_file [VALUE] [overwrite]`.
    public var initFile: InitFile?
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// `init_file [VALUE] [overwrite]`: write VALUE at startup if the file is missing (or always).
    public struct InitFile: Sendable, Hashable, Codable {
        public var value = 0
        public var overwrite = false

        public init(value: Int = 0, overwrite: Bool = false) {
            self.value = value
            self.overwrite = overwrite
        }
    }
}

/// `vrrp_track_process NAME { }`: processes whose number running (the quorum) tracking instances follow.
public struct VRRPTrackProcess: Sendable, Hashable, Codable {
    /// How `process`'s parameters are compared with a running process's (`param_match`).
    public enum ParameterMatch: String, Sendable, Hashable, Codable {
        /// Parameters are not compared (no parameters given and no `param_match`).
        case none
        /// The parameters are exactly those given (none when none are given).
        case exact
        /// The process's first parameters are those given; more may follow (`param_match partial`).
        case partial
        /// As `partial`, and the last one given may be the start of the process's (`param_match initial`).
        case initial
    }

    public var name: String
    /// `process NAME [PARAMETER…]`: the name (`/proc/PID/comm`, or argv[0] with `full_command`); `nil` when
    /// missing: keepalived then drops the block.
    public var process: String?
    /// The parameters after the name (each a separate argv word).
    public var parameters: [String] = []
    public var parameterMatch = ParameterMatch.none
    /// `full_command`, or parameters given: the name is argv[0] of `/proc/PID/cmdline`, not the 15-byte comm.
    public var fullCommand = false
    /// `weight N [reverse]` (−254…254; keepalived's default is 0: losing the quorum means FAULT).
    public var weight = 0
    public var reverse = false
    /// `quorum` (1…65535, default 1): fewest matching processes for OK.
    public var quorum = 1
    /// `quorum_max` (0…65535, default unlimited): most matching processes for OK; 0 means OK when none runs.
    public var quorumMax = Int(UInt32.max)
    /// `fork_delay` (or `delay`): a quorum gained by a fork counts only after this long.
    public var forkDelay: Duration = .zero
    /// `terminate_delay` (or `delay`): a quorum lost by an exit counts only after this long.
    public var terminateDelay: Duration = .zero
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// `garp_group { }`: the gaps between gratuitous ARPs and between unsolicited NAs on `interface` (one), or shared by
/// `interfaces` (a switch's ports: the gaps count across all of them). An interval left out is 0 here: the global
/// `vrrp_garp_interval` / `vrrp_gna_interval` apply only to interfaces in no group (keepalived).
public struct GARPGroup: Sendable, Hashable, Codable {
    /// `garp_interval`.
    public var garpInterval: Duration?
    /// `gna_interval`.
    public var gnaInterval: Duration?
    /// `interface NAME` or `interfaces { NAME … }`.
    public var interfaces: [String] = []
    public var location: SourceLocation

    public init(location: SourceLocation) {
        self.location = location
    }
}

/// One line of `interface_up_down_delays { }`: a link change of `interface` is acted on only once it has lasted
/// `down` (going down) or `up` (coming back); a flap shorter than that is not seen by the instances.
public struct InterfaceUpDownDelay: Sendable, Hashable, Codable {
    public var interface: String
    public var down: Duration
    public var up: Duration
    public var location: SourceLocation

    public init(interface: String, down: Duration, up: Duration, location: SourceLocation) {
        self.interface = interface
        self.down = down
        self.up = up
        self.location = location
    }
}

/// `vrrp_sync_group NAME { }`: instances that change state together.
public struct SyncGroup: Sendable, Hashable, Codable {
    public var name: String
    /// `group { }`: the member instances' names.
    public var members: [NameReference] = []
    public var notify = NotifyScripts()
    /// `notify_priority_changes <BOOL>`.
    public var notifyPriorityChanges: Bool?
    /// `smtp_alert <BOOL>`; `nil` means the global default.
    public var smtpAlert: Bool?
    /// `global_tracking` (deprecated).
    public var globalTracking = false
    /// `sync_group_tracking_weight`.
    public var syncGroupTrackingWeight = false
    public var trackInterfaces: [TrackedInterface] = []
    public var trackScripts: [TrackReference] = []
    public var trackFiles: [TrackReference] = []
    /// `track_process { NAME [weight N [reverse]] }`.
    public var trackProcesses: [TrackReference] = []
    /// `track_bfd { NAME [weight N [reverse]] }`: every member tracks these.
    public var trackBFDs: [TrackReference] = []
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// A name that refers to another block, with where it was written.
public struct NameReference: Sendable, Hashable, Codable {
    public var name: String
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// A line of `track_script { }` or `track_file { }`: `NAME [weight N [reverse|noreverse]]`.
public struct TrackReference: Sendable, Hashable, Codable {
    public var name: String
    /// `nil` means the weight configured in the script or file.
    public var weight: Int?
    public var reverse = false
    public var location: SourceLocation

    public init(name: String, weight: Int? = nil, reverse: Bool = false, location: SourceLocation) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.location = location
    }
}

/// A line of `track_interface { }`: `IFACE [weight N [reverse]]`.
public struct TrackedInterface: Sendable, Hashable, Codable {
    public var name: String
    /// −253…253; 0 (default) means the interface going down puts the instance in FAULT.
    public var weight = 0
    public var reverse = false
    /// Where it was written (for warnings); not part of its identity.
    public var location: SourceLocation?

    public init(name: String, weight: Int = 0, reverse: Bool = false, location: SourceLocation? = nil) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.location = location
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.weight == rhs.weight && lhs.reverse == rhs.reverse
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(weight)
        hasher.combine(reverse)
    }
}

/// The notify scripts of an instance or sync group.
public struct NotifyScripts: Sendable, Hashable, Codable {
    /// `notify_master`.
    public var master: ScriptCommand?
    /// `notify_backup`.
    public var backup: ScriptCommand?
    /// `notify_fault`.
    public var fault: ScriptCommand?
    /// `notify_stop`.
    public var stop: ScriptCommand?
    /// `notify_deleted [SCRIPT]`: send DELETED rather than FAULT when removed on reload.
    public var deleted = false
    /// The script given to `notify_deleted`, if any.
    public var deletedScript: ScriptCommand?
    /// `notify`: every transition, with GROUP|INSTANCE NAME STATE PRIORITY appended.
    public var any: ScriptCommand?
    /// `notify_master_rx_lower_pri` (instances only).
    public var masterRxLowerPri: ScriptCommand?

    public init() {}
}
