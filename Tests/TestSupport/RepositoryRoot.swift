/// The repository's root directory (fixtures are found relative to it).
public let repositoryRoot: String = {
    var path = "\(#filePath)"
    for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
    return path
}()
