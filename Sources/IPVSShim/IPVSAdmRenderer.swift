import Config

/// Renders a table as `ipvsadm -Ln` prints it, column for column (ipvsadm.c `list_all`, `print_title`,
/// `print_service_entry`), so operators and the kernel lab can diff the two.
public enum IPVSAdmRenderer {
    /// The listing, services and real servers sorted as ipvsadm sorts them.
    /// - Parameters:
    ///   - info: the header line's version and connection table size.
    ///   - checkerState: when given, an extra column after InActConn: the health checker's word for each real
    ///     server (e.g. "up", "down"); ipvsadm has no such column.
    public static func render(
        _ table: IPVSTable, info: IPVSInfo = IPVSInfo(),
        checkerState: ((IPVSServiceKey, IPVSDestination) -> String?)? = nil
    ) -> String {
        var lines = [
            "IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))",
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
                + (checkerState == nil ? "" : "  Checker"),
        ]
        for server in table.virtualServers.sorted(by: { $0.service.key < $1.service.key }) {
            lines.append(serviceLine(server.service))
            let destinations = server.destinations.sorted {
                IPVSDestinationKey.order($0.address, $0.port, $1.address, $1.port)
            }
            for destination in destinations {
                // printf("  -> %-28s %-7s %-6d %-10u %-10u\n", ...)
                var line =
                    "  -> " + padded(destination.endpoint, 28) + " " + padded(destination.forwarding.ipvsadmName, 7)
                    + " "
                    + padded(String(Int32(bitPattern: destination.weight)), 6) + " "
                    + padded(String(destination.activeConnections), 10) + " "
                    + padded(String(destination.inactiveConnections), 10)
                if let checkerState {
                    line += " " + (checkerState(server.service.key, destination) ?? "-")
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "TCP  192.0.2.100:80 wlc persistent 50 mask 255.255.255.0 pe sip ops", "FWM  7 IPv6 mh".
    static func serviceLine(_ service: IPVSService) -> String {
        var line: String
        switch service.key {
        case .address(let address, let port, let proto):
            // "%-4s %s": "TCP  192.0.2.1:80" but "SCTP 192.0.2.1:80" (seen on the kernel lab's ipvsadm 1.31).
            line = padded(proto.name, 4) + " " + IPVSFormat.endpoint(address, port)
        case .firewallMark(let mark, .ipv4):
            line = "FWM  \(mark)"
        case .firewallMark(let mark, .ipv6):
            line = "FWM  \(mark) IPv6"
        }
        line += " \(service.scheduler)"
        let schedulerFlags = schedulerFlagWords(service)
        if !schedulerFlags.isEmpty { line += " (\(schedulerFlags.joined(separator: ",")))" }
        if service.flags.contains(.persistent) {
            line += " persistent \(service.timeout)"
            let full = IPVSService.fullNetmask(for: service.key.family)
            if service.netmask != full {
                line +=
                    service.key.family == .ipv4
                    ? " mask \(IPAddress.v4(service.netmask))" : " mask \(Int32(bitPattern: service.netmask))"
            }
            if let engine = service.persistenceEngine, !engine.isEmpty { line += " pe \(engine)" }
        }
        if service.flags.contains(.onePacket) { line += " ops" }
        return line
    }

    /// ipvsadm's `print_sched_flags`: named for sh and mh, "flag-N" otherwise.
    static func schedulerFlagWords(_ service: IPVSService) -> [String] {
        let names: [String] =
            switch service.scheduler {
            case "sh": ["sh-fallback", "sh-port", "flag-3"]
            case "mh": ["mh-fallback", "mh-port", "flag-3"]
            default: ["flag-1", "flag-2", "flag-3"]
            }
        let bits: [IPVSServiceFlags] = [.scheduler1, .scheduler2, .scheduler3]
        return zip(bits, names).filter { service.flags.contains($0.0) }.map(\.1)
    }

    /// `%-Ns`: left-aligned, padded with spaces, never truncated.
    private static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
