import Config
import Testing
import VRRPWorker

/// The state machine in virtual time. Timings are keepalived's, in microseconds: with VRRPv2, priority 100 and
/// advert_int 1, Skew_Time = 156 / 256 s = 609 375 µs and Master_Down_Interval = 3 609 375 µs.
@Suite("VRRP instance state machine")
struct VRRPInstanceStateMachineTests {
    static let local = ip("10.0.0.2")
    static let lowerPeer = ip("10.0.0.1")
    static let higherPeer = ip("10.0.0.3")

    static func settings(
        version: VRRPVersion = .v2,
        priority: UInt8 = 100,
        interval: Duration = .seconds(1),
        configure: (inout VRRPInstanceSettings) -> Void = { _ in }
    ) -> VRRPInstanceSettings {
        var settings = VRRPInstanceSettings(
            version: version,
            priority: priority,
            advertisementInterval: interval,
            primaryAddress: local
        )
        configure(&settings)
        return settings
    }

    static func advert(_ priority: UInt8, version: VRRPVersion = .v2, interval: Duration = .seconds(1))
        -> VRRPAdvertisement
    {
        VRRPAdvertisement(
            version: version,
            virtualRouterID: 51,
            priority: priority,
            advertisementInterval: interval,
            addresses: [ip("10.0.0.100")]
        )
    }

    /// What becoming master does at `now` with advert_int `interval` and keepalived's garp defaults.
    static func mastership(at now: Int64, priority: UInt8 = 100, interval: Int64 = 1_000_000) -> [Action] {
        [
            .becomeMaster, .sendGratuitousAnnouncements(count: 5), .notify(.master),
            .sendAdvertisement(priority: priority), .scheduleTimer(.advertisement, at: at(now + interval)),
            .scheduleTimer(.gratuitousDelay, at: at(now + 5_000_000)),
        ]
    }

    /// A machine that started at 0 and became master when its down timer fired.
    static func master(_ settings: VRRPInstanceSettings = settings()) -> Machine {
        var machine = Machine(settings: settings)
        _ = machine.start(at: .start)
        _ = machine.timerFired(.masterDown, at: machine.deadline(of: .masterDown)!)
        return machine
    }

    // MARK: vrrp_startup_delay

    /// keepalived's `vrrp_init_instance_sands`: while the delay runs, Master_Down_Timer counts from its end, at
    /// startup and when an advertisement resets it; afterwards from now as usual.
    @Test func startupDelayHoldsBackupsFromItsEnd() {
        var machine = Machine(settings: Self.settings())
        let delay: Int64 = 10_000_000
        #expect(
            machine.start(at: .start, delayedUntil: at(delay)) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(delay + 3_609_375)),
            ])
        // An advertisement during the delay resets the timer to the delay's end plus the interval.
        #expect(
            machine.receive(Self.advert(110), from: Self.higherPeer, at: at(2_000_000)).contains(
                .scheduleTimer(.masterDown, at: at(delay + 3_609_375))))
        // After the delay, from the advertisement as usual.
        #expect(
            machine.receive(Self.advert(110), from: Self.higherPeer, at: at(12_000_000)).contains(
                .scheduleTimer(.masterDown, at: at(12_000_000 + 3_609_375))))
        // Without a delay, at once.
        var plain = Machine(settings: Self.settings())
        #expect(plain.start(at: .start).contains(.scheduleTimer(.masterDown, at: at(3_609_375))))
        // The address owner becomes master at once, delay or not (keepalived delays backups only).
        var owner = Machine(settings: Self.settings(priority: 255) { $0.startsAsMaster = true })
        #expect(owner.start(at: .start, delayedUntil: at(delay)).contains(.becomeMaster))
    }

    // MARK: Timers

    @Test func timersAreKeepalivedsToTheMicrosecond() {
        let v2 = MasterDownTimer(version: .v2, priority: 100, masterAdvertisementInterval: .seconds(1))
        #expect(v2.skewTime == .microseconds(609_375))
        #expect(v2.interval == .microseconds(3_609_375))
        // (256 - 101) × 10⁶ / 256 = 605 468.75, truncated.
        #expect(
            MasterDownTimer(version: .v2, priority: 101, masterAdvertisementInterval: .seconds(1)).skewTime
                == .microseconds(605_468))
        // v2's skew does not scale with the interval; v3's does.
        #expect(
            MasterDownTimer(version: .v2, priority: 100, masterAdvertisementInterval: .seconds(2)).skewTime
                == .microseconds(609_375))
        let v3 = MasterDownTimer(version: .v3, priority: 100, masterAdvertisementInterval: .seconds(2))
        #expect(v3.skewTime == .microseconds(1_218_750))
        let downTimerAdverts = MasterDownTimer(
            version: .v3,
            priority: 254,
            masterAdvertisementInterval: .milliseconds(100),
            advertisements: 5
        )
        // 2 × 10 cs × 625 / 16 = 781.25 µs, truncated.
        #expect(downTimerAdverts.skewTime == .microseconds(781))
        #expect(downTimerAdverts.interval == .microseconds(500_781))
    }

    // MARK: Startup

    @Test func startsAsBackupAndBecomesMasterAfterMasterDownInterval() {
        var machine = Machine(settings: Self.settings())
        #expect(
            machine.start(at: .start) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(3_609_375)),
            ])
        #expect(machine.state == .backup)
        // A timer that fires a microsecond early is armed again, and nothing happens.
        #expect(machine.timerFired(.masterDown, at: at(3_609_374)) == [.scheduleTimer(.masterDown, at: at(3_609_375))])
        #expect(machine.state == .backup)
        #expect(machine.timerFired(.masterDown, at: at(3_609_375)) == Self.mastership(at: 3_609_375))
        #expect(machine.state == .master)
        // RFC 5798 §6.4.3: Adver_Timer fires every Advertisement_Interval.
        #expect(
            machine.timerFired(.advertisement, at: at(4_609_375)) == [
                .sendAdvertisement(priority: 100), .scheduleTimer(.advertisement, at: at(5_609_375)),
            ])
        #expect(machine.timerFired(.gratuitousDelay, at: at(8_609_375)) == [.sendGratuitousAnnouncements(count: 5)])
        #expect(machine.lastAdvertisementSent == at(4_609_375))
    }

    @Test func addressOwnerBecomesMasterAtOnce() {
        var machine = Machine(settings: Self.settings(priority: 255))
        #expect(machine.start(at: .start) == Self.mastership(at: 0, priority: 255))
        #expect(machine.state == .master)
    }

    @Test func garpRefreshRepeatsWhileMaster() {
        var machine = Self.master(
            Self.settings {
                $0.garpMasterRefresh = .seconds(60)
                $0.garpMasterRefreshRepeat = 2
            })
        let becameMaster: Int64 = 3_609_375
        #expect(machine.deadline(of: .gratuitousRefresh) == at(becameMaster + 60_000_000))
        #expect(
            machine.timerFired(.gratuitousRefresh, at: at(becameMaster + 60_000_000)) == [
                .sendGratuitousAnnouncements(count: 2),
                .scheduleTimer(.gratuitousRefresh, at: at(becameMaster + 120_000_000)),
            ])
    }

    // MARK: Backup receiving

    @Test func backupFollowsAHigherMasterAndPreemptsALowerOne() {
        var machine = Machine(settings: Self.settings(priority: 150))
        _ = machine.start(at: .start)
        // Priority 150: Skew_Time = 106 / 256 s = 414 062 µs.
        #expect(
            machine.receive(Self.advert(200), from: Self.higherPeer, at: at(1_000_000)) == [
                .scheduleTimer(.masterDown, at: at(4_414_062))
            ])
        #expect(machine.masterPriority == 200)
        // preempt: a lower-priority master's adverts are discarded, so the down timer runs out.
        #expect(machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(2_000_000)) == [])
        #expect(machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(3_000_000)) == [])
        #expect(machine.timerFired(.masterDown, at: at(4_414_062)) == Self.mastership(at: 4_414_062, priority: 150))
    }

    @Test func nopreemptFollowsALowerMaster() {
        var machine = Machine(settings: Self.settings(priority: 150) { $0.preempt = false })
        _ = machine.start(at: .start)
        #expect(
            machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(1_000_000)) == [
                .scheduleTimer(.masterDown, at: at(4_414_062))
            ])
        #expect(machine.masterAddress == Self.lowerPeer)
    }

    @Test func preemptDelayFollowsALowerMasterUntilItPasses() {
        var machine = Machine(settings: Self.settings(priority: 150) { $0.preemptDelay = .seconds(10) })
        _ = machine.start(at: .start)
        // The first lower-priority advert, at 1 s, starts the 10 s preempt delay; until 11 s they are followed.
        for second in Int64(1)...10 {
            #expect(
                machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(second * 1_000_000)) == [
                    .scheduleTimer(.masterDown, at: at(second * 1_000_000 + 3_414_062))
                ])
        }
        for second in Int64(11)...13 {
            #expect(machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(second * 1_000_000)) == [])
        }
        #expect(machine.timerFired(.masterDown, at: at(13_414_062)) == Self.mastership(at: 13_414_062, priority: 150))
    }

    @Test func backupFollowsAnEqualPriorityMaster() {
        var machine = Machine(settings: Self.settings())
        _ = machine.start(at: .start)
        #expect(
            machine.receive(Self.advert(100), from: Self.lowerPeer, at: at(1_000_000)) == [
                .scheduleTimer(.masterDown, at: at(4_609_375))
            ])
    }

    @Test func backupTakesOverSkewTimeAfterAPriorityZeroAdvert() {
        var machine = Machine(settings: Self.settings())
        _ = machine.start(at: .start)
        _ = machine.receive(Self.advert(200), from: Self.higherPeer, at: at(1_000_000))
        // RFC 5798 §6.4.2: "Set the Master_Down_Timer to Skew_Time".
        #expect(
            machine.receive(Self.advert(0), from: Self.higherPeer, at: at(2_000_000)) == [
                .scheduleTimer(.masterDown, at: at(2_609_375))
            ])
        #expect(machine.timerFired(.masterDown, at: at(2_609_375)) == Self.mastership(at: 2_609_375))
    }

    @Test func version3BackupLearnsTheMastersInterval() {
        var machine = Machine(settings: Self.settings(version: .v3))
        #expect(
            machine.start(at: .start) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(3_609_375)),
            ])
        // Master_Adver_Interval = 2 s: Skew_Time = 156 × 200 cs / 256 = 1.21875 s, Master_Down_Interval 7.21875 s.
        #expect(
            machine.receive(
                Self.advert(200, version: .v3, interval: .seconds(2)), from: Self.higherPeer, at: at(500_000)) == [
                    .scheduleTimer(.masterDown, at: at(7_718_750))
                ])
        #expect(machine.masterAdvertisementInterval == .seconds(2))
        // Once master, it advertises its own interval again.
        #expect(machine.timerFired(.masterDown, at: at(7_718_750)) == Self.mastership(at: 7_718_750))
        #expect(machine.masterAdvertisementInterval == .seconds(1))
    }

    @Test func version2BackupKeepsItsOwnInterval() {
        var machine = Machine(settings: Self.settings())
        _ = machine.start(at: .start)
        _ = machine.receive(Self.advert(200, interval: .seconds(2)), from: Self.higherPeer, at: at(0))
        #expect(machine.masterAdvertisementInterval == .seconds(1))
    }

    @Test func advertInterval100MillisecondsIsExact() {
        var machine = Machine(settings: Self.settings(version: .v3, interval: .milliseconds(100)))
        // 3 × 100 ms + 156 × 10 cs × 625 / 16 µs (60 937.5, truncated).
        #expect(
            machine.start(at: .start) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(360_937)),
            ])
        #expect(
            machine.receive(
                Self.advert(200, version: .v3, interval: .milliseconds(100)), from: Self.higherPeer, at: at(50_000))
                == [
                    .scheduleTimer(.masterDown, at: at(410_937))
                ])
        #expect(
            machine.receive(
                Self.advert(0, version: .v3, interval: .milliseconds(100)), from: Self.higherPeer, at: at(150_000)) == [
                    .scheduleTimer(.masterDown, at: at(210_937))
                ])
        #expect(machine.timerFired(.masterDown, at: at(210_937)) == Self.mastership(at: 210_937, interval: 100_000))
        #expect(
            machine.timerFired(.advertisement, at: at(310_937)) == [
                .sendAdvertisement(priority: 100), .scheduleTimer(.advertisement, at: at(410_937)),
            ])
    }

    // MARK: Master receiving

    @Test func masterYieldsToAHigherPriority() {
        var machine = Self.master()
        #expect(
            machine.receive(Self.advert(200), from: Self.lowerPeer, at: at(5_000_000)) == [
                .cancelTimer(.advertisement), .cancelTimer(.gratuitousDelay), .becomeBackup, .notify(.backup),
                .scheduleTimer(.masterDown, at: at(8_609_375)),
            ])
        #expect(machine.state == .backup)
    }

    @Test func higherPrioSendAdvertAdvertisesBeforeYielding() {
        var machine = Self.master(Self.settings { $0.higherPrioritySendAdvert = true })
        let actions = machine.receive(Self.advert(200), from: Self.lowerPeer, at: at(5_000_000))
        #expect(actions.first == .sendAdvertisement(priority: 100))
        #expect(machine.state == .backup)
    }

    @Test func masterAnswersALowerPriorityUnlessLowerPrioNoAdvert() {
        // keepalived: an advert, then garp_lower_prio_repeat announcements now and again garp_lower_prio_delay later.
        var machine = Self.master(Self.settings { $0.garpLowerPriorityRepeat = 0 })
        #expect(
            machine.receive(Self.advert(50), from: Self.higherPeer, at: at(5_000_000)) == [
                .sendAdvertisement(priority: 100), .heardLowerPriority(from: Self.higherPeer, priority: 50),
            ])
        var quiet = Self.master(
            Self.settings {
                $0.lowerPriorityNoAdvert = true
                $0.garpLowerPriorityRepeat = 0
            })
        #expect(
            quiet.receive(Self.advert(50), from: Self.higherPeer, at: at(5_000_000)) == [
                .heardLowerPriority(from: Self.higherPeer, priority: 50)
            ])
        #expect(quiet.state == .master)
    }

    @Test func masterHearingALowerPriorityReannouncesItsAddresses() {
        var machine = Self.master(
            Self.settings {
                $0.garpLowerPriorityRepeat = 3
                $0.garpLowerPriorityDelay = .seconds(2)
            })
        #expect(
            machine.receive(Self.advert(50), from: Self.higherPeer, at: at(5_000_000)) == [
                .sendAdvertisement(priority: 100), .sendGratuitousAnnouncements(count: 3),
                .scheduleTimer(.gratuitousLowerPriority, at: at(7_000_000)),
                .heardLowerPriority(from: Self.higherPeer, priority: 50),
            ])
        #expect(
            machine.timerFired(.gratuitousLowerPriority, at: at(7_000_000)) == [.sendGratuitousAnnouncements(count: 3)])
        // A sync group member that heard it: the same bursts, but only from a master.
        #expect(
            machine.groupHeardLowerPriority(at: at(8_000_000)) == [
                .sendGratuitousAnnouncements(count: 3), .scheduleTimer(.gratuitousLowerPriority, at: at(10_000_000)),
            ])
        var backup = Machine(settings: Self.settings())
        _ = backup.start(at: at(0))
        #expect(backup.groupHeardLowerPriority(at: at(1_000_000)).isEmpty)
        // No delay: one burst.
        var once = Self.master(Self.settings { $0.garpLowerPriorityDelay = .zero })
        #expect(
            !once.receive(Self.advert(50), from: Self.higherPeer, at: at(5_000_000)).contains {
                if case .scheduleTimer = $0 { return true }
                return false
            })
    }

    @Test func theOwnerStartsAsMasterOnlyWithStateMaster() {
        var owner = Machine(settings: Self.settings(priority: 255))
        #expect(owner.start(at: at(0)).contains(.becomeMaster))
        // keepalived's `state BACKUP` with priority 255 waits Master_Down_Interval like any backup.
        var waiting = Machine(settings: Self.settings(priority: 255) { $0.startsAsMaster = false })
        #expect(!waiting.start(at: at(0)).contains(.becomeMaster))
        #expect(waiting.state == .backup)
        // `state MASTER` below 255 changes nothing at startup (measured against keepalived 2.2.7).
        var below = Machine(settings: Self.settings { $0.startsAsMaster = true })
        _ = below.start(at: at(0))
        #expect(below.state == .backup && below.deadline(of: .masterDown) == at(3_609_375))
    }

    @Test func equalPriorityGoesToTheHigherPrimaryAddress() {
        // RFC 5798 §6.4.3: from a lower address the master stays (and answers, as keepalived does).
        var stays = Self.master(Self.settings { $0.garpLowerPriorityRepeat = 0 })
        #expect(
            stays.receive(Self.advert(100), from: Self.lowerPeer, at: at(5_000_000)) == [
                .sendAdvertisement(priority: 100), .heardLowerPriority(from: Self.lowerPeer, priority: 100),
            ])
        #expect(stays.state == .master)
        var yields = Self.master()
        _ = yields.receive(Self.advert(100), from: Self.higherPeer, at: at(5_000_000))
        #expect(yields.state == .backup)
        // Addresses compare as unsigned integers: 10.0.0.10 is above 10.0.0.2.
        var numeric = Self.master()
        _ = numeric.receive(Self.advert(100), from: ip("10.0.0.10"), at: at(5_000_000))
        #expect(numeric.state == .backup)
    }

    @Test func masterAnswersAPriorityZeroAdvertAndResetsItsTimer() {
        var machine = Self.master()
        #expect(
            machine.receive(Self.advert(0), from: Self.higherPeer, at: at(4_000_000)) == [
                .sendAdvertisement(priority: 100), .scheduleTimer(.advertisement, at: at(5_000_000)),
            ])
        #expect(machine.state == .master)
    }

    @Test func version3MasterLearnsTheIntervalOfTheMasterItYieldsTo() {
        var machine = Self.master(Self.settings(version: .v3))
        let actions = machine.receive(
            Self.advert(200, version: .v3, interval: .seconds(2)), from: Self.higherPeer, at: at(5_000_000))
        #expect(actions.last == .scheduleTimer(.masterDown, at: at(5_000_000 + 7_218_750)))
    }

    // MARK: Shutdown

    @Test func masterResignsWithPriorityZeroOnShutdown() {
        var machine = Self.master()
        #expect(
            machine.shutdown(at: at(5_000_000)) == [
                .sendAdvertisement(priority: 0), .cancelTimer(.advertisement), .cancelTimer(.gratuitousDelay), .stop,
                .notify(.initialize),
            ])
        #expect(machine.state == .initialize)
        var backup = Machine(settings: Self.settings())
        _ = backup.start(at: .start)
        #expect(backup.shutdown(at: at(1)) == [.cancelTimer(.masterDown), .stop, .notify(.initialize)])
    }

    // MARK: Tracking and FAULT

    @Test func trackingWeightChangesTheAdvertisedPriority() {
        let tracked = Self.settings {
            $0.trackedItems = [
                VRRPTrackedItem(name: "chk_http", weight: -20), VRRPTrackedItem(name: "eth1", weight: 10),
            ]
        }
        var machine = Self.master(tracked)
        #expect(machine.effectivePriority == 110)
        #expect(machine.trackingChanged("chk_http", isUp: false, at: at(4_000_000)) == [])
        #expect(machine.effectivePriority == 90)
        #expect(
            machine.timerFired(.advertisement, at: at(4_609_375)) == [
                .sendAdvertisement(priority: 90), .scheduleTimer(.advertisement, at: at(5_609_375)),
            ])
        _ = machine.trackingChanged("eth1", isUp: false, at: at(5_000_000))
        #expect(machine.effectivePriority == 80)
        #expect(machine.trackingChanged("unknown", isUp: false, at: at(5_000_000)) == [])
    }

    @Test func effectivePriorityIsClampedAndTheOwnerKeeps255() {
        let weights = [VRRPTrackedItem(name: "up", weight: 50), VRRPTrackedItem(name: "down", weight: -250)]
        var high = Machine(settings: Self.settings(priority: 250) { $0.trackedItems = [weights[0]] })
        #expect(high.effectivePriority == 254)
        var low = Machine(settings: Self.settings(priority: 10) { $0.trackedItems = [weights[1]] })
        _ = low.trackingChanged("down", isUp: false, at: .start)
        #expect(low.effectivePriority == 1)
        var owner = Machine(settings: Self.settings(priority: 255) { $0.trackedItems = [weights[1]] })
        _ = owner.trackingChanged("down", isUp: false, at: .start)
        #expect(owner.effectivePriority == 255)
        _ = high.priorityChanged(to: 100, at: .start)
        #expect(high.effectivePriority == 150)
    }

    @Test func faultIsEnteredAndLeftWithAWeightZeroItem() {
        let tracked = Self.settings { $0.trackedItems = [VRRPTrackedItem(name: "eth0")] }
        var machine = Self.master(tracked)
        #expect(
            machine.trackingChanged("eth0", isUp: false, at: at(5_000_000)) == [
                .sendAdvertisement(priority: 0), .cancelTimer(.advertisement), .cancelTimer(.gratuitousDelay),
                .enterFault, .notify(.fault),
            ])
        #expect(machine.state == .fault)
        #expect(machine.receive(Self.advert(50), from: Self.lowerPeer, at: at(6_000_000)) == [])
        #expect(
            machine.trackingChanged("eth0", isUp: true, at: at(7_000_000)) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(10_609_375)),
            ])
        #expect(machine.state == .backup)
    }

    @Test func faultFromBackupAndAtStartup() {
        let tracked = Self.settings { $0.trackedItems = [VRRPTrackedItem(name: "chk")] }
        var backup = Machine(settings: tracked)
        _ = backup.start(at: .start)
        #expect(
            backup.trackingChanged("chk", isUp: false, at: at(1)) == [
                .cancelTimer(.masterDown), .enterFault, .notify(.fault),
            ])
        var faulty = Machine(settings: tracked)
        #expect(faulty.trackingChanged("chk", isUp: false, at: .start) == [])
        #expect(faulty.start(at: .start) == [.enterFault, .notify(.fault)])
    }

    @Test func ownerLeavesFaultAsMaster() {
        var owner = Machine(
            settings: Self.settings(priority: 255) { $0.trackedItems = [VRRPTrackedItem(name: "eth0")] })
        _ = owner.trackingChanged("eth0", isUp: false, at: .start)
        _ = owner.start(at: .start)
        #expect(
            owner.trackingChanged("eth0", isUp: true, at: at(1_000_000))
                == Self.mastership(at: 1_000_000, priority: 255))
    }

    // MARK: Resume

    @Test func resumesAsMasterWithinMasterDownInterval() {
        var machine = Machine(settings: Self.settings())
        let resumed = machine.resumeAsMaster(lastAdvertisement: at(10_000_000), at: at(13_609_374))
        #expect(resumed == Self.mastership(at: 13_609_374))
        #expect(machine.state == .master)
    }

    @Test func startsAsBackupOutsideMasterDownInterval() {
        var machine = Machine(settings: Self.settings())
        #expect(
            machine.resumeAsMaster(lastAdvertisement: at(10_000_000), at: at(13_609_375)) == [
                .becomeBackup, .notify(.backup), .scheduleTimer(.masterDown, at: at(17_218_750)),
            ])
        var faulty = Machine(settings: Self.settings { $0.trackedItems = [VRRPTrackedItem(name: "eth0")] })
        _ = faulty.trackingChanged("eth0", isUp: false, at: .start)
        #expect(
            faulty.resumeAsMaster(lastAdvertisement: at(10_000_000), at: at(10_000_001)) == [
                .enterFault, .notify(.fault),
            ])
    }
}
