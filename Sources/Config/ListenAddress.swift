/// Where a TCP listener binds: `192.0.2.1:9165`, `[2001:db8::1]:9165`, `0.0.0.0:9165` or `[::]:9165`. Vigil's
/// `metrics_listen` keyword and `vigild --metrics-listen` take it.
public struct ListenAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var port: Int

    public init(address: IPAddress, port: Int) {
        self.address = address
        self.port = port
    }

    /// Parses `ADDRESS:PORT`, an IPv6 address in brackets; the port is 1 to 65535. Host names are not taken: a
    /// listener binds where the operator says, not where a resolver says.
    public init?(_ text: some StringProtocol) {
        guard let (address, port) = IPAddress.parseEndpoint(text), (1...65535).contains(port) else { return nil }
        self.init(address: address, port: port)
    }

    /// `192.0.2.1:9165`, `[2001:db8::1]:9165`: as parsed, and as a URL's authority.
    public var description: String { address.endpoint(port: port) }
}
