/// Host- and network-order integer access on byte buffers, with bounds checks instead of traps.

extension Array where Element == UInt8 {
    /// Appends `value` in host byte order, as netlink carries integers unless an attribute says otherwise.
    @inlinable
    public mutating func appendHostOrder<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }

    /// Appends `value` in network byte order (big endian).
    @inlinable
    public mutating func appendNetworkOrder<T: FixedWidthInteger>(_ value: T) {
        appendHostOrder(value.bigEndian)
    }

    /// Appends zero bytes until the count is a multiple of 4 (`NLA_ALIGNTO`, `NLMSG_ALIGNTO`).
    @inlinable
    public mutating func padToNetlinkAlignment() {
        append(contentsOf: repeatElement(0, count: netlinkAligned(count) - count))
    }

    /// Overwrites the bytes at `offset` with `value` in host byte order; the range must exist.
    @inlinable
    public mutating func storeHostOrder<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value) { source in
            for (index, byte) in source.enumerated() { self[offset + index] = byte }
        }
    }
}

extension Collection where Element == UInt8, Index == Int {
    /// The integer in host byte order at `offset` (relative to `startIndex`), or nil past the end. Contiguous bytes
    /// (an array, a slice of one: every attribute of every netlink reply is read through here) are one copy of the
    /// integer's bytes; any other collection is read byte by byte.
    @inlinable
    public func loadHostOrder<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int = 0) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, count - offset >= size else { return nil }
        let copied = withContiguousStorageIfAvailable { bytes in
            var value = T.zero
            Swift.withUnsafeMutableBytes(of: &value) {
                $0.copyMemory(
                    from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[offset..<(offset + size)])))
            }
            return value
        }
        if let copied { return copied }
        var value = T.zero
        Swift.withUnsafeMutableBytes(of: &value) { target in
            for index in 0..<size { target[index] = self[startIndex + offset + index] }
        }
        return value
    }

    /// The integer in network byte order at `offset` (relative to `startIndex`), or nil past the end.
    @inlinable
    public func loadNetworkOrder<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int = 0) -> T? {
        loadHostOrder(T.self, at: offset).map { T(bigEndian: $0) }
    }
}

/// `NLA_ALIGN` / `NLMSG_ALIGN`: rounds up to a multiple of 4.
@inlinable
public func netlinkAligned(_ length: Int) -> Int {
    (length + 3) & ~3
}
