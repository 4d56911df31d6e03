/// What a sync group asks of one member's state machine (`VRRPInstanceStateMachine.apply(_:at:)`).
public struct VRRPSyncGroupCommand: Hashable, Sendable {
    public enum Command: Hashable, Sendable {
        /// Another member is (or no member is any longer) in FAULT of its own: the whole group is.
        case setGroupFault(Bool)
        /// Another member became master: a backup member follows.
        case becomeMaster
        /// Another member fell back to backup: a master member follows.
        case becomeBackup
    }

    public var member: String
    public var command: Command

    public init(member: String, command: Command) {
        self.member = member
        self.command = command
    }
}

/// A `vrrp_sync_group`: its instances change state together, as keepalived's vrrp_sync.c has them.
///
/// - One member in FAULT of its own (a tracked item with weight 0 down) puts every member in FAULT; when no
///   member has a fault of its own any longer, all leave FAULT together.
/// - One member becoming MASTER takes every BACKUP member to MASTER.
/// - One member falling from MASTER to BACKUP takes every MASTER member to BACKUP.
///
/// The worker calls `commands(members:transition:)` after every event it gave a member (the answer is empty when
/// nothing needs to follow, and following members does not bounce back), then applies each command.
public struct VRRPSyncGroup: Hashable, Sendable {
    /// A member's current situation, as its state machine reports it.
    public struct Member: Hashable, Sendable {
        public var name: String
        public var state: VRRPState
        /// `VRRPInstanceStateMachine.hasOwnFault`.
        public var hasOwnFault: Bool
        /// `VRRPInstanceStateMachine.inGroupFault`.
        public var inGroupFault: Bool

        public init(name: String, state: VRRPState, hasOwnFault: Bool, inGroupFault: Bool) {
            self.name = name
            self.state = state
            self.hasOwnFault = hasOwnFault
            self.inGroupFault = inGroupFault
        }

        public init<Instant>(name: String, machine: VRRPInstanceStateMachine<Instant>) {
            self.init(
                name: name,
                state: machine.state,
                hasOwnFault: machine.hasOwnFault,
                inGroupFault: machine.inGroupFault
            )
        }
    }

    public var name: String
    public var memberNames: [String]

    public init(name: String, memberNames: [String]) {
        self.name = name
        self.memberNames = memberNames
    }

    /// The commands that bring the other members in line.
    ///
    /// - Parameters:
    ///   - members: every member's situation after the event.
    ///   - transition: the member whose state the event changed, and its new state, if any.
    public func commands(
        members: [Member],
        transition: (member: String, state: VRRPState)? = nil
    ) -> [VRRPSyncGroupCommand] {
        let groupFault = members.contains { $0.hasOwnFault }
        let faultCommands = members.filter { $0.inGroupFault != groupFault }.map {
            VRRPSyncGroupCommand(member: $0.name, command: .setGroupFault(groupFault))
        }
        if !faultCommands.isEmpty || groupFault {
            return faultCommands
        }
        guard let transition else { return [] }
        let following: (from: VRRPState, command: VRRPSyncGroupCommand.Command)
        switch transition.state {
        case .master: following = (.backup, .becomeMaster)
        case .backup: following = (.master, .becomeBackup)
        case .fault, .initialize: return []
        }
        return members.filter { $0.name != transition.member && $0.state == following.from }.map {
            VRRPSyncGroupCommand(member: $0.name, command: following.command)
        }
    }
}
