import Config
import Notifier
import Testing

@Suite struct ScriptSecurityAuditTests {
    static let text = """
        global_defs {
          SECURITY
          script_user root
        }
        vrrp_script unsafe_chk {
          script /srv/open/chk.sh
        }
        vrrp_script safe_chk {
          script /etc/ka/chk.sh
        }
        vrrp_sync_group G {
          group { VI_1 }
          track_script { unsafe_chk }
        }
        vrrp_instance VI_1 {
          interface eth0
          virtual_router_id 1
          priority 100
          virtual_ipaddress { 192.0.2.1/24 }
          track_script {
            unsafe_chk
            safe_chk
          }
          notify_master /srv/open/master.sh
          notify_backup /etc/ka/backup.sh
        }
        virtual_server 192.0.2.10 80 {
          real_server 192.0.2.20 80 {
            notify_up /srv/open/up.sh
            MISC_CHECK {
              misc_path "/srv/open/misc.sh arg"
            }
            TCP_CHECK {
            }
          }
        }
        """

    /// Scripts under /srv/open are unsafe, under /etc/ka safe; everything runs as root.
    static func audit(security: Bool) -> ScriptSecurityReport {
        let loaded = ConfigLoader.load(
            text: text.replacing("SECURITY", with: security ? "enable_script_security" : ""),
            name: "/etc/keepalived/keepalived.conf")
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        return ScriptSecurityAudit.audit(loaded.config) { command, _ in
            command.arguments[0].hasPrefix("/srv/open/") ? .unsafe("\(command.arguments[0]) is world-writable") : .root
        }
    }

    @Test func enabledRemovesUnsafeScriptsAndTheirTrackers() {
        let report = Self.audit(security: true)
        let vrrp = report.config.vrrp
        #expect(vrrp.scripts.map(\.name) == ["safe_chk"])
        #expect(vrrp.instances[0].trackScripts.map(\.name) == ["safe_chk"])
        #expect(vrrp.syncGroups[0].trackScripts.isEmpty)
        #expect(vrrp.instances[0].notify.master == nil)
        #expect(vrrp.instances[0].notify.backup?.text == "/etc/ka/backup.sh")
        let real = report.config.lvs.virtualServers[0].realServers[0]
        #expect(real.notifyUp == nil)
        #expect(real.checkers.map(\.kind.keyword) == ["TCP_CHECK"])
        #expect(report.findings.allSatisfy { $0.disabled })
        #expect(report.findings.count == 4)
        #expect(report.rootScriptWithoutSecurity == nil)
        let diagnostics = report.diagnostics.map(\.description)
        #expect(
            diagnostics.contains(
                "/etc/keepalived/keepalived.conf:5: error: vrrp_script unsafe_chk disabled by enable_script_security: "
                    + "/srv/open/chk.sh is world-writable"))
        #expect(
            diagnostics.contains {
                $0.hasPrefix(
                    "/etc/keepalived/keepalived.conf:30: error: MISC_CHECK of real_server 192.0.2.20 80 of virtual_server "
                        + "192.0.2.10:80 TCP disabled")
            })
    }

    @Test func disabledReportsAndRunsEverything() {
        let report = Self.audit(security: false)
        #expect(report.config.vrrp.scripts.count == 2)
        #expect(report.config.vrrp.instances[0].trackScripts.count == 2)
        #expect(report.config.vrrp.instances[0].notify.master != nil)
        #expect(report.config.lvs.virtualServers[0].realServers[0].checkers.count == 2)
        #expect(report.findings.count == 4 && report.findings.allSatisfy { !$0.disabled })
        #expect(report.rootScriptWithoutSecurity?.owner == "vrrp_script unsafe_chk")
        #expect(report.diagnostics.allSatisfy { $0.severity == .warning })
        #expect(report.diagnostics.contains { $0.message.contains("SECURITY VIOLATION") })
    }

    @Test func scriptsRunAsAnotherUserAreNotReported() {
        let loaded = ConfigLoader.load(text: Self.text.replacing("SECURITY", with: ""))
        let report = ScriptSecurityAudit.audit(loaded.config) { _, _ in .notRoot }
        #expect(report.findings.isEmpty && report.rootScriptWithoutSecurity == nil)
        #expect(report.config == loaded.config)
    }

    /// keepalived: with enable_script_security, no script_user and no user keepalived_script, scripts are removed
    /// ("Unable to set default user for vrrp script … - removing"); without it they run as root.
    @Test func rootByDefaultIsRefusedOnlyWithSecurity() {
        for security in [true, false] {
            let loaded = ConfigLoader.load(
                text: Self.text.replacing("SECURITY", with: security ? "enable_script_security" : "").replacing(
                    "script_user root", with: ""))
            let report = ScriptSecurityAudit.audit(loaded.config) { _, _ in .rootByDefault }
            #expect(report.config.vrrp.scripts.isEmpty == security)
            #expect(report.findings.count == (security ? 6 : 0), "\(report.findings.map(\.message))")
            #expect(report.findings.allSatisfy { $0.problem.contains("no script_user") })
            #expect((report.rootScriptWithoutSecurity != nil) == !security)
        }
    }

    @Test func stickyDirectoriesAreSafeAsKeepalivedHasThem() {
        let directory = ScriptSecurity.FileStatus(uid: 0, gid: 0, mode: 0o40755)
        let table: [String: ScriptSecurity.FileStatus] = [
            "/": directory, "/tmp": .init(uid: 0, gid: 0, mode: 0o41777),
            "/tmp/ka.sh": .init(uid: 0, gid: 0, mode: 0o100755),
            "/tmp/open.sh": .init(uid: 0, gid: 0, mode: 0o100777), "/tmp/dir": .init(uid: 0, gid: 0, mode: 0o40777),
            "/tmp/dir/x.sh": .init(uid: 0, gid: 0, mode: 0o100755),
            "/tmp/fifo": .init(uid: 0, gid: 0, mode: 0o10644),
        ]
        let status = { (path: String) in table[path] }
        #expect(ScriptSecurity.problem(withProgramAt: "/tmp/ka.sh", status: status) == nil)
        #expect(
            ScriptSecurity.problem(withProgramAt: "/tmp/open.sh", status: status)?.contains(
                "the script is world-writable") == true)
        #expect(
            ScriptSecurity.problem(withProgramAt: "/tmp/dir/x.sh", status: status)?.contains(
                "'/tmp/dir' is world-writable") == true)
        #expect(ScriptSecurity.problem(withProgramAt: "/tmp/fifo", status: status)?.contains("not a file") == true)
        #expect(
            ScriptSecurity.problem(withProgramAt: "/tmp/ka.sh/x", status: status)?.contains("not a directory") == true)
    }
}
