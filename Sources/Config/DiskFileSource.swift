#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Configuration files on disk. The thin shell of the config module: the only file in it that
/// makes system calls (`open`, `read`, `fstat`, `glob`, `realpath`).
public struct DiskFileSource: ConfigFileSource {
    public init() {}

    public func read(_ path: String, limit: Int) throws(ConfigFileError) -> [UInt8] {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw fileError(path, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fileError(path, errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ConfigFileError(.notARegularFile, "\(path): not a regular file")
        }
        guard Int(info.st_size) <= limit else {
            throw ConfigFileError(.tooLarge, "\(path): file is \(info.st_size) bytes, more than the limit of \(limit)")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            }
            if count < 0 { throw fileError(path, errno) }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count > limit {
                throw ConfigFileError(.tooLarge, "\(path): file is more than the limit of \(limit) bytes")
            }
        }
        return bytes
    }

    /// The corresponding C call is `glob` with `GLOB_BRACE` (csh-style `{a,b}`), as keepalived uses.
    public func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, GLOB_BRACE | GLOB_TILDE, nil, &result) == 0 else { return [] }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths.sorted()
    }

    /// The corresponding C call is `realpath`.
    public func identity(of path: String) -> String {
        guard let resolved = realpath(path, nil) else { return ConfigPath.normalize(path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func fileError(_ path: String, _ code: Int32) -> ConfigFileError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT: return ConfigFileError(.notFound, "\(path): \(reason)")
        case EACCES, EPERM: return ConfigFileError(.permissionDenied, "\(path): \(reason)")
        case EISDIR: return ConfigFileError(.notARegularFile, "\(path): \(reason)")
        default: return ConfigFileError(.other, "\(path): \(reason)")
        }
    }
}

private func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
