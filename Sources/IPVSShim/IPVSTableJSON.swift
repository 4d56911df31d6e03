import Config

/// The kernel's table as JSON for scripts (`vigilctl ipvs --json`): one object per virtual server, with the
/// settings and counters `ipvsadm -Ln` shows. Keys are stable; services and real servers in ipvsadm's order.
public enum IPVSTableJSON {
    public static func render(_ table: IPVSTable, info: IPVSInfo = IPVSInfo()) -> String {
        let services = table.virtualServers.sorted { $0.service.key < $1.service.key }.map(service)
        return object([
            ("version", string(info.versionString)),
            ("connectionTableSize", String(info.connectionTableSize)),
            ("virtualServers", array(services)),
        ]) + "\n"
    }

    private static func service(_ server: IPVSVirtualServer) -> String {
        let service = server.service
        var fields: [(String, String)] = []
        switch service.key {
        case .address(let address, let port, let proto):
            fields += [
                ("protocol", string(proto.name)), ("address", string(address.description)), ("port", String(port)),
            ]
        case .firewallMark(let mark, let family):
            fields += [("fwmark", String(mark)), ("family", string(family == .ipv4 ? "inet" : "inet6"))]
        }
        fields += [
            ("scheduler", string(service.scheduler)),
            ("flags", array(IPVSAdmRenderer.schedulerFlagWords(service).map(string))),
            ("onePacket", String(service.flags.contains(.onePacket))),
            ("persistent", String(service.flags.contains(.persistent))),
        ]
        if service.flags.contains(.persistent) {
            fields += [("timeout", String(service.timeout)), ("netmask", String(service.netmask))]
            if let engine = service.persistenceEngine { fields.append(("persistenceEngine", string(engine))) }
        }
        let destinations = server.destinations.sorted {
            IPVSDestinationKey.order($0.address, $0.port, $1.address, $1.port)
        }
        fields.append(
            (
                "realServers",
                array(
                    destinations.map {
                        object([
                            ("address", string($0.address.description)), ("port", String($0.port)),
                            ("forward", string($0.forwarding.ipvsadmName)), ("weight", String($0.weight)),
                            ("upperThreshold", String($0.upperThreshold)),
                            ("lowerThreshold", String($0.lowerThreshold)),
                            ("activeConnections", String($0.activeConnections)),
                            ("inactiveConnections", String($0.inactiveConnections)),
                            ("connections", String($0.statistics?.connections ?? 0)),
                        ])
                    })
            ))
        return object(fields)
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    /// A JSON string literal; names from the kernel are ASCII, but escape anyway.
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
