import Config
import Notifier
import Testing
import WorkerIPC

@testable import VRRPWorker

/// What the engine tells the outside world: notices for instances and sync groups, and what keepalived does for
/// each (scripts with their argv, FIFO lines, mails).
@Suite("VRRP engine notifications")
struct EngineNotifyTests {
    static let location = SourceLocation(file: "test.conf", line: 1)

    static func notices(_ harness: EngineHarness) -> [String] {
        harness.notices.map { "\($0.subject.rawValue) \($0.name) \($0.notifyState.rawValue) \($0.priority)" }
    }

    @Test func anInstanceIsAnnouncedAtEveryTransitionWithItsEffectivePriority() {
        let harness = EngineHarness()
        harness.core.apply(engineConfiguration([engineInstance()]), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.receive(priority: 150)
        harness.core.stop(release: true)
        #expect(
            Self.notices(harness) == [
                "INSTANCE VI_1 BACKUP 100", "INSTANCE VI_1 MASTER 100", "INSTANCE VI_1 BACKUP 100",
                "INSTANCE VI_1 STOP 100",
            ])
    }

    @Test func aSyncGroupIsAnnouncedOnceWhenAllItsMembersAgree() {
        let harness = EngineHarness()
        let first = engineInstance("VI_1")
        let second = engineInstance("VI_2", interface: "eth1", vrid: 52, addresses: ["198.51.100.100/24"])
        var group = SyncGroup(name: "G", location: Self.location)
        group.members = ["VI_1", "VI_2"].map { NameReference(name: $0, location: Self.location) }
        harness.core.apply(engineConfiguration([first, second], syncGroups: [group]), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.core.linkChanged(interface: "eth1", isUp: false)
        harness.core.stop(release: true)
        let groupNotices = Self.notices(harness).filter { $0.hasPrefix("GROUP") }
        #expect(groupNotices == ["GROUP G BACKUP 0", "GROUP G MASTER 0", "GROUP G FAULT 0", "GROUP G STOP 0"])
        #expect(harness.events.contains("sync group G: MASTER"))
    }

    @Test func countersAloneAreReportedAtMostOnceASecond() {
        let harness = EngineTests.master()
        let before = harness.reports.count
        harness.receive(priority: 150, hopLimit: 64)
        harness.receive(priority: 150, hopLimit: 64)
        // Within the second of the last report (the advert timer's): nothing new yet.
        #expect(harness.reports.count <= before + 1)
        // The next advert timer, a second after the last report, carries them.
        harness.system.advance(seconds: 1.1)
        #expect(harness.last?.counters?["dropped_hopLimit"] == 2)
        harness.receive(priority: 150, hopLimit: 64)
        #expect(harness.last?.counters?["dropped_hopLimit"] == 2)
        harness.system.advance(seconds: 1)
        #expect(harness.last?.counters?["dropped_hopLimit"] == 3)
        #expect(harness.last?.state == .master)
    }

    static func notice(_ subject: VRRPNotifySubject, _ state: VRRPState, scripts: NotifyScripts = NotifyScripts())
        -> VRRPNotice
    {
        VRRPNotice(
            subject: subject, name: subject == .group ? "G1" : "VI_1", state: state,
            priority: subject == .group ? 0 : 150, scripts: scripts, smtpAlert: nil)
    }

    @Test func scriptsRunTheStatesOwnScriptThenNotifyWithFourWords() {
        var scripts = NotifyScripts()
        scripts.master = Config.ScriptCommand(text: "/bin/touch /tmp/m", user: "nobody")
        scripts.backup = Config.ScriptCommand(text: "/bin/b")
        scripts.any = Config.ScriptCommand(text: "/bin/n 'a b'")
        let instance = VRRPNotificationPlan(
            Self.notice(.instance, .master, scripts: scripts), globals: GlobalDefs(), routerID: "r1")
        #expect(
            instance.scripts.map(\.arguments) == [
                ["/bin/touch", "/tmp/m"], ["/bin/n", "a b", "INSTANCE", "VI_1", "MASTER", "150"],
            ])
        #expect(instance.scripts.first?.user == "nobody")
        #expect(instance.fifoLine == "INSTANCE \"VI_1\" MASTER 150\n")
        #expect(instance.mail == nil)
        let group = VRRPNotificationPlan(
            Self.notice(.group, .initialize, scripts: scripts), globals: GlobalDefs(), routerID: "r1")
        #expect(group.scripts.map(\.arguments) == [["/bin/n", "a b", "GROUP", "G1", "STOP", "0"]])
        #expect(group.fifoLine == "GROUP \"G1\" STOP 0\n")
    }

    @Test func mailsFollowSmtpAlertAndNeedAServerAndRecipients() {
        var globals = GlobalDefs()
        globals.smtpServer = SMTPServer(host: "192.0.2.25")
        globals.notificationEmail = ["ops@example.com"]
        // Off by default.
        #expect(VRRPNotificationPlan(Self.notice(.instance, .master), globals: globals, routerID: "r1").mail == nil)
        globals.smtpAlert = true
        let master = VRRPNotificationPlan(Self.notice(.instance, .master), globals: globals, routerID: "r1").mail
        #expect(master?.subject == "[r1] VRRP Instance VI_1 - Entering MASTER state")
        #expect(master?.body == "=> VRRP Instance is now owning VRRP VIPs <=")
        // smtp_alert_vrrp wins over smtp_alert; the object's own setting over both.
        globals.smtpAlertVRRP = false
        #expect(VRRPNotificationPlan(Self.notice(.instance, .master), globals: globals, routerID: "r1").mail == nil)
        var own = Self.notice(.group, .backup)
        own.smtpAlert = true
        #expect(
            VRRPNotificationPlan(own, globals: globals, routerID: "r1").mail?.subject
                == "[r1] VRRP Group G1 - Entering BACKUP state")
        // no_email_faults; and no server means no mail.
        globals.smtpAlertVRRP = true
        globals.noEmailFaults = true
        #expect(VRRPNotificationPlan(Self.notice(.instance, .fault), globals: globals, routerID: "r1").mail == nil)
        globals.smtpServer = nil
        #expect(VRRPNotificationPlan(Self.notice(.instance, .master), globals: globals, routerID: "r1").mail == nil)
    }

    // MARK: notify_deleted, notify_master_rx_lower_pri, notify_priority_changes, the FIFOs

    static func events(_ harness: EngineHarness) -> [String] {
        harness.notices.map { "\($0.name) \($0.notifyState.rawValue) \($0.priority)" }
    }

    @Test(arguments: [true, false])
    func anInstanceRemovedByAReloadIsDeletedOrWithoutNotifyDeletedFault(notifyDeleted: Bool) {
        // Without notify_deleted keepalived says FAULT (FIFO, notify, mail) but runs no notify_fault.
        let harness = EngineHarness()
        var second = engineInstance("VI_2", vrid: 52, addresses: ["192.0.2.102/24"])
        second.notify.deleted = notifyDeleted
        second.notify.deletedScript = notifyDeleted ? Config.ScriptCommand(text: "/bin/deleted") : nil
        second.notify.fault = Config.ScriptCommand(text: "/bin/fault")
        second.notify.stop = Config.ScriptCommand(text: "/bin/stop")
        second.notify.any = Config.ScriptCommand(text: "/bin/any")
        harness.core.apply(engineConfiguration([engineInstance(), second]), isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.notices.removeAll()
        harness.core.apply(engineConfiguration([engineInstance()]), isReload: true)
        let word = notifyDeleted ? "DELETED" : "FAULT"
        #expect(Self.events(harness) == ["VI_2 \(word) 100"])
        let plan = VRRPNotificationPlan(try! #require(harness.notices.first), globals: GlobalDefs(), routerID: "r1")
        #expect(
            plan.scripts.map(\.arguments)
                == (notifyDeleted ? [["/bin/deleted"]] : []) + [["/bin/any", "INSTANCE", "VI_2", word, "100"]])
        #expect(plan.fifoLine == "INSTANCE \"VI_2\" \(word) 100\n")
        // A plain stop is still STOP.
        harness.notices.removeAll()
        harness.core.stop(release: true)
        #expect(Self.events(harness) == ["VI_1 STOP 100"])
    }

    @Test func aMasterHearingALowerPriorityRunsNotifyMasterRxLowerPriAndTellsTheFIFO() {
        let harness = EngineTests.master()
        harness.notices.removeAll()
        harness.receive(priority: 50)
        harness.receive(priority: 50)
        #expect(Self.events(harness) == ["VI_1 MASTER_RX_LOWER_PRI 100", "VI_1 MASTER_RX_LOWER_PRI 100"])
        var notice = harness.notices[0]
        notice.scripts.masterRxLowerPri = Config.ScriptCommand(text: "/bin/rx")
        notice.scripts.master = Config.ScriptCommand(text: "/bin/master")
        notice.scripts.any = Config.ScriptCommand(text: "/bin/any")
        var globals = GlobalDefs()
        globals.smtpServer = SMTPServer(host: "192.0.2.25")
        globals.notificationEmail = ["ops@example.com"]
        globals.smtpAlert = true
        let plan = VRRPNotificationPlan(notice, globals: globals, routerID: "r1")
        // Only its own script (keepalived's send_event_notify): not notify, no mail.
        #expect(plan.scripts.map(\.arguments) == [["/bin/rx"]])
        #expect(plan.fifoLine == "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n")
        #expect(plan.mail == nil)
        // A higher priority is not "lower": the master steps down instead.
        harness.notices.removeAll()
        harness.receive(priority: 150)
        #expect(Self.events(harness) == ["VI_1 BACKUP 100"])
    }

    /// `notify_priority_changes` on the instance, its sync group or globally (`vrrp_notify_priority_changes`).
    @Test(arguments: ["instance", "group", "global", "off", "instance off, global on"])
    func priorityChangesGoToTheFIFOWhenAsked(scope: String) {
        let harness = EngineHarness()
        var configuration = EngineTrackingTests.configuration(fileWeight: 10)
        var instance = configuration.vrrp!.instances[0]
        if scope == "instance" { instance.notifyPriorityChanges = true }
        if scope == "instance off, global on" { instance.notifyPriorityChanges = false }
        configuration.vrrp!.instances = [instance]
        if scope == "group" {
            var group = SyncGroup(name: "G", location: Self.location)
            group.members = [NameReference(name: "VI_1", location: Self.location)]
            group.notifyPriorityChanges = true
            configuration.vrrp!.syncGroups = [group]
        }
        if scope.hasSuffix("global") || scope.hasSuffix("global on") {
            configuration.globalDefs.vrrpNotifyPriorityChanges = true
        }
        harness.core.apply(configuration, isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.core.trackFileRead("F", contents: "-9\n")
        harness.core.trackFileRead("F", contents: "-9\n")
        harness.core.trackFileRead("F", contents: "2\n")
        let changes = harness.notices.filter { $0.event == .priorityChanged }.map {
            "\($0.notifyState.rawValue) \($0.priority)"
        }
        if ["instance", "group", "global"].contains(scope) {
            #expect(changes == ["MASTER_PRIORITY 30", "MASTER_PRIORITY 140"])
            let plan = VRRPNotificationPlan(
                harness.notices.first { $0.event == .priorityChanged }!, globals: GlobalDefs(), routerID: "r1")
            #expect(plan.scripts.isEmpty)
            #expect(plan.fifoLine == "INSTANCE \"VI_1\" MASTER_PRIORITY 30\n")
        } else {
            #expect(changes.isEmpty)
        }
    }

    @Test(arguments: [true, false])
    func aReloadWritesTheKeptInstancesStatesWithFifoWriteVrrpStatesOnReload(enabled: Bool) {
        let harness = EngineHarness()
        var group = SyncGroup(name: "G", location: Self.location)
        group.members = [NameReference(name: "VI_1", location: Self.location)]
        var configuration = engineConfiguration([engineInstance()], syncGroups: [group])
        configuration.globalDefs.fifoWriteVRRPStatesOnReload = enabled
        harness.core.apply(configuration, isReload: false)
        harness.system.advance(seconds: 3.7)
        harness.notices.removeAll()
        harness.core.apply(configuration, isReload: true)
        let lines = harness.notices.map {
            VRRPNotificationPlan($0, globals: GlobalDefs(), routerID: "r1")
        }
        #expect(lines.map(\.fifoLine) == (enabled ? ["GROUP \"G\" MASTER 0\n", "INSTANCE \"VI_1\" MASTER 100\n"] : []))
        #expect(lines.allSatisfy { $0.scripts.isEmpty && $0.mail == nil })
    }
}
