#if canImport(Glibc)
    import Glibc
#endif

/// Without libFuzzer (a plain `swift build`), a fuzz target replays the inputs named on its command line, so a
/// crash file from a fuzzing run can be re-run under a debugger: `swift run VRRPFuzzer crash-…`.
public enum FuzzReplay {
    /// Reads each file named in `arguments` and hands its bytes to `body` (the target's entry point).
    public static func run(_ arguments: [String], _ body: (UnsafePointer<UInt8>, Int) -> CInt) {
        for path in arguments {
            guard let bytes = read(path) else {
                print("cannot read \(path)")
                continue
            }
            _ = bytes.withUnsafeBufferPointer { body($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
            print("\(path): ok")
        }
    }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? bytes : nil }
            bytes += chunk[0..<count]
        }
    }

    /// Writes `bytes` to a new file at `path` (seeds), replacing it.
    public static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// The input as `[UInt8]`.
    public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Splits an input into pieces, each preceded by a 2-byte big-endian length (cut short at the end): how a
    /// target gets several datagrams or reads out of one input.
    public static func pieces(_ bytes: [UInt8]) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var index = 0
        while index + 2 <= bytes.count {
            let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
            index += 2
            let end = min(bytes.count, index + length)
            pieces.append(Array(bytes[index..<end]))
            index = end
        }
        return pieces
    }
}
