import CNetlink

/// A failed netlink operation, with libnl's explanation and the object it was about.
public struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libnl's `NLE_*` code (positive).
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// Turns a negative libnl return value into an error naming `operation`.
    /// The corresponding C call is `nl_geterror`.
    public init(libnlResult result: Int32, operation: String) {
        let code = result < 0 ? -result : result
        let reason = String(cString: nl_geterror(code))
        self.init(code: code, message: "\(operation): \(reason)")
    }

    public var description: String { message }
}
