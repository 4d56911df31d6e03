// swift-format-ignore-file: AlwaysUseLowerCamelCase
// The errno names stay the C library's, so they can be grepped for next to kernel sources.

/// The Linux errno values netlink replies carry, and their `strerror(3)` text.
///
/// Kept as a table so the pure codec and the fake kernel explain errors without the C library; the values are
/// the generic Linux ones (include/uapi/asm-generic/errno-base.h, errno.h), the same on every architecture Vigil
/// runs on.
public enum LinuxErrno {
    public static let EPERM: Int32 = 1
    public static let ENOENT: Int32 = 2
    public static let ESRCH: Int32 = 3
    public static let EINTR: Int32 = 4
    public static let EIO: Int32 = 5
    public static let EAGAIN: Int32 = 11
    public static let ENOMEM: Int32 = 12
    public static let EACCES: Int32 = 13
    public static let EBUSY: Int32 = 16
    public static let EEXIST: Int32 = 17
    public static let ENODEV: Int32 = 19
    public static let EINVAL: Int32 = 22
    public static let ENOSPC: Int32 = 28
    public static let ERANGE: Int32 = 34
    public static let EPROTO: Int32 = 71
    public static let EMSGSIZE: Int32 = 90
    public static let EPROTONOSUPPORT: Int32 = 93
    public static let EOPNOTSUPP: Int32 = 95
    public static let EAFNOSUPPORT: Int32 = 97
    public static let ENOBUFS: Int32 = 105

    private static let texts: [Int32: String] = [
        EPERM: "Operation not permitted",
        ENOENT: "No such file or directory",
        ESRCH: "No such process",
        EINTR: "Interrupted system call",
        EIO: "Input/output error",
        EAGAIN: "Resource temporarily unavailable",
        ENOMEM: "Cannot allocate memory",
        EACCES: "Permission denied",
        EBUSY: "Device or resource busy",
        EEXIST: "File exists",
        ENODEV: "No such device",
        EINVAL: "Invalid argument",
        ENOSPC: "No space left on device",
        ERANGE: "Numerical result out of range",
        EPROTO: "Protocol error",
        EMSGSIZE: "Message too long",
        EPROTONOSUPPORT: "Protocol not supported",
        EOPNOTSUPP: "Operation not supported",
        EAFNOSUPPORT: "Address family not supported by protocol",
        ENOBUFS: "No buffer space available",
    ]

    /// `strerror(3)` text for the errnos above, "errno N" for others.
    public static func describe(_ errno: Int32) -> String {
        texts[errno] ?? "errno \(errno)"
    }
}
