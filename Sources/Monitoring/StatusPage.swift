import Config
import WorkerIPC

/// The status page at `/`: one HTML document for a person at a browser — the workers, every VRRP instance with
/// its state, priority and addresses, every virtual server with its real servers' health, weight and connections,
/// and the latest events. No script: the browser reloads it every `refreshSeconds`.
public enum StatusPage {
    public static let refreshSeconds = 5

    public static func html(_ snapshot: MonitoringSnapshot) -> String {
        var page = HTMLWriter()
        let status = snapshot.status
        page.raw(
            """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Vigil on \(HTMLWriter.escaped(snapshot.config.globalDefs.routerID ?? "this director"))</title>
            <style>\(style)</style>
            </head>
            <body>

            """)
        header(&page, snapshot)
        workers(&page, snapshot)
        instances(&page, snapshot)
        virtualServers(&page, snapshot)
        events(&page, status)
        page.raw(
            "<footer>vigild \(HTMLWriter.escaped(status.version)) · refreshed every \(refreshSeconds) s · "
                + "<a href=\"/status.json\">status.json</a> · <a href=\"/metrics\">metrics</a></footer>\n"
                + "</body>\n</html>\n")
        return page.text
    }

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
        h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
        table{border-collapse:collapse;margin:.3em 0 1em}th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
        th{background:#f4f4f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .s{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600;color:#fff}
        .MASTER,.up{background:#2e7d32}.BACKUP{background:#1565c0}.FAULT,.down{background:#c62828}
        .INIT,.STOP,.unknown{background:#757575}.warn{color:#c62828;font-weight:600}.dim{color:#777}
        footer{margin-top:2em;color:#777;font-size:.9em}
        """

    // MARK: Sections

    static func header(_ page: inout HTMLWriter, _ snapshot: MonitoringSnapshot) {
        let status = snapshot.status
        let name = snapshot.config.globalDefs.routerID.map { " on \($0)" } ?? ""
        page.element("h1", "Vigil\(name)")
        var facts = [
            "vigild \(status.version), pid \(status.pid)", "up \(duration(status.uptimeSeconds))",
            "configuration \(status.configFile)",
        ]
        if status.stopping { facts.append("STOPPING") }
        page.raw("<p>" + facts.map(HTMLWriter.escaped).joined(separator: " · "))
        page.raw("<br>as of \(HTMLWriter.escaped(utc(snapshot.takenAtUnixSeconds)))")
        if let reload = status.lastReload {
            let ago = duration(max(0, status.uptimeSeconds - reload.atUptimeSeconds))
            if reload.succeeded {
                page.raw("<br>last reload \(ago) ago: applied (\(HTMLWriter.escaped(reload.message)))")
            } else {
                let first = reload.message.split(separator: "\n").dropFirst().first.map(String.init) ?? reload.message
                page.raw(
                    "<br><span class=\"warn\">last reload \(ago) ago: REFUSED, still running the previous "
                        + "configuration</span>: \(HTMLWriter.escaped(first))")
            }
        }
        page.raw("</p>\n")
    }

    static func workers(_ page: inout HTMLWriter, _ snapshot: MonitoringSnapshot) {
        page.element("h2", "Workers")
        guard !snapshot.status.workers.isEmpty else {
            page.element("p", "No worker: the configuration has no vrrp_instance and no virtual_server.")
            return
        }
        page.tableHead(["worker", "pid", "up", "restarts", "last heartbeat", "loop lag", "state"])
        for worker in snapshot.status.workers {
            let state: (String, String) =
                worker.pid == nil
                ? ("restarting", "down") : worker.ready == true ? ("running", "up") : ("starting", "unknown")
            page.row([
                .text(worker.role.rawValue), .number(worker.pid.map(String.init) ?? "–"),
                .number(worker.uptimeSeconds.map(duration) ?? "–"), .number(String(worker.restartCount)),
                .number(worker.lastHeartbeatSecondsAgo.map { duration($0) + " ago" } ?? "–"),
                .number(worker.loopLagMilliseconds.map { fixedPoint($0, digits: 1) + " ms" } ?? "–"),
                .badge(state.0, state.1),
            ])
            if let reason = worker.lastKillReason {
                page.raw(
                    "<tr><td></td><td colspan=\"6\" class=\"dim\">last killed: \(HTMLWriter.escaped(reason))</td></tr>\n"
                )
            }
        }
        page.raw("</table>\n")
        for worker in snapshot.status.workers {
            guard let checker = worker.checker, worker.pid != nil else { continue }
            page.element("p", DaemonStatus.render(checker).map { $0.trimmingSpaces }.joined(separator: " · "))
        }
    }

    static func instances(_ page: inout HTMLWriter, _ snapshot: MonitoringSnapshot) {
        let reports = snapshot.workersWithState.flatMap { $0.1.vrrpInstances }
        guard !reports.isEmpty else { return }
        page.element("h2", "VRRP instances")
        page.tableHead(["instance", "state", "since", "priority", "interface", "VRID", "virtual addresses", "reason"])
        for report in reports {
            let configured = snapshot.instance(named: report.name)
            var priority = (report.effectivePriority ?? report.priority).map(String.init) ?? "–"
            if let base = report.priority, let effective = report.effectivePriority, base != effective {
                priority += " (configured \(base))"
            }
            let configuredAddresses = configured?.virtualAddresses.map(\.exporterText) ?? []
            let held = Set(report.heldAddresses.map { $0.split(separator: "/").first.map(String.init) ?? $0 })
            let addresses = configuredAddresses.map { address -> String in
                let bare = address.split(separator: "/").first.map(String.init) ?? address
                return held.contains(bare) ? "\(address) (held)" : address
            }
            page.row([
                .text(report.name), .badge(report.state.rawValue, report.state.rawValue),
                .number(report.since.map { duration(snapshot.secondsSince(monotonic: $0)) } ?? "–"),
                .number(priority), .text(configured.map(snapshot.interface(of:)) ?? "–"),
                .number(configured.map { String($0.virtualRouterID) } ?? "–"),
                .text(addresses.isEmpty ? "–" : addresses.joined(separator: ", ")), .text(report.reason ?? ""),
            ])
        }
        page.raw("</table>\n")
    }

    static func virtualServers(_ page: inout HTMLWriter, _ snapshot: MonitoringSnapshot) {
        let workers = snapshot.workersWithState
        let servers = workers.flatMap { $0.1.virtualServers }
        guard !servers.isEmpty else { return }
        let ipvs = workers.flatMap { $0.0.pid == nil ? [] : $0.0.ipvs?.services ?? [] }
        page.element("h2", "Virtual servers")
        for server in servers {
            let services = ipvs.filter { $0.virtualServer == server.name }
            let kernel = services.map { "\($0.address)" }.joined(separator: ", ")
            page.raw(
                "<h3>virtual_server \(HTMLWriter.escaped(server.name)) "
                    + "<span class=\"s \(server.health.rawValue)\">quorum \(server.health.rawValue)</span>"
                    + (kernel.isEmpty ? "" : " <span class=\"dim\">IPVS \(HTMLWriter.escaped(kernel))</span>")
                    + "</h3>\n")
            page.tableHead(["real server", "health", "weight", "active conn.", "inactive conn.", "detail"])
            for real in server.realServers {
                let kernelReals = services.flatMap(\.realServers).filter { $0.isNamed(real.server) }
                let active =
                    kernelReals.isEmpty ? "–" : String(kernelReals.reduce(0) { $0 + Int($1.activeConnections) })
                let inactive =
                    kernelReals.isEmpty ? "–" : String(kernelReals.reduce(0) { $0 + Int($1.inactiveConnections) })
                page.row([
                    .text(real.address), .badge(real.health.rawValue, real.health.rawValue),
                    .number(real.weight.map(String.init) ?? "–"), .number(active), .number(inactive),
                    .text(real.detail ?? ""),
                ])
            }
            page.raw("</table>\n")
        }
    }

    static func events(_ page: inout HTMLWriter, _ status: DaemonStatus) {
        page.element("h2", "Recent events")
        guard !status.recentEvents.isEmpty else {
            page.element("p", "None yet.")
            return
        }
        page.tableHead(["time (UTC)", "from", "event"])
        for event in status.recentEvents.reversed() {
            page.row([.number(utc(event.atUnixSeconds)), .text(event.source), .text(event.summary)])
        }
        page.raw("</table>\n")
    }

    // MARK: Formatting

    /// `3.25s`, `42s`, `7m 5s`, `2h 3m`, `4d 1h`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return fixedPoint(seconds, digits: 2) + "s" }
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m \(whole % 60)s" }
        if whole < 86400 { return "\(whole / 3600)h \(whole % 3600 / 60)m" }
        return "\(whole / 86400)d \(whole % 86400 / 3600)h"
    }

    /// `2026-11-20 14:03:09` (UTC), from seconds since the Unix epoch.
    static func utc(_ unixSeconds: Double) -> String {
        let seconds = Int64(unixSeconds.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let time = seconds - days * 86400
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(time / 3600)):\(two(time % 3600 / 60)):\(two(time % 60))"
    }
}

/// An HTML document being written; every text goes through `escaped`.
struct HTMLWriter {
    enum Cell {
        case text(String)
        case number(String)
        /// A coloured label: its text and its CSS class.
        case badge(String, String)
    }

    private(set) var text = ""

    mutating func raw(_ html: String) { text += html }

    mutating func element(_ tag: String, _ content: String) {
        text += "<\(tag)>\(Self.escaped(content))</\(tag)>\n"
    }

    mutating func tableHead(_ columns: [String]) {
        text += "<table>\n<tr>" + columns.map { "<th>\(Self.escaped($0))</th>" }.joined() + "</tr>\n"
    }

    mutating func row(_ cells: [Cell]) {
        text += "<tr>"
        for cell in cells {
            switch cell {
            case .text(let value): text += "<td>\(Self.escaped(value))</td>"
            case .number(let value): text += "<td class=\"n\">\(Self.escaped(value))</td>"
            case .badge(let value, let style):
                text += "<td><span class=\"s \(Self.escaped(style))\">\(Self.escaped(value))</span></td>"
            }
        }
        text += "</tr>\n"
    }

    /// `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attributes.
    static func escaped(_ value: String) -> String {
        guard value.contains(where: { "&<>\"'".contains($0) }) else { return value }
        var output = ""
        for character in value {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
        return output
    }
}
