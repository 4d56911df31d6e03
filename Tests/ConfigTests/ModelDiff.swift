@testable import Config

/// The fields in which two configuration models differ, each as the chain of properties that leads to
/// it from `KeepalivedConfig` (`VRRPConfig.instances`, `VRRPInstance.notify`, `NotifyScripts.master`).
/// Found with `Mirror`, so a new field needs no registration.
enum ModelDiff {
    /// One property of one model type, as `Type.property`.
    typealias Field = String

    static func changedPaths(_ old: KeepalivedConfig, _ new: KeepalivedConfig) -> Set<[Field]> {
        var paths: Set<[Field]> = []
        compare(old, new, path: [], into: &paths)
        return paths
    }

    /// Types whose inside is a value, not more fields (an address is read as a whole).
    static let values: Set<String> = ["IPAddress", "IPPrefix", "Duration", "ScriptCommand", "ScriptUser", "HexPattern"]

    private static func compare(_ old: Any, _ new: Any, path: [Field], into paths: inout Set<[Field]>) {
        if let old = old as? AnyHashable, let new = new as? AnyHashable, old == new { return }
        // A field stored out of line or narrow is its value (its label, `_name`, is the field's with an underscore).
        if let old = old as? any StoredField, let new = new as? any StoredField {
            return compare(old.storedValue, new.storedValue, path: path, into: &paths)
        }
        let oldMirror = Mirror(reflecting: old)
        let newMirror = Mirror(reflecting: new)
        let typeName = String(describing: type(of: old))
        let isModel = String(reflecting: type(of: old)).hasPrefix("Config.") && !values.contains(typeName)
        switch oldMirror.displayStyle {
        case .struct where isModel:
            for (oldChild, newChild) in zip(oldMirror.children, newMirror.children) {
                guard var label = oldChild.label else { continue }
                if label.hasPrefix("_") { label.removeFirst() }
                guard label != "location" else { continue }
                compare(oldChild.value, newChild.value, path: path + ["\(typeName).\(label)"], into: &paths)
            }
        case .optional:
            if let oldValue = oldMirror.children.first?.value, let newValue = newMirror.children.first?.value {
                compare(oldValue, newValue, path: path, into: &paths)
            } else {
                paths.insert(path)
            }
        case .collection where oldMirror.children.count == newMirror.children.count:
            for (oldChild, newChild) in zip(oldMirror.children, newMirror.children) {
                compare(oldChild.value, newChild.value, path: path, into: &paths)
            }
        case .enum where isModel:
            // A payload of the same case (a checker's kind) is compared field by field.
            if let oldCase = oldMirror.children.first, let newCase = newMirror.children.first,
                oldCase.label == newCase.label
            {
                compare(oldCase.value, newCase.value, path: path, into: &paths)
            } else {
                paths.insert(path)
            }
        default:
            paths.insert(path)
        }
    }
}
