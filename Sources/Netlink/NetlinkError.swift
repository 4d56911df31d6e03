import CNetlink

/// A failed netlink operation: libnl's or the kernel's explanation, and the object it was about.
///
/// The message reads well in syslog on its own: "adding real server 192.0.2.11:80 to TCP 192.0.2.100:80: File exists".
public struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the failure came from, which says what `code` means.
    public enum Kind: Sendable, Hashable {
        /// libnl failed; `code` is its `NLE_*` value (positive).
        case library
        /// The kernel answered with `NLMSG_ERROR` (or a negative `NLMSG_DONE`); `code` is the errno (positive).
        case kernel
        /// A header or attribute ends before its length says, or the buffer ends inside a header.
        case truncated
        /// A length field is impossible: `nlmsg_len` < 16, `nla_len` < 4, or larger than what is left.
        case badLength
        /// An attribute's payload has the wrong size or content for its type.
        case badAttribute
        /// A required attribute is absent.
        case missingAttribute
        /// A message of a type or command that has no place in the reply being read.
        case unexpectedMessage
    }

    public var kind: Kind
    /// libnl's `NLE_*` code for `.library`, the errno for `.kernel`, 0 for malformed replies.
    public var code: Int32
    public var message: String

    public init(kind: Kind = .library, code: Int32, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// Turns a negative libnl return value into an error naming `operation`.
    /// The corresponding C call is `nl_geterror`.
    public init(libnlResult result: Int32, operation: String) {
        let code = result < 0 ? -result : result
        let reason = String(cString: nl_geterror(code))
        self.init(kind: .library, code: code, message: "\(operation): \(reason)")
    }

    /// An errno the kernel answered with, explained as `strerror(3)` would.
    public init(kernelErrno errno: Int32, operation: String, extendedMessage: String? = nil) {
        var text = "\(operation): \(LinuxErrno.describe(errno))"
        if let extendedMessage, !extendedMessage.isEmpty { text += " (\(extendedMessage))" }
        self.init(kind: .kernel, code: errno, message: text)
    }

    /// A malformed message or attribute.
    static func malformed(_ kind: Kind, _ message: String) -> NetlinkError {
        NetlinkError(kind: kind, code: 0, message: message)
    }

    /// The same error with `context` (the operation and its object) in front of the message.
    public func adding(context: String) -> NetlinkError {
        NetlinkError(kind: kind, code: code, message: "\(context): \(message)")
    }

    /// The kernel's errno, when the kernel refused the request.
    public var errno: Int32? { kind == .kernel ? code : nil }

    public var description: String { message }
}
