/// A setting most configurations leave out, stored out of line: one reference in its owner, nil while the setting
/// is absent, where the value itself would take its full size in every owner (a `ScriptCommand?` is 56 bytes, a
/// `CheckDefaults` 112). A farm of 10,000 real servers is held by the watchdog and by the checker worker; what
/// each real server leaves out should cost it next to nothing. Equality, hashing and the encoding are the value's
/// (the encoding is the value's own, so a wrapped field reads and writes as before).
@propertyWrapper
public struct OutOfLine<Value: OutOfLineStorable & Sendable>: Sendable, Hashable, CodedAsWrappedValue {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box?

    public init(wrappedValue: Value) {
        box = wrappedValue == .absent ? nil : Box(wrappedValue)
    }

    public var wrappedValue: Value {
        get { box?.value ?? .absent }
        set { box = newValue == .absent ? nil : Box(newValue) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.box === rhs.box || lhs.wrappedValue == rhs.wrappedValue
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(wrappedValue) }
}

/// A value `OutOfLine` can hold, and the value that stands for "left out" (stored as no box at all).
public protocol OutOfLineStorable: Hashable, Codable {
    static var absent: Self { get }
}

extension Optional: OutOfLineStorable where Wrapped: Hashable & Codable {
    public static var absent: Self { nil }
}

/// What `ModelDiff` (a test) reads through: the value a field wrapper stores in its own way (`OutOfLine`,
/// `StoredAsNanoseconds`, `StoredAs`).
public protocol StoredField {
    var storedValue: Any { get }
}

extension OutOfLine: StoredField {
    public var storedValue: Any { wrappedValue }
}

extension StoredAsNanoseconds: StoredField {
    public var storedValue: Any { wrappedValue }
}

extension StoredAs: StoredField {
    public var storedValue: Any { wrappedValue }
}

/// A field that is not part of its owner's value: equality and hashing skip it. It marks where a block of the LVS
/// part stands in the file: a reload that only moved a virtual server (a line added above it) leaves it equal, so
/// the watchdog sends it to the checker as kept and the checker keeps its real servers' probes and schedules. The
/// worker then holds the old line numbers; workers never use them (diagnostics come from the watchdog's parse). It is
/// encoded as its value.
@propertyWrapper
public struct NotCompared<Value: Sendable & Codable>: Sendable, Hashable, CodedAsWrappedValue {
    public var wrappedValue: Value

    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }

    public static func == (lhs: Self, rhs: Self) -> Bool { true }

    public func hash(into hasher: inout Hasher) {}
}

/// A `Duration` stored in whole nanoseconds: 8 bytes where a `Duration` takes 16, for fields held once per checker
/// or per check (`CheckTiming`, the checker's schedule: 10,000 of each for a farm of 1,000 × 10). Truncated toward
/// zero and clamped (`Duration.clampedNanoseconds`: no setting comes near ±292 years); encoded as the `Duration`.
@propertyWrapper
public struct StoredAsNanoseconds: Sendable, Hashable, CodedAsWrappedValue {
    private var nanoseconds: Int64

    public init(wrappedValue: Duration) { nanoseconds = wrappedValue.clampedNanoseconds }

    public var wrappedValue: Duration {
        get { .nanoseconds(nanoseconds) }
        set { nanoseconds = newValue.clampedNanoseconds }
    }
}

/// An `Int` stored in a narrower integer type, clamped to its range: for counts held once per checker or per check
/// (`retry`, `rise`, `fall`, consecutive results). Encoded as the `Int`.
@propertyWrapper
public struct StoredAs<Storage: FixedWidthInteger & Sendable & Codable>: Sendable, Hashable, CodedAsWrappedValue {
    private var storage: Storage

    public init(wrappedValue: Int) { storage = Storage(clamping: wrappedValue) }

    public var wrappedValue: Int {
        get { Int(storage) }
        set { storage = Storage(clamping: newValue) }
    }
}

/// An optional `Int` stored in a narrower integer type, clamped to its range: for settings of each real server that
/// most leave out or keep small (`port`, `rise`, `fall`). Encoded as the `Int?`.
@propertyWrapper
public struct StoredAsOptional<Storage: FixedWidthInteger & Sendable & Codable>: Sendable, Hashable,
    CodedAsWrappedValue
{
    private var storage: Storage?

    public init(wrappedValue: Int?) { storage = wrappedValue.map { Storage(clamping: $0) } }

    public var wrappedValue: Int? {
        get { storage.map { Int($0) } }
        set { storage = newValue.map { Storage(clamping: $0) } }
    }
}

extension StoredAsOptional: StoredField {
    public var storedValue: Any { wrappedValue as Any }
}

/// A property wrapper encoded as the value it wraps, so a wrapped field reads and writes as the bare field did.
public protocol CodedAsWrappedValue: Codable {
    associatedtype Value: Codable
    var wrappedValue: Value { get }
    init(wrappedValue: Value)
}

extension CodedAsWrappedValue {
    public init(from decoder: any Decoder) throws {
        self.init(wrappedValue: try decoder.singleValueContainer().decode(Value.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}
