import Config

/// A real server's address and port held in fixed size (an IPv4 address and a port take no heap), turned into text
/// only where it is shown or sent.
///
/// The checker's reports name every real server, and the watchdog keeps the last of each: as text (`198.51.100.11
/// 80`, 16 bytes, one past the inline limit of a Swift string) each name was a heap allocation, and for 1,000 virtual
/// servers × 10 real servers the state and the IPVS statistics held 4.1 MiB of the watchdog's heap and the
/// statistics 2.7 MiB of the checker's (`vigil-microbench memory`, issue 13). Messages and the status JSON still
/// carry the text, as before.
public struct ServerAddress: Hashable, Sendable {
    public var ip: IPAddress
    /// nil for a port-less real server of a firewall-mark service (`real_server 198.51.100.11`).
    public var port: UInt16?

    public init(_ ip: IPAddress, port: UInt16?) {
        self.ip = ip
        self.port = port
    }

    /// A configured real server's address (its port checked by the configuration's schema).
    public init(_ real: RealServer) {
        self.init(real.address, port: real.port.map { UInt16(truncatingIfNeeded: $0) })
    }

    /// As the configuration writes it: `198.51.100.11 80`, `2001:db8::11 80`, `198.51.100.11` (no port).
    public var configName: String { port.map { "\(ip) \($0)" } ?? "\(ip)" }

    /// As `ipvsadm -n` prints it: `198.51.100.11:80`, `[2001:db8::11]:80` (port 0 when there is none).
    public var endpoint: String { ip.endpoint(port: Int(port ?? 0)) }

    /// Reads `configName`'s form; nil for anything else.
    public init?(configName text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count <= 2, let ip = IPAddress(parts[0]) else { return nil }
        guard parts.count == 2 else {
            self.init(ip, port: nil)
            return
        }
        guard let port = UInt16(parts[1]) else { return nil }
        self.init(ip, port: port)
    }

    /// Reads `endpoint`'s form (`IPAddress.parseEndpoint`); nil for anything else.
    public init?(endpoint text: String) {
        guard let (ip, port) = IPAddress.parseEndpoint(text), let port = UInt16(exactly: port) else { return nil }
        self.init(ip, port: port)
    }
}

extension KeyedDecodingContainer {
    /// A `ServerAddress` the message carries as text, read by `parse` (`ServerAddress(configName:)`, `(endpoint:)`).
    func decodeServerAddress(forKey key: Key, _ parse: (String) -> ServerAddress?) throws -> ServerAddress {
        let text = try decode(String.self, forKey: key)
        guard let address = parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "not a real server's address: \(text)")
        }
        return address
    }
}
