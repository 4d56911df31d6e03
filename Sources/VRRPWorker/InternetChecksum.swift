/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
///
/// VRRPv2 sums the VRRP message alone (RFC 3768 §5.3.8); VRRPv3 prepends the IPv4 or IPv6 pseudo-header
/// (RFC 5798 §5.2.8). A message whose checksum field is correct sums to zero.
struct InternetChecksum {
    private var sum: UInt32 = 0
    private var pendingHighByte: UInt8?

    mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if let high = pendingHighByte {
                sum += UInt32(high) << 8 | UInt32(byte)
                sum = (sum & 0xffff) + (sum >> 16)
                pendingHighByte = nil
            } else {
                pendingHighByte = byte
            }
        }
    }

    /// The checksum to store in the message (or zero when verifying a message that is correct).
    var value: UInt16 {
        var total = sum
        if let high = pendingHighByte {
            // RFC 1071 §4.1: an odd trailing byte is padded with zero on the right.
            total += UInt32(high) << 8
        }
        while total > 0xffff {
            total = (total & 0xffff) + (total >> 16)
        }
        return ~UInt16(total)
    }
}
