import Config
import Testing
import VRRPWorker

@Suite("VRRP sync groups")
struct VRRPSyncGroupTests {
    /// Three instances in one sync group, driven as the worker will: after every event, the group's commands are
    /// applied until none are left.
    struct Group {
        var machines: [String: Machine]
        let group = VRRPSyncGroup(name: "VG_1", memberNames: ["VI_1", "VI_2", "VI_3"])
        /// Every action per member, in order.
        var log: [String: [Action]] = [:]

        init() {
            var machines: [String: Machine] = [:]
            for (index, name) in ["VI_1", "VI_2", "VI_3"].enumerated() {
                let settings = VRRPInstanceSettings(
                    priority: 100,
                    primaryAddress: ip("10.0.\(index).2"),
                    trackedItems: [VRRPTrackedItem(name: "eth\(index)")]
                )
                machines[name] = Machine(settings: settings)
            }
            self.machines = machines
        }

        var states: [String: VRRPState] { machines.mapValues(\.state) }

        /// Gives `member` an event, then lets the group follow.
        mutating func event(_ member: String, _ body: @escaping (inout Machine) -> [Action]) {
            var pending: [(String, (inout Machine) -> [Action])] = [(member, body)]
            var rounds = 0
            while let (name, event) = pending.first {
                pending.removeFirst()
                rounds += 1
                precondition(rounds < 20, "the sync group keeps bouncing")
                let before = machines[name]!.state
                let actions = event(&machines[name]!)
                log[name, default: []] += actions
                let after = machines[name]!.state
                let members = group.memberNames.map { VRRPSyncGroup.Member(name: $0, machine: machines[$0]!) }
                let transition = before == after ? nil : (member: name, state: after)
                for command in group.commands(members: members, transition: transition) {
                    pending.append((command.member, { $0.apply(command.command, at: at(10_000_000)) }))
                }
            }
        }
    }

    @Test func membersFollowMasterBackupAndFault() {
        var group = Group()
        for name in group.group.memberNames {
            group.event(name) { $0.start(at: .start) }
        }
        #expect(group.states == ["VI_1": .backup, "VI_2": .backup, "VI_3": .backup])

        // VI_1's down timer fires first: the others become master with it.
        group.event("VI_1") { $0.timerFired(.masterDown, at: at(3_609_375)) }
        #expect(group.states == ["VI_1": .master, "VI_2": .master, "VI_3": .master])
        #expect(group.log["VI_2"]?.contains(.becomeMaster) == true)

        // VI_2 hears a higher priority: all fall back to backup.
        group.event("VI_2") {
            $0.receive(
                VRRPAdvertisement(
                    version: .v2, virtualRouterID: 2, priority: 200, rawAdvertisementInterval: 1, addresses: []),
                from: ip("10.0.1.9"),
                at: at(5_000_000)
            )
        }
        #expect(group.states == ["VI_1": .backup, "VI_2": .backup, "VI_3": .backup])

        // VI_3's interface goes down: the whole group is in FAULT.
        group.event("VI_3") { $0.trackingChanged("eth2", isUp: false, at: at(6_000_000)) }
        #expect(group.states == ["VI_1": .fault, "VI_2": .fault, "VI_3": .fault])
        #expect(group.machines["VI_1"]!.inGroupFault)

        // VI_1's own fault too; VI_3 recovers, but VI_1 keeps the group in FAULT.
        group.event("VI_1") { $0.trackingChanged("eth0", isUp: false, at: at(7_000_000)) }
        group.event("VI_3") { $0.trackingChanged("eth2", isUp: true, at: at(8_000_000)) }
        #expect(group.states == ["VI_1": .fault, "VI_2": .fault, "VI_3": .fault])

        // The last fault clears: all leave FAULT for BACKUP together.
        group.event("VI_1") { $0.trackingChanged("eth0", isUp: true, at: at(9_000_000)) }
        #expect(group.states == ["VI_1": .backup, "VI_2": .backup, "VI_3": .backup])
        #expect(group.machines.values.allSatisfy { !$0.inGroupFault })
    }

    @Test func commandsOnlyThoseNotAlreadyFollowing() {
        let group = VRRPSyncGroup(name: "VG", memberNames: ["A", "B", "C"])
        let members = [
            VRRPSyncGroup.Member(name: "A", state: .master, hasOwnFault: false, inGroupFault: false),
            VRRPSyncGroup.Member(name: "B", state: .backup, hasOwnFault: false, inGroupFault: false),
            VRRPSyncGroup.Member(name: "C", state: .master, hasOwnFault: false, inGroupFault: false),
        ]
        #expect(
            group.commands(members: members, transition: (member: "A", state: .master)) == [
                VRRPSyncGroupCommand(member: "B", command: .becomeMaster)
            ])
        #expect(
            group.commands(members: members, transition: (member: "B", state: .backup)) == [
                VRRPSyncGroupCommand(member: "A", command: .becomeBackup),
                VRRPSyncGroupCommand(member: "C", command: .becomeBackup),
            ])
        #expect(group.commands(members: members) == [])
    }
}
