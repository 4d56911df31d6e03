import CIndexStore
import Foundation

/// Who reads each property of the configuration model, from the compiler's index store (SwiftPM
/// writes one for every debug build, in `.build/debug/index/store`): exact, typed references, not
/// text matches, so `NotifyScripts.master` and `VRRPState.master` are told apart.
///
/// A property counts as read when code outside `Sources/Config` refers to it (a read or a key path),
/// or when a property or method of the model itself (`Sources/Config/Model`) that reads it is read so,
/// like `VirtualServer.isPersistent` reading `persistenceTimeout`. Reads by the schema, the diff and
/// the printer do not count: they are how the file becomes the model, not what Vigil does with it;
/// nor do reads by the developer tool `vigil-ipvs`.
struct ModelReaders {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `Type.property` → the property's USR, for every property declared in `Sources/Config`.
    private(set) var properties: [String: String] = [:]
    /// USR → the files outside `Sources/Config` that read it.
    private(set) var outsideReaders: [String: Set<String>] = [:]
    /// USR → the model members (`Sources/Config/Model`) that read it.
    private var modelReaders: [String: Set<String>] = [:]
    /// Accessor USR → its property's USR.
    private var accessorOf: [String: String] = [:]

    /// The package's root directory (this file is `Tests/ConfigTests/ModelReaders.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The index store of the build these tests belong to: beside the test bundle.
    static var storePath: String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<4 {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent("index/store").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        let fallback = packageRoot + "/.build/debug/index/store"
        return FileManager.default.fileExists(atPath: fallback) ? fallback : nil
    }

    /// libIndexStore from the toolchain that runs the tests.
    static var libraryPath: String? {
        var candidates = ["/opt/swift/usr/lib/libIndexStore.so"]
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append(
                URL(fileURLWithPath: String(directory)).deletingLastPathComponent().path + "/lib/libIndexStore.so")
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    static func load() throws(Failure) -> ModelReaders {
        guard let store = storePath else {
            throw Failure(description: "no index store beside the tests (build them with swift build --build-tests)")
        }
        guard let library = libraryPath else { throw Failure(description: "no libIndexStore.so in the toolchain") }
        var occurrences: [Occurrence] = []
        let failure = withUnsafeMutablePointer(to: &occurrences) { pointer in
            cindexstore_read(library, store, packageRoot + "/Sources/", pointer) { context, occurrence in
                guard let context, let occurrence = occurrence?.pointee else { return }
                let list = context.assumingMemoryBound(to: [Occurrence].self)
                list.pointee.append(Occurrence(occurrence))
            }
        }
        if let failure { throw Failure(description: String(cString: failure)) }
        return ModelReaders(occurrences)
    }

    struct Occurrence {
        var file: String
        var usr: String
        var name: String
        var kind: Int32
        var roles: UInt64
        var relations: [(roles: UInt64, usr: String)]

        init(_ occurrence: cindexstore_occurrence) {
            file = String(cString: occurrence.file)
            usr = String(cString: occurrence.usr)
            name = String(cString: occurrence.name)
            kind = occurrence.kind
            roles = occurrence.roles
            relations = String(cString: occurrence.relations).split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let roles = UInt64(parts[0]) else { return nil }
                return (roles, String(parts[1]))
            }
        }

        func related(_ role: UInt64) -> String? { relations.first { $0.roles & role != 0 }?.usr }
    }

    // indexstore_symbol_role_t and indexstore_symbol_kind_t values.
    static let definition: UInt64 = 1 << 1
    static let reference: UInt64 = 1 << 2
    static let read: UInt64 = 1 << 3
    static let write: UInt64 = 1 << 4
    static let childOf: UInt64 = 1 << 9
    static let accessorOf: UInt64 = 1 << 15
    static let containedBy: UInt64 = 1 << 16
    static let instanceProperty: Int32 = 19

    init(_ occurrences: [Occurrence]) {
        let config = Self.packageRoot + "/Sources/Config/"
        let model = config + "Model/"
        var typeNames: [String: String] = [:]
        for occurrence in occurrences where occurrence.roles & Self.definition != 0 {
            typeNames[occurrence.usr] = occurrence.name
        }
        for occurrence in occurrences where occurrence.roles & Self.definition != 0 && occurrence.file.hasPrefix(config)
        {
            if occurrence.kind == Self.instanceProperty, let parent = occurrence.related(Self.childOf),
                let type = typeNames[parent]
            {
                properties["\(type).\(occurrence.name)"] = occurrence.usr
            }
            if let property = occurrence.related(Self.accessorOf) { accessorOf[occurrence.usr] = property }
        }
        for occurrence in occurrences where occurrence.roles & Self.reference != 0 {
            // A plain assignment is not a read.
            let writeOnly = occurrence.roles & Self.write != 0 && occurrence.roles & Self.read == 0
            guard !writeOnly else { continue }
            if occurrence.file.hasPrefix(Self.packageRoot + "/Sources/vigil-ipvs/") {
                // A developer tool: what it reads does not take effect in the daemon.
                continue
            } else if !occurrence.file.hasPrefix(config) {
                outsideReaders[occurrence.usr, default: []].insert(occurrence.file)
            } else if occurrence.file.hasPrefix(model), let container = occurrence.related(Self.containedBy) {
                modelReaders[occurrence.usr, default: []].insert(accessorOf[container] ?? container)
            }
        }
    }

    /// Whether `Type.property` is read outside `Config`, directly or through the model's own members.
    func isRead(_ field: String) -> Bool {
        guard let usr = properties[field] else { return false }
        var visited: Set<String> = []
        var pending = [usr]
        while let next = pending.popLast() {
            guard visited.insert(next).inserted else { continue }
            if outsideReaders[next] != nil { return true }
            pending += modelReaders[next] ?? []
        }
        return false
    }
}
