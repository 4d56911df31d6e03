import Config
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import CheckerWorker

/// What a hostile real server can send a checker (issue 19): replies that never end, arrive a byte at a time, or
/// lie about their structure. Each is parsed in linear time and fails with a reason naming the bound it broke.
@Suite(.timeLimit(.minutes(1))) struct ProbeHostileParserTests {
    static let chunkedHead = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)

    /// Any split of a reply into reads gives the result of the whole reply at once.
    /// HTTPFuzzer's finding, as it was found: two reads of 57 and 30 bytes. Cut there it was "not an HTTP reply"
    /// (no end of head in the first read), whole a "bad status line"; now both are the first.
    @Test func fuzzerFindingSplitAfterTheFirstRead() {
        let reads = [
            Array("HTT\u{0}9HTTP/1.1 2\r\n5;x=y\r\nhe\n world\r\n0\r\n\rrld\r\n0\r\n\rP/1.1 2\r\n".utf8),
            Array("x=y\r\nhe\n world\r\n0\r\n\rrld\r\n0\r\n\r\n".utf8),
        ]
        var parser = HTTPResponseParser(needBody: true)
        var result = parser.feed(reads[0][...], eof: false)
        if result == .incomplete { result = parser.feed(reads[1][...], eof: false) }
        if result == .incomplete { result = parser.feed([], eof: true) }
        #expect(result == .malformed("not an HTTP reply"))
        #expect(HTTPResponseParser.parse(reads[0] + reads[1], eof: true, needBody: true) == result)
    }

    @Test func splitsDoNotChangeTheResult() {
        let replies = [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA",
            "HTTP/1.0 404 Nope\r\nServer: x\r\n\r\nbody to the close",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n",
            "HTTP/1.1 200 OK\r\n\r\r\n\r\nx",
            // Like HTTPFuzzer's first finding: a head that is not HTTP and ends in the same read.
            "HTT\u{0}9HTTP/1.1 2\r\n5;x=y\r\nhe\n world\r\n0\r\n\rrld\r\n0\r\n\r\r\n",
            "HTT\r\n\r\n",
            "\r\n\r\n",
        ]
        var random = SplitMix64(seed: 19)
        for reply in replies {
            let bytes = Array(reply.utf8)
            for needBody in [true, false] {
                let whole = HTTPResponseParser.parse(bytes, eof: true, needBody: needBody)
                for _ in 0..<50 {
                    var parser = HTTPResponseParser(needBody: needBody)
                    var result = HTTPResponseParser.Result.incomplete
                    var index = 0
                    while index < bytes.count, result == .incomplete {
                        let end = min(bytes.count, index + Int.random(in: 1...7, using: &random))
                        result = parser.feed(bytes[index..<end], eof: false)
                        index = end
                    }
                    if result == .incomplete { result = parser.feed([], eof: true) }
                    #expect(result == whole, "\(reply.debugDescription) needBody \(needBody)")
                }
            }
        }
    }

    /// A negative or non-hex chunk size is malformed (the old parser took "-1" for a size and crashed).
    @Test func chunkSizesAreHexDigitsOnly() {
        for size in ["-1", "+5", "0x5", "", " ", "123456789"] {
            let reply = Self.chunkedHead + Array("\(size)\r\nhello\r\n0\r\n\r\n".utf8)
            #expect(
                HTTPResponseParser.parse(reply, eof: false, needBody: true) == .malformed("bad chunk size"), "\(size)")
        }
        let upper = Self.chunkedHead + Array(" A ;ext\r\n0123456789\r\n0\r\n\r\n".utf8)
        #expect(
            HTTPResponseParser.parse(upper, eof: false, needBody: true)
                == .complete(status: 200, body: Array("0123456789".utf8)))
    }

    /// A 4 MiB body in 4 KiB chunks, 64 bytes a read, is parsed in time proportional to its length (the old
    /// parser re-de-chunked the whole buffer on every read: quadratic, hours for this).
    @Test func smallReadsOfALargeBodyAreLinear() {
        var parser = HTTPResponseParser(needBody: true)
        #expect(parser.feed(Self.chunkedHead[...], eof: false) == .incomplete)
        let chunk = Array("1000\r\n".utf8) + Array(repeating: UInt8(ascii: "A"), count: 4096) + Array("\r\n".utf8)
        let reply = Array(repeating: chunk, count: 1024).flatMap { $0 } + Array("0\r\n\r\n".utf8)
        var result = HTTPResponseParser.Result.incomplete
        var index = 0
        while result == .incomplete && index < reply.count {
            result = parser.feed(reply[index..<min(reply.count, index + 64)], eof: false)
            index += 64
        }
        #expect(result == .complete(status: 200, body: Array(repeating: UInt8(ascii: "A"), count: 4 << 20)))
    }

    /// Endless 1-byte chunks end at the chunk bound, after 384 KiB, not the 4 MiB body bound 24 MiB later.
    @Test func endlessOneByteChunksEndAtTheChunkBound() {
        var parser = HTTPResponseParser(needBody: true)
        #expect(parser.feed(Self.chunkedHead[...], eof: false) == .incomplete)
        let block = Array(repeating: Array("1\r\nA\r\n".utf8), count: 4096 / 6).flatMap { $0 }
        var fed = 0
        var result = HTTPResponseParser.Result.incomplete
        while result == .incomplete && fed < 64 << 20 {
            result = parser.feed(block[...], eof: false)
            fed += block.count
        }
        #expect(result == .malformed("more than \(HTTPResponseParser.chunkLimit) chunks"))
        #expect(fed <= (HTTPResponseParser.chunkLimit + 1) * 6 + block.count)
    }

    /// A head that never ends fails at the head bound however it is cut.
    @Test func endlessHeaderFailsAtItsBound() {
        var parser = HTTPResponseParser(needBody: false)
        var result = parser.feed(Array("HTTP/1.1 200 OK\r\n".utf8)[...], eof: false)
        var fed = 0
        while result == .incomplete && fed < 1 << 20 {
            result = parser.feed(Array("X-Filler: yes\r\n".utf8)[...], eof: false)
            fed += 15
        }
        #expect(result == .malformed("header larger than \(HTTPResponseParser.headLimit) bytes"))
        #expect(fed < HTTPResponseParser.headLimit + 30)
        #expect(
            HTTPResponseParser.parse(Array(repeating: UInt8(ascii: "H"), count: 1 << 20), eof: false, needBody: true)
                == .malformed("not an HTTP reply"))
        let chunkLine = Self.chunkedHead + Array(repeating: UInt8(ascii: "1"), count: 5000)
        #expect(
            HTTPResponseParser.parse(chunkLine, eof: false, needBody: true) == .malformed("chunk-size line too long"))
    }

    /// An endless multi-line SMTP banner keeps the dialogue waiting (the exchange's byte bound ends it); lines
    /// cut across reads and bytes after a decisive line are read in order.
    @Test func smtpLinesAcrossReads() {
        var dialogue = SMTPDialogue(heloName: "me.test", label: "S")
        let banner = Array("220-hostile banner line\r\n".utf8)
        for _ in 0..<10_000 { #expect(dialogue.received(banner, eof: false) == .more) }
        #expect(dialogue.received(Array("22".utf8), eof: false) == .more)
        // The banner's end and the HELO answer in one read: the answer waits until after HELO is sent.
        #expect(
            dialogue.received(Array("0 ok\r\n250 hi\r\n".utf8), eof: false) == .send(Array("HELO me.test\r\n".utf8)))
        #expect(dialogue.received([], eof: false) == .finish(.success(), farewell: Array("QUIT\r\n".utf8)))
        var long = SMTPDialogue(heloName: "me.test", label: "S")
        #expect(
            long.received(Array(repeating: UInt8(ascii: "2"), count: 5000), eof: false)
                == .finish(.failure("S: reply line too long")))
    }
}

@Suite struct ProbeDNSAnswerTests {
    static let query = DNSMessage.query(id: 0x4242, name: "www.Example.test", type: .a)!

    /// The query turned into a NOERROR response (QR, RD, RA) with `tail` as its answer section.
    static func reply(answers: Int = 0, _ tail: [UInt8] = [], edit: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var reply = query
        reply[2] = 0x81
        reply[3] = 0x80
        reply[7] = UInt8(answers)
        reply += tail
        edit(&reply)
        return reply
    }

    /// An A record for the question's name (a pointer to offset 12) with address 192.0.2.1.
    static let answerA: [UInt8] = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1]

    @Test func wellFormedAnswersPass() {
        #expect(DNSMessage.judge(reply: Self.reply(), query: Self.query) == .noError)  // NODATA, as keepalived
        #expect(DNSMessage.judge(reply: Self.reply(answers: 1, Self.answerA), query: Self.query) == .noError)
        #expect(
            DNSMessage.judge(reply: Self.reply(answers: 2, Self.answerA + Self.answerA), query: Self.query) == .noError)
        // The name echoed in another case (DNS 0x20, RFC 4343) is the same name.
        let mixed = Self.reply { $0[13] = UInt8(ascii: "W") }
        #expect(DNSMessage.judge(reply: mixed, query: Self.query) == .noError)
    }

    @Test func aCompressionPointerLoopIsMalformed() {
        // The question's name is a pointer to itself.
        var looped = Array(Self.query[0..<12]) + [0xc0, 0x0c, 0, 1, 0, 1]
        looped[2] = 0x81
        looped[3] = 0x80
        #expect(
            DNSMessage.judge(reply: looped, query: Self.query)
                == .error("malformed reply: compression pointer at 12 does not point back"))
        // Two pointers pointing at each other through a label: backwards each time, a loop all the same.
        let name = Array(Self.reply().dropFirst(0))
        let loop = Self.reply(
            answers: 1, [1, UInt8(ascii: "a"), 0xc0, UInt8(name.count)] + [0, 1, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(DNSMessage.judge(reply: loop, query: Self.query) == .error("malformed reply: compression pointer loop"))
    }

    @Test func aForgedQuestionCountOrQuestionFails() {
        let many = Self.reply {
            $0[4] = 0xff
            $0[5] = 0xff
        }
        #expect(
            DNSMessage.judge(reply: many, query: Self.query) == .error("malformed reply: 65535 questions, expected 1"))
        let none = Self.reply { $0[5] = 0 }
        #expect(DNSMessage.judge(reply: none, query: Self.query) == .error("malformed reply: 0 questions, expected 1"))
        let otherName = Self.reply { $0[14] = UInt8(ascii: "x") }
        #expect(
            DNSMessage.judge(reply: otherName, query: Self.query)
                == .error("reply is for another question (wxw.example.test type 1)"))
        let otherType = Self.reply { $0[$0.count - 3] = 28 }
        #expect(
            DNSMessage.judge(reply: otherType, query: Self.query)
                == .error("reply is for another question (www.example.test type 28)"))
        let otherClass = Self.reply { $0[$0.count - 1] = 3 }
        #expect(DNSMessage.judge(reply: otherClass, query: Self.query) != .noError)
    }

    @Test func recordsPastTheEndFail() {
        let counted = Self.reply(answers: 3, Self.answerA)
        #expect(
            DNSMessage.judge(reply: counted, query: Self.query)
                == .error("malformed reply: name runs past the end"))
        let shortData = Self.reply(answers: 1, Array(Self.answerA.dropLast()))
        #expect(
            DNSMessage.judge(reply: shortData, query: Self.query)
                == .error("malformed reply: record 1 of 1 runs past the end"))
        let cutQuestion = Array(Self.reply().dropLast(2))
        #expect(
            DNSMessage.judge(reply: cutQuestion, query: Self.query)
                == .error("malformed reply: question runs past the end"))
        // Truncated (TC): the records were cut on purpose; the question decides.
        let truncated = Self.reply(answers: 3) { $0[2] |= 0x02 }
        #expect(DNSMessage.judge(reply: truncated, query: Self.query) == .noError)
        let extended = Self.reply(answers: 1, [0x40] + Array(Self.answerA.dropFirst(2)))
        #expect(DNSMessage.judge(reply: extended, query: Self.query) == .error("malformed reply: unknown label type 1"))
    }

    /// Random bytes after a valid header are judged, never crash, and never pass unless they parse.
    @Test func garbageAfterAValidHeader() {
        var random = SplitMix64(seed: 8)
        for _ in 0..<5000 {
            let tail = (0..<Int.random(in: 0..<60, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random)
            }
            var reply = Array(Self.reply().prefix(12)) + tail
            reply[4] = 0
            reply[5] = UInt8.random(in: 0...2, using: &random)
            reply[7] = UInt8.random(in: 0...3, using: &random)
            _ = DNSMessage.judge(reply: reply, query: Self.query)
        }
    }
}

/// A real server on loopback that floods each connection: `head`, then `repeated` as fast as the socket takes
/// it, or (with `drip`) one byte of `repeated` per segment every 50 µs.
final class FloodingTCPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(head: [UInt8], repeated: [UInt8], drip: Bool = false) throws {
        channel = try CannedTCPServer.listen { Handler(head: head, repeated: repeated, drip: drip) }
    }

    func stop() throws { try channel.close().wait() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let head: [UInt8]
        let block: [UInt8]
        let drip: Bool
        var next = 0

        init(head: [UInt8], repeated: [UInt8], drip: Bool) {
            self.head = head
            self.block = drip ? repeated : Array(repeating: repeated, count: 65536 / repeated.count).flatMap { $0 }
            self.drip = drip
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: head)), promise: nil)
            pump(context: context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if !drip { pump(context: context) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

        private func pump(context: ChannelHandlerContext) {
            guard context.channel.isActive else { return }
            if drip {
                let byte = block[next % block.count]
                next += 1
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: [byte])), promise: nil)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .microseconds(50)) {
                    loopBound.value.0.pump(context: loopBound.value.1)
                }
                return
            }
            while context.channel.isWritable {
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: block)), promise: nil)
                context.flush()
            }
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct ProbeHostileLiveTests {
    static func expectFailure(_ probe: any HealthProbe, containing text: String) throws {
        Live.expectFailure(try Live.run(probe), containing: text)
    }

    @Test func endlessChunksHitTheChunkBound() throws {
        let server = try FloodingTCPServer(
            head: ProbeHostileParserTests.chunkedHead, repeated: Array("1\r\nA\r\n".utf8))
        defer { try? server.stop() }
        var url = HTTPURL(path: "/", location: ProbeFixtures.location)
        url.digest = "00112233445566778899aabbccddeeff"
        var check = HTTPCheck()
        check.urls = [url]
        try Self.expectFailure(
            Live.probe(.http(check), port: server.port, timeout: .seconds(20)),
            containing: "HTTP_GET 127.0.0.1:\(server.port)/: more than 65536 chunks")
    }

    @Test func anEndlessSMTPBannerHitsTheByteBound() throws {
        let server = try FloodingTCPServer(head: [], repeated: Array("220-hostile banner line\r\n".utf8))
        defer { try? server.stop() }
        try Self.expectFailure(
            Live.probe(.smtp(SMTPCheck()), port: server.port, timeout: .seconds(20)),
            containing: "SMTP_CHECK 127.0.0.1:\(server.port): reply larger than 65536 bytes")
    }

    @Test func aDrippedHeaderHitsTheReadBound() throws {
        let server = try FloodingTCPServer(
            head: Array("HTTP/1.1 200 OK\r\n".utf8), repeated: Array("X".utf8), drip: true)
        defer { try? server.stop() }
        var check = HTTPCheck()
        check.urls = [HTTPURL(path: "/", location: ProbeFixtures.location)]
        try Self.expectFailure(
            Live.probe(.http(check), port: server.port, timeout: .seconds(30)),
            containing: "reply still incomplete after 4096 reads")
    }

    /// A flood of replies with the wrong id ends the DNS check at the datagram bound, not at the timeout.
    @Test func wrongIDsEndAtTheDatagramBound() throws {
        let server = try CannedUDPServer(replies: 150) { query in
            query.count < 12 ? nil : [query[0] ^ 0xff, query[1], 0x81, 0x80] + query[4...]
        }
        defer { try? server.stop() }
        let start = ContinuousClock.now
        Live.expectFailure(
            try Live.run(Live.probe(.dns(DNSCheck()), port: server.port, timeout: .seconds(20))),
            containing: "100 datagrams from the target, none an answer")
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    /// A DNS server answering with a compression loop is down (keepalived's header-only check passed it).
    @Test func aPointerLoopAnswerIsDown() throws {
        let server = try CannedUDPServer { query in
            query.count < 12
                ? nil : Array(query[0..<2]) + [0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c] + query.suffix(4)
        }
        defer { try? server.stop() }
        Live.expectFailure(
            try Live.run(Live.probe(.dns(DNSCheck()), port: server.port)),
            containing: "malformed reply: compression pointer at 12 does not point back")
    }
}
