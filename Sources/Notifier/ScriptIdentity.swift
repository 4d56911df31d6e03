import Config
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The user and group a program runs as.
public struct ScriptIdentity: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var userName: String

    public init(uid: UInt32, gid: UInt32, userName: String) {
        self.uid = uid
        self.gid = gid
        self.userName = userName
    }

    /// root:root.
    public static let root = ScriptIdentity(uid: 0, gid: 0, userName: "root")

    /// The user keepalived runs scripts as when no `script_user` is configured, if it exists.
    public static let defaultScriptUser = "keepalived_script"

    /// The identity scripts run as for a configuration's `script_user`, root (with the reason logged) when it
    /// cannot be resolved: what the VRRP and the checker workers both start their script runner with.
    public static func scriptUser(of globals: GlobalDefs, logger: Logger) -> ScriptIdentity {
        do {
            return try resolve(user: globals.scriptUser?.user, group: globals.scriptUser?.group)
        } catch {
            logger.error("\(error.message); scripts run as root")
            return .root
        }
    }

    /// `script_user` resolution as keepalived: the configured user (and group, else the user's own
    /// group), else `keepalived_script` if that user exists, else root.
    /// - Throws: `ScriptError` naming an unknown user or group.
    public static func resolve(user: String?, group: String?) throws(ScriptError) -> ScriptIdentity {
        guard let user else {
            if let fallback = lookUpUser(defaultScriptUser) {
                return try apply(group: group, to: fallback)
            }
            return try apply(group: group, to: .root)
        }
        guard let found = lookUpUser(user) else {
            throw ScriptError(.unknownUser, "script user '\(user)' does not exist")
        }
        return try apply(group: group, to: found)
    }

    /// The identity of a configured script: its own `USER [GROUP]` if written after it, else the global
    /// `script_user` (`scriptUser`), else keepalived's default.
    /// - Throws: `ScriptError` naming an unknown user or group.
    public static func resolve(for command: Config.ScriptCommand, scriptUser: ScriptUser?) throws(ScriptError)
        -> ScriptIdentity
    {
        if let user = command.user { return try resolve(user: user, group: command.group) }
        return try resolve(user: scriptUser?.user, group: scriptUser?.group)
    }

    private static func apply(group: String?, to identity: ScriptIdentity) throws(ScriptError) -> ScriptIdentity {
        guard let group else { return identity }
        guard let gid = lookUpGroup(group) else {
            throw ScriptError(.unknownGroup, "script group '\(group)' (for user '\(identity.userName)') does not exist")
        }
        var result = identity
        result.gid = gid
        return result
    }

    /// getpwnam_r(3), or a numeric uid.
    static func lookUpUser(_ name: String) -> ScriptIdentity? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        if status == 0, let found = result?.pointee {
            return ScriptIdentity(uid: found.pw_uid, gid: found.pw_gid, userName: String(cString: found.pw_name))
        }
        if let uid = UInt32(name) {
            let status = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
            if status == 0, let found = result?.pointee {
                return ScriptIdentity(uid: found.pw_uid, gid: found.pw_gid, userName: String(cString: found.pw_name))
            }
        }
        return nil
    }

    /// getgrnam_r(3), or a numeric gid.
    static func lookUpGroup(_ name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
        if status == 0, let found = result?.pointee { return found.gr_gid }
        return UInt32(name)
    }
}

/// `enable_script_security`: which scripts keepalived refuses to run.
public enum ScriptSecurity {
    /// What a path component looks like to the check (lstat(2): a symbolic link is not followed).
    public struct FileStatus: Hashable, Sendable {
        public var uid: UInt32
        public var gid: UInt32
        /// `st_mode`: the file type bits and the permissions.
        public var mode: UInt32

        public init(uid: UInt32, gid: UInt32, mode: UInt32) {
            self.uid = uid
            self.gid = gid
            self.mode = mode
        }

        var isDirectory: Bool { mode & 0o170000 == 0o040000 }
        var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
        var isSymbolicLink: Bool { mode & 0o170000 == 0o120000 }
    }

    /// Why a script that runs as root (user or group) is unsafe, or `nil`: keepalived's `check_script_secure`.
    /// The program (found in `PATH` when it has no slash) is resolved to its real path; that path and, when the
    /// name written is a link with another name, the link in the real directory, are checked component by
    /// component (`problem(withProgramAt:status:)`). Scripts run as another user and group are not checked. A
    /// program that does not exist is a problem only when someone other than root could create it (its deepest
    /// existing directory fails the same check); otherwise it is left to fail when run.
    public static func problem(with command: ScriptCommand, runningAs identity: ScriptIdentity) -> String? {
        guard identity.uid == 0 || identity.gid == 0 else { return nil }
        let path =
            command.resolvedProgram(
                searchPath: getenv("PATH").map { String(cString: $0) } ?? ScriptCommand.defaultSearchPath,
                isExecutable: { access($0, X_OK) == 0 }) ?? command.program
        guard let real = realPath(path) else {
            guard path.hasPrefix("/") else { return nil }
            var directory = directoryOf(path)
            while realPath(directory) == nil { directory = directoryOf(directory) }
            let existing = realPath(directory) ?? "/"
            guard let problem = problem(withDirectoryAt: existing, status: fileStatus) else { return nil }
            return "script '\(path)' does not exist and anyone could create it: \(problem)"
        }
        if let problem = problem(withProgramAt: real, status: fileStatus) { return problem }
        let written = path.split(separator: "/").last.map(String.init) ?? path
        let realName = real.split(separator: "/").last.map(String.init) ?? real
        guard written != realName else { return nil }
        let link = real.dropLast(realName.utf8.count) + written
        return fileStatus(String(link)) == nil ? nil : problem(withProgramAt: String(link), status: fileStatus)
    }

    /// The pure check over an absolute `path`, from `/` down to the program, as keepalived's `check_security`: each
    /// directory must be a directory and the last a file or a link; each must be owned by root; a file, or a
    /// directory without the sticky bit (`/tmp` has it), must not be writable by a group other than root's or by
    /// everyone.
    public static func problem(withProgramAt path: String, status: (String) -> FileStatus?) -> String? {
        problem(at: path, lastIsProgram: true, status: status)
    }

    /// The same check over a directory and those above it.
    public static func problem(withDirectoryAt path: String, status: (String) -> FileStatus?) -> String? {
        problem(at: path, lastIsProgram: false, status: status)
    }

    static func problem(at path: String, lastIsProgram: Bool, status: (String) -> FileStatus?) -> String? {
        guard path.hasPrefix("/") else { return "script '\(path)': not found" }
        let components = path.split(separator: "/").map(String.init)
        for depth in 0...components.count {
            let current = "/" + components.prefix(depth).joined(separator: "/")
            let isProgram = lastIsProgram && depth == components.count
            guard let info = status(current) else { return "script '\(path)': cannot stat '\(current)'" }
            let what = isProgram ? "the script" : "directory '\(current)'"
            if isProgram ? !(info.isRegularFile || info.isSymbolicLink) : !info.isDirectory {
                return "script '\(path)': \(what) is not a \(isProgram ? "file" : "directory")"
            }
            if info.uid != 0 {
                return "unsafe permissions for script '\(path)': \(what) is owned by uid \(info.uid), not root"
            }
            let guarded = info.isRegularFile || (info.isDirectory && info.mode & 0o1000 == 0)
            if guarded && info.mode & 0o020 != 0 && info.gid != 0 {
                return "unsafe permissions for script '\(path)': \(what) is writable by group \(info.gid)"
            }
            if guarded && info.mode & 0o002 != 0 {
                return "unsafe permissions for script '\(path)': \(what) is world-writable"
            }
        }
        return nil
    }

    /// The directory holding `path` (`/` for `/x`).
    static func directoryOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// lstat(2) of `path`.
    static func fileStatus(_ path: String) -> FileStatus? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileStatus(uid: info.st_uid, gid: info.st_gid, mode: info.st_mode)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
