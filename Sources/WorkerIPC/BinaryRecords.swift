import Config

/// The configuration's most numerous values, written by `BinaryCodec` as records: a `record` tag, the number of
/// fields, then each field's value in a fixed order, with no key and no container.
///
/// A configuration of 1,000 virtual servers × 10 real servers holds 10,000 real servers and as many checkers, and
/// through synthesized `Codable` each of their fields cost a keyed container's entry: a boxed container call, a key
/// written or matched, generic metadata looked up. Encoding that configuration took 740 million instructions and
/// decoding it more, five times its parse (callgrind, `vigil-microbench`), on the path of every start of a worker.
///
/// Each record's order is its `write` and its `init(record:)`; `BinaryCodecTests.everyFieldIsWritten` counts the
/// stored properties of each type, so a field added to the model and not to its record fails a test instead of being
/// lost on the way to the worker. The decoder checks the field count and every value's type, as for any other value.
protocol BinaryRecord {
    static var fieldCount: Int { get }
    func write(to record: BinaryRecordWriter) throws
    init(record: BinaryRecordReader) throws
}

extension BinaryPrimitiveWriter {
    /// Writes `value` as a record when its type is one (metatypes compared by pointer, as for the leaves); false
    /// otherwise.
    func writeRecord<T>(_ value: T) throws -> Bool {
        if T.self == VirtualServer.self {
            try BinaryRecordWriter.write(value as! VirtualServer, state: state)
        } else if T.self == RealServer.self {
            try BinaryRecordWriter.write(value as! RealServer, state: state)
        } else if T.self == Checker.self {
            try BinaryRecordWriter.write(value as! Checker, state: state)
        } else if T.self == CheckTiming.self {
            try BinaryRecordWriter.write(value as! CheckTiming, state: state)
        } else if T.self == CheckDefaults.self {
            try BinaryRecordWriter.write(value as! CheckDefaults, state: state)
        } else if T.self == ConnectionOptions.self {
            try BinaryRecordWriter.write(value as! ConnectionOptions, state: state)
        } else {
            return false
        }
        return true
    }
}

extension BinaryPrimitiveReader {
    /// A record of type `T` when `T` is a record type (which is always written as one); nil otherwise.
    func readRecord<T>(_ type: T.Type) throws -> T? {
        if T.self == VirtualServer.self {
            return try BinaryRecordReader.read(VirtualServer.self, state: state, depth: depth) as? T
        }
        if T.self == RealServer.self {
            return try BinaryRecordReader.read(RealServer.self, state: state, depth: depth) as? T
        }
        if T.self == Checker.self { return try BinaryRecordReader.read(Checker.self, state: state, depth: depth) as? T }
        if T.self == CheckTiming.self {
            return try BinaryRecordReader.read(CheckTiming.self, state: state, depth: depth) as? T
        }
        if T.self == CheckDefaults.self {
            return try BinaryRecordReader.read(CheckDefaults.self, state: state, depth: depth) as? T
        }
        if T.self == ConnectionOptions.self {
            return try BinaryRecordReader.read(ConnectionOptions.self, state: state, depth: depth) as? T
        }
        return nil
    }
}

/// Writes one record's fields.
struct BinaryRecordWriter: BinaryPrimitiveWriter {
    let state: EncoderState

    func field<T: Encodable>(_ value: T) throws { try write(value) }

    func field<T: Encodable>(_ value: T?) throws {
        if let value { try write(value) } else { state.tag(.null) }
    }

    /// A list of records, as `Array`'s `Codable` writes it (an unkeyed container, each element a record), without its
    /// generic container: a virtual server's real servers, a real server's checkers.
    func records<R: BinaryRecord>(_ values: some Collection<R>) throws {
        let countAt = state.container(.unkeyed)
        for value in values {
            state.count(at: countAt)
            try Self.write(value, state: state)
        }
    }

    /// A virtual server's address as one value: an address and port as a record of those two, a fwmark as a number, a
    /// group as its name (`Codable` made each an enum's keyed container holding another).
    func address(_ address: VirtualServerAddress) throws {
        switch address {
        case .endpoint(let ip, let port):
            state.tag(.record)
            state.varint(2)
            try write(ip)
            try write(port)
        case .fwmark(let mark): state.unsigned(UInt64(mark))
        case .group(let name): state.string(name)
        }
    }

    /// NAT and DR as a number; a tunnel with its options, as `Codable` writes it.
    func forwarding(_ method: ForwardingMethod?) throws {
        switch method {
        case nil: state.tag(.null)
        case .nat?: state.unsigned(0)
        case .directRouting?: state.unsigned(1)
        case let tunnel?: try write(tunnel)
        }
    }

    /// Starts a record of `R` and writes its fields.
    static func write<R: BinaryRecord>(_ value: R, state: EncoderState) throws {
        state.tag(.record)
        state.varint(UInt64(R.fieldCount))
        try value.write(to: BinaryRecordWriter(state: state))
    }
}

/// Reads one record's fields, in order.
struct BinaryRecordReader: BinaryPrimitiveReader {
    let state: DecoderState
    /// The record's own depth: a field that is a container opens one level deeper.
    let depth: Int

    func field<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try state.settle(above: depth)
        return try read(T.self)
    }

    func optional<T: Decodable>(_ type: T.Type = T.self) throws -> T? {
        try state.settle(above: depth)
        if try state.peekTag() == .null {
            state.offset += 1
            return nil
        }
        return try read(T.self)
    }

    /// What `BinaryRecordWriter.address` wrote.
    func address() throws -> VirtualServerAddress {
        try state.settle(above: depth)
        switch try state.peekTag() {
        case .record:
            state.offset += 1
            guard try state.varint() == 2 else { throw state.fail("a virtual server address record has 2 fields") }
            let ip: IPAddress = try read(IPAddress.self)
            return .endpoint(ip, port: try read(Int.self))
        case .unsigned:
            guard let mark = UInt32(exactly: try state.unsigned()) else { throw state.fail("a fwmark above 2^32") }
            return .fwmark(mark)
        default:
            return .group(try readString())
        }
    }

    /// What `BinaryRecordWriter.forwarding` wrote.
    func forwarding() throws -> ForwardingMethod? {
        try state.settle(above: depth)
        switch try state.peekTag() {
        case .null:
            state.offset += 1
            return nil
        case .unsigned:
            switch try state.unsigned() {
            case 0: return .nat
            case 1: return .directRouting
            case let other: throw state.fail("no forwarding method \(other)")
            }
        default:
            return try read(ForwardingMethod.self)
        }
    }

    /// A list `records(_:)` wrote (or `Array`'s `Codable`: the bytes are the same).
    func records<R: BinaryRecord>(_ type: R.Type = R.self) throws -> [R] {
        let cursor = try state.openContainer(.unkeyed, "a list of records", depth: depth + 1)
        var values: [R] = []
        values.reserveCapacity(cursor.remaining)
        while cursor.remaining > 0 {
            try state.settle(above: cursor.depth)
            cursor.remaining -= 1
            values.append(try Self.read(R.self, state: state, depth: cursor.depth))
        }
        try state.settle(above: depth)
        return values
    }

    /// Reads a record of `type` at `depth` (its tag next).
    static func read<R: BinaryRecord>(_ type: R.Type, state: DecoderState, depth: Int) throws -> R {
        try state.settle(above: depth)
        guard depth + 1 < BinaryCodec.maxDepth else { throw state.fail("nested deeper than \(BinaryCodec.maxDepth)") }
        try state.expect(.record, "a \(R.self) record")
        let count = try state.varint()
        guard count == R.fieldCount else {
            throw state.fail("a \(R.self) record has \(R.fieldCount) fields, this one \(count)")
        }
        state.tick()
        let value = try R(record: BinaryRecordReader(state: state, depth: depth + 1))
        try state.settle(above: depth)
        return value
    }
}

extension VirtualServer: BinaryRecord {
    static var fieldCount: Int { 24 }

    func write(to record: BinaryRecordWriter) throws {
        try record.address(address)
        try record.field(`protocol`)
        try record.field(ipFamily)
        try record.field(scheduler)
        try record.field(flags)
        try record.forwarding(forwarding)
        try record.field(persistenceTimeout)
        try record.field(persistenceGranularity)
        try record.field(persistenceEngine)
        try record.field(haSuspend)
        try record.field(smtpAlert)
        try record.field(virtualhost)
        try record.field(omega)
        try record.field(quorum)
        try record.field(hysteresis)
        try record.field(quorumUp)
        try record.field(quorumDown)
        try record.field(inhibitOnFailure)
        try record.field(announceUp)
        try record.field(announceDown)
        try record.field(checkDefaults)
        try record.field(sorryServer)
        try record.records(realServers)
        try record.field(location)
    }

    init(record: BinaryRecordReader) throws {
        var server = VirtualServer(address: try record.address(), location: SourceLocation(file: "", line: 0))
        server.protocol = try record.field()
        server.ipFamily = try record.optional()
        server.scheduler = try record.field()
        server.flags = try record.field()
        guard let forwarding = try record.forwarding() else {
            throw record.state.fail("a virtual server record without its forwarding method")
        }
        server.forwarding = forwarding
        server.persistenceTimeout = try record.optional()
        server.persistenceGranularity = try record.optional()
        server.persistenceEngine = try record.optional()
        server.haSuspend = try record.field()
        server.smtpAlert = try record.optional()
        server.virtualhost = try record.optional()
        server.omega = try record.field()
        server.quorum = try record.field()
        server.hysteresis = try record.field()
        server.quorumUp = try record.optional()
        server.quorumDown = try record.optional()
        server.inhibitOnFailure = try record.field()
        server.announceUp = try record.optional()
        server.announceDown = try record.optional()
        server.checkDefaults = try record.field()
        server.sorryServer = try record.optional()
        server.realServers = try record.records()
        server.location = try record.field()
        self = server
    }
}

extension RealServer: BinaryRecord {
    static var fieldCount: Int { 16 }

    func write(to record: BinaryRecordWriter) throws {
        try record.field(address)
        try record.field(port)
        try record.field(weight)
        try record.forwarding(forwarding)
        try record.field(inhibitOnFailure)
        try record.field(notifyUp)
        try record.field(notifyDown)
        try record.field(upperThreshold)
        try record.field(lowerThreshold)
        try record.field(smtpAlert)
        try record.field(virtualhost)
        try record.field(checkDefaults)
        try record.field(rise)
        try record.field(fall)
        try record.records(checkers)
        try record.field(location)
    }

    init(record: BinaryRecordReader) throws {
        let address: IPAddress = try record.field()
        let port: Int? = try record.optional()
        var server = RealServer(address: address, port: port, location: SourceLocation(file: "", line: 0))
        server.weight = try record.field()
        server.forwarding = try record.forwarding()
        server.inhibitOnFailure = try record.optional()
        server.notifyUp = try record.optional()
        server.notifyDown = try record.optional()
        server.upperThreshold = try record.field()
        server.lowerThreshold = try record.field()
        server.smtpAlert = try record.optional()
        server.virtualhost = try record.optional()
        server.checkDefaults = try record.field()
        server.rise = try record.optional()
        server.fall = try record.optional()
        server.checkers = Checkers(try record.records(Checker.self))
        server.location = try record.field()
        self = server
    }
}

extension Checker: BinaryRecord {
    static var fieldCount: Int { 6 }

    /// The kinds without settings, written as a number instead of an enum's container.
    private static let plainKinds: [CheckerKind] = [.tcp, .ping]

    func write(to record: BinaryRecordWriter) throws {
        if let plain = Self.plainKinds.firstIndex(of: kind) {
            record.state.unsigned(UInt64(plain))
        } else {
            try record.field(kind)
        }
        try record.field(connection)
        try record.field(timing)
        try record.field(ownTiming.rawValue)
        try record.field(logAllFailures)
        try record.field(location)
    }

    init(record: BinaryRecordReader) throws {
        let kind: CheckerKind
        try record.state.settle(above: record.depth)
        if try record.state.peekTag() == .unsigned {
            let plain = try record.state.unsigned()
            guard plain < UInt64(Self.plainKinds.count) else { throw record.state.fail("no checker kind \(plain)") }
            kind = Self.plainKinds[Int(plain)]
        } else {
            kind = try record.field()
        }
        var checker = Checker(kind: kind, location: SourceLocation(file: "", line: 0))
        checker.connection = try record.field()
        checker.timing = try record.field()
        checker.ownTiming = CheckTiming.Settings(rawValue: try record.field())
        checker.logAllFailures = try record.field()
        checker.location = try record.field()
        self = checker
    }
}

/// A resolved timing goes as the written settings it resolves, each one present.
extension CheckTiming: BinaryRecord {
    static var fieldCount: Int { CheckDefaults.fieldCount }

    func write(to record: BinaryRecordWriter) throws {
        var settings = CheckDefaults()
        settings.connectTimeout = connectTimeout
        settings.retry = retry
        settings.delayBeforeRetry = delayBeforeRetry
        settings.warmup = warmup
        settings.delayLoop = delayLoop
        settings.alpha = alpha
        try settings.write(to: record)
    }

    init(record: BinaryRecordReader) throws {
        let settings = try CheckDefaults(record: record)
        guard let connectTimeout = settings.connectTimeout, let retry = settings.retry,
            let delayBeforeRetry = settings.delayBeforeRetry, let warmup = settings.warmup,
            let delayLoop = settings.delayLoop, let alpha = settings.alpha
        else { throw record.state.fail("a CheckTiming record lacks a setting") }
        self.init()
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup
        self.delayLoop = delayLoop
        self.alpha = alpha
    }
}

extension CheckDefaults: BinaryRecord {
    static var fieldCount: Int { 6 }

    func write(to record: BinaryRecordWriter) throws {
        try record.field(connectTimeout)
        try record.field(retry)
        try record.field(delayBeforeRetry)
        try record.field(warmup)
        try record.field(delayLoop)
        try record.field(alpha)
    }

    init(record: BinaryRecordReader) throws {
        self.init()
        connectTimeout = try record.optional()
        retry = try record.optional()
        delayBeforeRetry = try record.optional()
        warmup = try record.optional()
        delayLoop = try record.optional()
        alpha = try record.optional()
    }
}

extension ConnectionOptions: BinaryRecord {
    static var fieldCount: Int { 7 }

    func write(to record: BinaryRecordWriter) throws {
        try record.field(connectIP)
        try record.field(connectPort)
        try record.field(bindTo)
        try record.field(bindPort)
        try record.field(bindInterface)
        try record.field(fwmark)
        try record.field(connectTimeout)
    }

    init(record: BinaryRecordReader) throws {
        self.init()
        connectIP = try record.optional()
        connectPort = try record.optional()
        bindTo = try record.optional()
        bindPort = try record.optional()
        bindInterface = try record.optional()
        fwmark = try record.optional()
        connectTimeout = try record.optional()
    }
}
