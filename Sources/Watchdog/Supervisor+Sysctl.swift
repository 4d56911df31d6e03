import Notifier

/// `disable_local_igmp`'s kernel setting, per network namespace.
let igmpLinkLocalReports = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"

extension Supervisor {
    /// `disable_local_igmp`: at start, `net.ipv4.igmp_link_local_mcast_reports` goes to 0 (no IGMP reports for
    /// 224.0.0.0/24, VRRP's group included, from VMACs or anywhere) if it was 1; `finish` puts 1 back. The watchdog
    /// does it, not the VRRP worker, so a restarted worker cannot lose the value to restore. As in keepalived, set at
    /// start only: a reload that changes it is logged and waits for the next start.
    func disableLocalIGMP() {
        guard loaded.config.globalDefs.disableLocalIGMP else { return }
        guard let value = FileContents.read(igmpLinkLocalReports, limit: 8) else {
            logger.error("disable_local_igmp: cannot read \(igmpLinkLocalReports) (a kernel before 4.3?)")
            return
        }
        guard value.hasPrefix("1") else { return }
        if FileContents.write("0\n", to: igmpLinkLocalReports) {
            restoreLocalIGMP = true
            logger.info("disable_local_igmp: \(igmpLinkLocalReports) set to 0 until vigild stops")
        } else {
            logger.error("disable_local_igmp: cannot write \(igmpLinkLocalReports)")
        }
    }

    /// Puts back what `disableLocalIGMP` changed.
    func restoreLocalIGMPSetting() {
        guard restoreLocalIGMP else { return }
        restoreLocalIGMP = false
        if !FileContents.write("1\n", to: igmpLinkLocalReports) {
            logger.error("disable_local_igmp: cannot restore \(igmpLinkLocalReports) to 1")
        }
    }
}
