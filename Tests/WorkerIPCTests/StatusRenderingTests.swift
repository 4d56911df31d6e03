import Testing
import WorkerIPC

@Suite struct StatusRenderingTests {
    @Test func instancesShowPriorityReasonAndDroppedPackets() {
        let instance = VRRPInstanceReport(
            name: "VI_1", state: .master, heldAddresses: ["192.0.2.100/24"], priority: 100, effectivePriority: 90,
            reason: "preempted", counters: ["dropped_ttl": 3, "dropped_auth": 0, "adverts_sent": 40])
        let worker = WorkerStatus(
            role: .vrrp, pid: 42, uptimeSeconds: 12, restartCount: 0, lastHeartbeatSecondsAgo: 0.5,
            lastRestartMilliseconds: nil, state: WorkerState(vrrpInstances: [instance]))
        let status = DaemonStatus(
            pid: 1, version: "0", configFile: "/etc/keepalived/keepalived.conf", uptimeSeconds: 20, stopping: false,
            workers: [worker],
            lastReload: ReloadReport(atUptimeSeconds: 15, succeeded: false, message: "k.conf:3: error: bad"))
        let text = status.rendered
        #expect(
            text.contains("vrrp_instance VI_1: MASTER holding 192.0.2.100/24, priority 90 (configured 100) (preempted)")
        )
        #expect(text.contains("    dropped: dropped_ttl 3"))
        #expect(!text.contains("dropped_auth"))
        #expect(
            text.contains(
                "last reload 5.00s ago: REFUSED, still running the previous configuration: k.conf:3: error: bad"))
    }
}
