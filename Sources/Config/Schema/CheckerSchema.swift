/// The health checkers of a `real_server`: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `SMTP_CHECK`,
/// `DNS_CHECK`, `MISC_CHECK`, `UDP_CHECK`, `PING_CHECK` and `FILE_CHECK`.
enum CheckerSchema {
    /// A checker block while it is read: the settings every checker has, and its own.
    struct Block<Payload: Sendable>: Sendable {
        var connection = ConnectionOptions()
        var overrides = CheckDefaults()
        var logAllFailures = false
        var payload: Payload
    }

    /// The checker keywords of a `real_server` block.
    static let realServerHandlers: [String: KeywordTable<RealServer>.Handler] = [
        "TCP_CHECK": checker(tcpTable, payload: ()) { _ in .tcp },
        "HTTP_GET": checker(httpTable, payload: HTTPCheck(), finish: urlsRequired) { .http($0) },
        "SSL_GET": checker(sslTable, payload: HTTPCheck(), finish: urlsRequired) { .ssl($0) },
        "SMTP_CHECK": checker(smtpTable, payload: SMTPCheck()) { .smtp($0) },
        "DNS_CHECK": checker(dnsTable, payload: DNSCheck()) { .dns($0) },
        "MISC_CHECK": checker(
            miscTable, payload: MiscCheck(path: ""),
            finish: { misc, node, context in required(misc.path, "misc_path", node, context) },
            kind: { .misc($0) }),
        "UDP_CHECK": checker(udpTable, payload: UDPCheck()) { .udp($0) },
        "PING_CHECK": checker(pingTable, payload: ()) { _ in .ping },
        "FILE_CHECK": checker(
            fileTable, payload: FileCheck(trackFile: ""),
            finish: { file, node, context in required(file.trackFile, "track_file", node, context) },
            kind: { .file($0) }),
        "BFD_CHECK": checker(
            BFDSchema.checkTable, payload: BFDCheck(name: ""),
            finish: { check, node, context in required(check.name, "name", node, context) },
            kind: { .bfd($0) }),
    ]

    /// A handler that reads a checker block with `table` and appends the checker to the real server.
    static func checker<Payload: Sendable>(
        _ table: KeywordTable<Block<Payload>>,
        payload: Payload,
        finish: @escaping @Sendable (Payload, ConfigNode, SchemaContext) -> Bool = { _, _, _ in true },
        kind: @escaping @Sendable (Payload) -> CheckerKind
    ) -> KeywordTable<RealServer>.Handler {
        { server, node, context in
            guard let children = context.block(node) else { return }
            var block = Block(payload: payload)
            table.apply(children, to: &block, context)
            guard finish(block.payload, node, context) else { return }
            var checker = Checker(kind: kind(block.payload), location: node.location)
            checker.connection = block.connection
            checker.ownTiming = checker.timing.take(block.overrides)
            checker.logAllFailures = block.logAllFailures
            server.checkers.append(checker)
        }
    }

    static func required(_ value: String, _ keyword: String, _ node: ConfigNode, _ context: SchemaContext) -> Bool {
        guard value.isEmpty else { return true }
        context.error("\(node.keyword) needs '\(keyword)'", at: node)
        return false
    }

    static func urlsRequired(_ check: HTTPCheck, _ node: ConfigNode, _ context: SchemaContext) -> Bool {
        guard check.urls.isEmpty else { return true }
        context.error("\(node.keyword) needs at least one 'url { path … }'", at: node)
        return false
    }

    /// Fills in `checker.timing`: the checker's own setting (`ownTiming`), else the real server's, else the
    /// virtual server's, else keepalived's default for the checker type.
    static func resolveTiming(_ checker: inout Checker, realServer: CheckDefaults, virtualServer: CheckDefaults) {
        let own = checker.ownTiming
        func inherited<Value>(_ path: KeyPath<CheckDefaults, Value?>) -> Value? {
            realServer[keyPath: path] ?? virtualServer[keyPath: path]
        }
        var timing = checker.timing
        if !own.contains(.delayLoop) { timing.delayLoop = inherited(\.delayLoop) ?? CheckTiming.defaultDelayLoop }
        if !own.contains(.connectTimeout) {
            timing.connectTimeout = inherited(\.connectTimeout) ?? CheckTiming.defaultConnectTimeout
        }
        if !own.contains(.retry) { timing.retry = inherited(\.retry) ?? checker.kind.defaultRetry }
        if !own.contains(.warmup) { timing.warmup = inherited(\.warmup) ?? timing.delayLoop }
        if !own.contains(.alpha) { timing.alpha = inherited(\.alpha) ?? false }
        if !own.contains(.delayBeforeRetry) {
            switch checker.kind {
            case .http, .ssl: timing.delayBeforeRetry = inherited(\.delayBeforeRetry) ?? .seconds(3)
            case .dns: timing.delayBeforeRetry = inherited(\.delayBeforeRetry) ?? timing.delayLoop
            default: timing.delayBeforeRetry = inherited(\.delayBeforeRetry) ?? .seconds(1)
            }
        }
        checker.timing = timing
    }

    // MARK: Common options

    /// `connect_ip`, `connect_port`, `bindto`, `bind_port`, `bind_if`, `fwmark`.
    static let connectionHandlers: [String: KeywordTable<ConnectionOptions>.Handler] = [
        "connect_ip": Field.address(\.connectIP),
        "connect_port": Field.value(\.connectPort) { $1.port($0) },
        "bindto": Field.address(\.bindTo),
        "bind_port": Field.value(\.bindPort) { $1.port($0) },
        "bind_if": Field.string(\.bindInterface),
        "fwmark": Field.value(\.fwmark) { node, context in
            context.single(node).flatMap { context.uint32($0, for: node) }
        },
    ]

    /// The options every checker except FILE_CHECK has; MISC_CHECK has no connection options.
    static func commonHandlers<Payload>(connection: Bool = true) -> [String: KeywordTable<Block<Payload>>.Handler] {
        var handlers = LVSSchema.lifted(LVSSchema.checkDefaultsHandlers) { (block: inout Block<Payload>, body) in
            body(&block.overrides)
        }
        handlers["log_all_failures"] = Field.flag(\.logAllFailures)
        if connection {
            handlers.merge(
                LVSSchema.lifted(connectionHandlers) { (block: inout Block<Payload>, body) in body(&block.connection) }
            ) { first, _ in first }
        }
        return handlers
    }

    /// A checker table: the common options, the checker's own, and `nb_get_retry` for `retry`.
    static func table<Payload>(
        _ name: String,
        connection: Bool = true,
        common: Bool = true,
        _ own: [String: KeywordTable<Payload>.Handler] = [:],
        unsupported: KeywordWarnings = []
    ) -> KeywordTable<Block<Payload>> {
        KeywordTable(
            name,
            handlers: LVSSchema.lifted(own) { (block: inout Block<Payload>, body) in body(&block.payload) }
                .merging(common ? commonHandlers(connection: connection) : [:]) { first, _ in first },
            unsupported: (name.hasSuffix("_GET") ? fastRecovery : []).merging(unsupported),
            aliases: common ? ["nb_get_retry": "retry"] : [:]
        )
    }

    /// keepalived checks one url per `delay_loop` unless `fast_recovery`; Vigil always checks them all in each check.
    static let fastRecovery: KeywordWarnings = [
        "fast_recovery": .notBuilt(
            "Vigil always checks every url of HTTP_GET/SSL_GET back to back in each check, which is what "
                + "fast_recovery asks keepalived for; there is nothing to turn on")
    ]

    // MARK: The checkers

    static let tcpTable: KeywordTable<Block<Void>> = table("TCP_CHECK")
    static let pingTable: KeywordTable<Block<Void>> = table("PING_CHECK")

    static let httpHandlers: [String: KeywordTable<HTTPCheck>.Handler] = [
        "http_protocol": Field.value(\.protocolVersion) {
            $1.choice($0, of: HTTPCheck.ProtocolVersion.self, ignoringCase: true)
        },
        "virtualhost": Field.string(\.virtualhost),
        "enable_sni": Field.flag(\.enableSNI),
        "fast_recovery": Field.flag(\.fastRecovery),
        "url": { check, node, context in
            guard let children = context.block(node) else { return }
            var url = HTTPURL(path: "", location: node.location)
            urlTable.apply(children, to: &url, context)
            if url.path.isEmpty {
                context.error("'url' needs a 'path'", at: node)
            } else if let regex = url.regex, regex.pattern.isEmpty {
                // keepalived 2.2.7 logs and drops them.
                context.warning("'url' has regex_* options but no 'regex'; ignored them", at: node)
                url.regex = nil
            } else if let minimum = url.regex?.minimumOffset, let maximum = url.regex?.maximumOffset, minimum > maximum
            {
                // keepalived 2.2.7 logs and drops both.
                context.warning(
                    "'url' has regex_min_offset \(minimum) beyond regex_max_offset \(maximum); ignored both offsets",
                    at: node)
                (url.regexSettings.minimumOffset, url.regexSettings.maximumOffset) = (nil, nil)
            }
            // Kept even when wrong, so the checker does not also report "no url".
            check.urls.append(url)
        },
    ]

    static let httpTable: KeywordTable<Block<HTTPCheck>> = table("HTTP_GET", httpHandlers)
    static let sslTable: KeywordTable<Block<HTTPCheck>> = table("SSL_GET", httpHandlers)

    static let urlTable = KeywordTable<HTTPURL>(
        "url",
        handlers: [
            "path": Field.string(\.path),
            "digest": { url, node, context in
                guard let text = context.single(node) else { return }
                guard text.count == 32, text.allSatisfy(\.isHexDigit) else {
                    context.error(
                        "'digest' takes an MD5 digest of 32 hex digits (from genhash), not '\(text)'", at: node)
                    return
                }
                url.digest = text.lowercased()
            },
            "status_code": { url, node, context in
                guard let words = context.arguments(node, count: 1...Int.max) else { return }
                var codes: [ClosedRange<Int>] = []
                for word in words {
                    let bounds = word.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                    guard bounds.count <= 2,
                        let low = context.integer(bounds[0], in: 100...599, for: node, what: "HTTP status code"),
                        let high = bounds.count == 2
                            ? context.integer(bounds[1], in: 100...599, for: node, what: "HTTP status code") : low
                    else { return }
                    guard low <= high else {
                        context.error("status code range '\(word)' runs backwards", at: node)
                        return
                    }
                    codes.append(low...high)
                }
                url.statusCodes = codes
            },
            "virtualhost": Field.string(\.virtualhost),
            "regex": { url, node, context in
                guard let pattern = context.text(node) else { return }
                url.regexSettings.pattern = pattern
            },
            "regex_no_match": { url, node, context in
                if let value = context.flag(node) { url.regexSettings.failOnMatch = value }
            },
            "regex_options": { url, node, context in
                guard let words = context.arguments(node, count: 1...Int.max) else { return }
                for word in words where context.choice(word, HTTPRegex.optionNames, for: node) == nil { return }
                url.regexSettings.options = words
            },
            "regex_stack": { url, node, context in
                guard let words = context.arguments(node, count: 2...2),
                    let start = context.integer(words[0], in: 1...Int(Int32.max), for: node),
                    let maximum = context.integer(words[1], in: start...Int(Int32.max), for: node)
                else { return }
                url.regexSettings.stack = start...maximum
            },
            "regex_min_offset": { url, node, context in
                if let value = context.integer(node, in: 0...Int(Int32.max)) { url.regexSettings.minimumOffset = value }
            },
            "regex_max_offset": { url, node, context in
                if let value = context.integer(node, in: 1...Int(Int32.max)) { url.regexSettings.maximumOffset = value }
            },
        ],
        unsupported: [
            "regex_stack": .notBuilt(
                "Vigil matches with Swift's regex engine, which has no PCRE2 JIT stack to size")
        ]
    )

    static let smtpTable: KeywordTable<Block<SMTPCheck>> = table(
        "SMTP_CHECK",
        [
            "helo_name": Field.string(\.heloName),
            "host": { check, node, context in
                guard let children = context.block(node) else { return }
                var host = ConnectionOptions()
                smtpHostTable.apply(children, to: &host, context)
                check.hosts.append(host)
            },
        ])

    /// keepalived's legacy `host { }` in SMTP_CHECK: connection options of one more server, and its own
    /// `connect_timeout`.
    static let smtpHostTable = KeywordTable<ConnectionOptions>(
        "SMTP_CHECK host",
        handlers: connectionHandlers.merging([
            "connect_timeout": Field.duration(\.connectTimeout, LVSSchema.positiveTime)
        ]) { first, _ in first })

    static let dnsTable: KeywordTable<Block<DNSCheck>> = table(
        "DNS_CHECK",
        [
            "type": Field.value(\.type) { $1.choice($0, of: DNSCheck.QueryType.self, ignoringCase: true) },
            "name": Field.string(\.name),
        ])

    static let miscTable: KeywordTable<Block<MiscCheck>> = table(
        "MISC_CHECK", connection: false,
        [
            // keepalived takes every word of the line as the command and its arguments.
            "misc_path": Field.value(\.path) { node, context in
                context.arguments(node, count: 1...Int.max / 2).map { words in
                    words.count == 1 ? words[0] : words.map(ScriptCommand.quote).joined(separator: " ")
                }
            },
            "misc_timeout": Field.duration(\.timeout, LVSSchema.positiveTime),
            "misc_dynamic": Field.flag(\.dynamic),
            "user": Field.value(\.user) { $1.scriptUser($0) },
        ])

    static let udpTable: KeywordTable<Block<UDPCheck>> = table(
        "UDP_CHECK",
        [
            "payload": { check, node, context in
                guard let words = context.arguments(node, count: 1...Int.max) else { return }
                check.payload = context.hexPattern(words, wildcards: false, for: node)?.bytes
            },
            "require_reply": { check, node, context in
                check.requiresReply = true
                guard !node.arguments.isEmpty else { return }
                check.requireReply = context.hexPattern(node.arguments, wildcards: true, for: node)
            },
            "min_reply_length": Field.integer(\.minimumReplyLength, 0...65535),
            "max_reply_length": Field.integer(\.maximumReplyLength, 0...65535),
        ])

    static let fileTable: KeywordTable<Block<FileCheck>> = table(
        "FILE_CHECK", common: false,
        [
            "track_file": Field.string(\.trackFile),
            "dynamic": Field.flag(\.dynamic),
            "weight": { check, node, context in
                guard context.noBlock(node),
                    let (weight, reverse) = context.weight(
                        ([node.keyword] + node.arguments)[...], in: -Int(Int32.max)...Int(Int32.max), for: node)
                else { return }
                check.weight = weight
                check.reverse = reverse
            },
        ])
}

extension HTTPURL {
    /// The URL's regex settings, created with an empty pattern when a `regex_*` keyword comes
    /// before `regex` (an error if `regex` never comes).
    fileprivate var regexSettings: HTTPRegex {
        get { regex ?? HTTPRegex(pattern: "") }
        set { regex = newValue }
    }
}
