/// One health checker of a real server (`TCP_CHECK { }`, `HTTP_GET { }`, …).
public struct Checker: Sendable, Hashable, Codable {
    public var kind: CheckerKind
    /// Where and how to connect (`connect_ip`, `connect_port`, `bindto`, …); empty for
    /// MISC_CHECK and FILE_CHECK.
    @OutOfLine public var connection = ConnectionOptions()
    /// The timing in force: the checker's own, else the real server's, else the virtual server's,
    /// else keepalived's default for the checker type.
    public var timing = CheckTiming()
    /// Which settings of `timing` the checker block wrote itself; the schema fills in the others once the virtual
    /// server is read. (A set of flags, not the block's own `CheckDefaults`: 112 bytes less per checker, held by
    /// the watchdog and the checker worker for each real server.)
    public var ownTiming: CheckTiming.Settings = []
    /// `log_all_failures`: log every failure, not only state changes.
    public var logAllFailures = false
    @NotCompared public var location: SourceLocation

    public init(kind: CheckerKind, location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// A `MISC_CHECK`: runs a script.
    public var isMisc: Bool {
        if case .misc = kind { return true }
        return false
    }
}

/// The kinds of checker, each with its own settings.
///
/// Indirect: the settings of HTTP_GET and the others live out of line, so a TCP_CHECK (most of a farm) does not
/// carry room for them (80 bytes to 8 in every checker).
public indirect enum CheckerKind: Sendable, Hashable, Codable {
    case tcp
    case http(HTTPCheck)
    case ssl(HTTPCheck)
    case smtp(SMTPCheck)
    case dns(DNSCheck)
    case misc(MiscCheck)
    case udp(UDPCheck)
    case ping
    case file(FileCheck)
    /// `BFD_CHECK`: follows a `bfd_instance`'s session instead of probing.
    case bfd(BFDCheck)

    /// The block keyword, as in the configuration.
    public var keyword: String {
        switch self {
        case .tcp: "TCP_CHECK"
        case .http: "HTTP_GET"
        case .ssl: "SSL_GET"
        case .smtp: "SMTP_CHECK"
        case .dns: "DNS_CHECK"
        case .misc: "MISC_CHECK"
        case .udp: "UDP_CHECK"
        case .ping: "PING_CHECK"
        case .file: "FILE_CHECK"
        case .bfd: "BFD_CHECK"
        }
    }

    /// keepalived's `retry` when none is written: 3 for DNS_CHECK, 0 for MISC_CHECK, else 1.
    public var defaultRetry: Int {
        switch self {
        case .dns: 3
        case .misc: 0
        default: 1
        }
    }
}

/// The connection settings common to the network checkers.
public struct ConnectionOptions: Sendable, Hashable, Codable, OutOfLineStorable {
    public static var absent: ConnectionOptions { ConnectionOptions() }

    /// `connect_ip`; `nil` is the real server's address.
    public var connectIP: IPAddress?
    /// `connect_port`; `nil` is the real server's port.
    public var connectPort: Int?
    /// `bindto`: the source address.
    public var bindTo: IPAddress?
    /// `bind_port`: the source port.
    public var bindPort: Int?
    /// `bind_if`: needed when `bindto` is an IPv6 link-local address.
    public var bindInterface: String?
    /// `fwmark`: the mark (SO_MARK) put on the checker's packets.
    public var fwmark: UInt32?
    /// `connect_timeout` of an SMTP_CHECK `host { }` (the other checkers keep theirs in `Checker.timing`).
    public var connectTimeout: Duration?

    public init() {}
}

/// The resolved timing of a checker, keepalived's defaults filled in.
///
/// Held in every checker of the model and every check the checker worker schedules, so it is stored narrow (40 bytes,
/// not 80): durations in whole nanoseconds, `retry` in the `UInt32` the schema allows. Each field reads, writes and
/// encodes as before.
public struct CheckTiming: Sendable, Hashable, Codable {
    /// keepalived's defaults: `connect_timeout` 5 s, `delay_loop` 60 s.
    public static let defaultConnectTimeout = Duration.seconds(5)
    public static let defaultDelayLoop = Duration.seconds(60)

    /// `connect_timeout`; for MISC_CHECK, see `MiscCheck.timeout`.
    @StoredAsNanoseconds public var connectTimeout = defaultConnectTimeout
    /// `delay_before_retry`: 3 s for HTTP_GET/SSL_GET, `delay_loop` for DNS_CHECK, else 1 s.
    @StoredAsNanoseconds public var delayBeforeRetry = Duration.seconds(1)
    /// `warmup`: the most the first check is delayed at random; `delay_loop` unless written, 0 is none.
    @StoredAsNanoseconds public var warmup = defaultDelayLoop
    /// `delay_loop`: time between checks.
    @StoredAsNanoseconds public var delayLoop = defaultDelayLoop
    /// `retry` (old name `nb_get_retry`): extra attempts after a failure before the server is down.
    @StoredAs<UInt32> public var retry = 1
    /// `alpha`: the server starts down until this checker succeeds.
    public var alpha = false

    public init() {}

    /// Some of the settings.
    public struct Settings: OptionSet, Sendable, Hashable, Codable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let connectTimeout = Settings(rawValue: 1 << 0)
        public static let retry = Settings(rawValue: 1 << 1)
        public static let delayBeforeRetry = Settings(rawValue: 1 << 2)
        public static let warmup = Settings(rawValue: 1 << 3)
        public static let delayLoop = Settings(rawValue: 1 << 4)
        public static let alpha = Settings(rawValue: 1 << 5)
    }

    /// Takes the settings `written` has and returns which those were.
    public mutating func take(_ written: CheckDefaults) -> Settings {
        var taken: Settings = []
        func take<Value>(
            _ setting: Settings, _ from: KeyPath<CheckDefaults, Value?>, _ to: WritableKeyPath<CheckTiming, Value>
        ) {
            guard let value = written[keyPath: from] else { return }
            self[keyPath: to] = value
            taken.insert(setting)
        }
        take(.connectTimeout, \.connectTimeout, \.connectTimeout)
        take(.retry, \.retry, \.retry)
        take(.delayBeforeRetry, \.delayBeforeRetry, \.delayBeforeRetry)
        take(.warmup, \.warmup, \.warmup)
        take(.delayLoop, \.delayLoop, \.delayLoop)
        take(.alpha, \.alpha, \.alpha)
        return taken
    }
}

/// `HTTP_GET { }` and `SSL_GET { }`.
public struct HTTPCheck: Sendable, Hashable, Codable {
    /// `http_protocol 1.0|1.0C|1.1` (1.0C adds `Connection: close`).
    public enum ProtocolVersion: String, Sendable, Hashable, Codable, CaseIterable {
        case http10 = "1.0"
        case http10Close = "1.0C"
        case http11 = "1.1"
    }

    public var urls: [HTTPURL] = []
    /// `http_protocol`; keepalived sends 1.0 unless told.
    public var protocolVersion: ProtocolVersion = .http10
    /// `virtualhost`; `nil` follows the real server, then the virtual server.
    public var virtualhost: String?
    /// `enable_sni`: send the virtual host as TLS SNI.
    public var enableSNI = false
    /// `fast_recovery`: check every URL back to back on start-up and recovery.
    public var fastRecovery = false

    public init() {}
}

/// `url { }` of HTTP_GET/SSL_GET.
public struct HTTPURL: Sendable, Hashable, Codable {
    /// The status codes accepted when `status_code` is not written.
    public static let defaultStatusCodes: [ClosedRange<Int>] = [200...299]

    public var path: String
    /// `digest`: the MD5 of the body, 32 lower-case hex digits (genhash computes it).
    public var digest: String?
    /// `status_code`: codes and ranges (`200-299 503`).
    public var statusCodes: [ClosedRange<Int>] = defaultStatusCodes
    /// `virtualhost`; `nil` follows the checker.
    public var virtualhost: String?
    public var regex: HTTPRegex?
    @NotCompared public var location: SourceLocation

    public init(path: String, location: SourceLocation) {
        self.path = path
        self.location = location
    }
}

/// `regex` and its companions in a `url { }`: a PCRE2 pattern the body must (or must not) match.
public struct HTTPRegex: Sendable, Hashable, Codable {
    /// What `regex_options` may list (PCRE2 compile options).
    public static let optionNames = [
        "allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall", "dupnames",
        "extended", "firstline", "match_unset_backref", "multiline", "never_ucp", "never_utf", "no_auto_capture",
        "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy", "utf", "never_backslash_c",
        "alt_circumflex", "alt_verbnames", "use_offset_limit",
    ]

    public var pattern: String
    /// `regex_no_match`: a match fails the check.
    public var failOnMatch = false
    public var options: [String] = []
    /// `regex_stack START MAX`: JIT stack sizes in bytes.
    public var stack: ClosedRange<Int>?
    public var minimumOffset: Int?
    public var maximumOffset: Int?

    public init(pattern: String) {
        self.pattern = pattern
    }
}

/// `SMTP_CHECK { }`.
public struct SMTPCheck: Sendable, Hashable, Codable {
    /// keepalived's HELO name when none is written.
    public static let defaultHeloName = "smtpchecker.keepalived.org"

    /// `helo_name`.
    public var heloName = defaultHeloName
    /// Legacy `host { }` blocks: more servers to check in the same dialogue, each with its own
    /// connection options. keepalived still reads them; one SMTP_CHECK per host is the modern form.
    public var hosts: [ConnectionOptions] = []

    public init() {}
}

/// `DNS_CHECK { }`: a query over UDP.
public struct DNSCheck: Sendable, Hashable, Codable {
    public enum QueryType: String, Sendable, Hashable, Codable, CaseIterable {
        case a = "A"
        case ns = "NS"
        case cname = "CNAME"
        case soa = "SOA"
        case mx = "MX"
        case txt = "TXT"
        case aaaa = "AAAA"
    }

    /// `type`; default SOA.
    public var type: QueryType = .soa
    /// `name`; default the root, `.`.
    public var name = "."

    public init() {}
}

/// `MISC_CHECK { }`: a program whose exit status is the result.
public struct MiscCheck: Sendable, Hashable, Codable {
    /// `misc_path`: the command line.
    public var path: String
    /// `misc_timeout`: how long the program may run; `nil` is the checker's `delay_loop`.
    public var timeout: Duration?
    /// `misc_dynamic`: exit status 2–255 sets the weight to status − 2.
    public var dynamic = false
    /// `user USER [GROUP]`; `nil` is `global_defs`' `script_user`.
    public var user: ScriptUser?

    public init(path: String) {
        self.path = path
    }
}

/// `UDP_CHECK { }`.
public struct UDPCheck: Sendable, Hashable, Codable {
    /// `payload`: the datagram to send; `nil` sends random bytes.
    public var payload: [UInt8]?
    /// `require_reply`: a reply must come; with a pattern, it must match.
    public var requireReply: HexPattern?
    public var requiresReply = false
    /// `min_reply_length`; default 0.
    public var minimumReplyLength = 0
    /// `max_reply_length`; default 255.
    public var maximumReplyLength = 255

    public init() {}
}

/// Bytes with "don't care" nibbles (`x` in `require_reply`): a received byte `b` matches when
/// `b & mask[i] == bytes[i]`.
public struct HexPattern: Sendable, Hashable, Codable {
    public var bytes: [UInt8]
    public var mask: [UInt8]

    public init(bytes: [UInt8], mask: [UInt8]) {
        self.bytes = bytes
        self.mask = mask
    }
}

/// `FILE_CHECK { }`: the weight follows a number in a tracked file.
public struct FileCheck: Sendable, Hashable, Codable {
    /// `track_file`: the name of a top-level `track_file` block.
    public var trackFile: String
    /// `dynamic`: the file's value adjusts the weight instead of only up/down.
    public var dynamic = false
    /// `weight N [reverse]`: the multiplier; default 1.
    public var weight = 1
    public var reverse = false

    public init(trackFile: String) {
        self.trackFile = trackFile
    }
}

/// A real server's checkers, in the order they were written. Most real servers have exactly one, held inline: as an
/// array each was an allocation of its own (128 bytes with the array's header), 10,000 of them in the watchdog and
/// again in the checker worker for a farm of 1,000 × 10. None, or more than one, are held in an array (an empty one
/// allocates nothing). A collection like the array it replaces, encoded as one.
public struct Checkers: Sendable, Hashable, RandomAccessCollection, MutableCollection, RangeReplaceableCollection,
    ExpressibleByArrayLiteral
{
    /// Exactly one checker is always `.one`: equality and hashing can then compare the cases as they are.
    private enum Storage: Sendable, Hashable {
        case one(Checker)
        case many([Checker])
    }

    private var storage: Storage

    public init() { storage = .many([]) }

    public init(arrayLiteral elements: Checker...) { self.init(elements) }

    public init<S: Sequence>(_ elements: S) where S.Element == Checker { storage = Self.storage(of: Array(elements)) }

    /// Whether the checkers are one checker held inline (what a real server with one checker should cost).
    var holdsOneInline: Bool {
        if case .one = storage { return true }
        return false
    }

    /// `all` as stored: one checker inline, any other number in the array.
    private static func storage(of all: [Checker]) -> Storage { all.count == 1 ? .one(all[0]) : .many(all) }

    /// Every checker as an array, leaving `storage` empty meanwhile: an array taken out stays uniquely referenced, so
    /// changing it copies nothing.
    private mutating func takeAll() -> [Checker] {
        let all: [Checker]
        switch storage {
        case .one(let checker): all = [checker]
        case .many(let held): all = held
        }
        storage = .many([])
        return all
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .one: 1
        case .many(let all): all.count
        }
    }

    public subscript(position: Int) -> Checker {
        get {
            switch storage {
            case .one(let checker):
                precondition(position == 0, "Checkers index out of range")
                return checker
            case .many(let all): return all[position]
            }
        }
        set {
            switch storage {
            case .one:
                precondition(position == 0, "Checkers index out of range")
                storage = .one(newValue)
            case .many:
                var all = takeAll()
                all[position] = newValue
                storage = .many(all)
            }
        }
    }

    public mutating func replaceSubrange<C: Collection>(_ subrange: Range<Int>, with newElements: C)
    where C.Element == Checker {
        var all = takeAll()
        all.replaceSubrange(subrange, with: newElements)
        storage = Self.storage(of: all)
    }
}

extension Checkers: Codable {
    public init(from decoder: any Decoder) throws { self.init(try [Checker](from: decoder)) }

    public func encode(to encoder: any Encoder) throws { try Array(self).encode(to: encoder) }
}
