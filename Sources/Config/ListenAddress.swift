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
        let text = String(text)
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard let address = IPAddress(host), address.family == .ipv6 else { return nil }
            self.address = address
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard let address = IPAddress(host), address.family == .ipv4 else { return nil }
            self.address = address
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        self.port = port
    }

    /// `192.0.2.1:9165`, `[2001:db8::1]:9165`: as parsed, and as a URL's authority.
    public var description: String {
        address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
