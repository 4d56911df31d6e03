import CVigilShim
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A stream dialogue (HTTP_GET, SMTP_CHECK) over a plain non-blocking socket on the check loop: connect, then the
/// dialogue's bytes out and the server's in, the whole exchange bounded by `connect_timeout` and by the dialogue's
/// `replyLimits` (bytes and reads: a hostile or broken server cannot keep a check reading, or the loop busy). TLS
/// (SSL_GET) goes through SwiftNIO's `StreamExchange` instead, with the same limits.
enum RawStreamExchange {
    static func run<D: StreamDialogue>(_ dialogue: D, plan: SocketPlan, on loop: CheckLoop)
        -> EventLoopFuture<ProbeOutcome>
    {
        let promise = loop.makePromise(of: ProbeOutcome.self)
        loop.execute {
            RawStream(dialogue: dialogue, plan: plan, loop: loop, promise: promise).start()
        }
        return promise.futureResult
    }
}

/// What a raw exchange on the check loop holds: its socket, its timeout and its promise, and how it ends. Kept
/// alive by the loop's handler table and its timer until it finishes.
private class RawExchangeState {
    let plan: SocketPlan
    let loop: CheckLoop
    let promise: EventLoopPromise<ProbeOutcome>
    var fd: Int32 = -1
    var timer: TimerID?
    var done = false

    init(plan: SocketPlan, loop: CheckLoop, promise: EventLoopPromise<ProbeOutcome>) {
        self.plan = plan
        self.loop = loop
        self.promise = promise
    }

    /// Arms `connect_timeout`; `timedOut` gives the outcome when it passes.
    func armTimeout(_ timedOut: @escaping () -> ProbeOutcome) {
        timer = loop.at(loop.now.uptimeNanoseconds + plan.timeout) { [self] in
            timer = nil
            finish(timedOut())
        }
    }

    /// Ends the exchange once: the timer cancelled, the socket closed, the outcome delivered.
    func finish(_ outcome: ProbeOutcome) {
        guard !done else { return }
        done = true
        if let timer { loop.cancel(timer) }
        timer = nil
        if fd >= 0 {
            loop.unwatch(fd, closing: true)
            close(fd)
            fd = -1
        }
        promise.succeed(outcome)
    }
}

/// One stream exchange.
private final class RawStream<D: StreamDialogue>: RawExchangeState {
    var dialogue: D
    var connected = false
    var outgoing: [UInt8] = []
    var received = 0
    var reads = 0
    let limits: ReplyLimits

    init(dialogue: D, plan: SocketPlan, loop: CheckLoop, promise: EventLoopPromise<ProbeOutcome>) {
        self.dialogue = dialogue
        limits = dialogue.replyLimits
        super.init(plan: plan, loop: loop, promise: promise)
    }

    func start() {
        switch plan.open(type: Int32(SOCK_STREAM.rawValue), linger: false) {
        case .failure(let fault):
            promise.succeed(fault.outcome(label: plan.label, timeout: plan.timeoutText))
            return
        case .success(let socket):
            fd = socket.fd
            armTimeout { [plan] in .failure("\(plan.label): timed out after \(plan.timeoutText)") }
            guard loop.watch(fd, events: UInt32(EPOLLOUT.rawValue), { [self] _, events in ready(events) }) else {
                return finish(SocketFault(errno: errno, stage: .socket).outcome(label: plan.label, timeout: ""))
            }
            if socket.connected { becameConnected() }
        }
    }

    private func ready(_ events: UInt32) {
        if !connected {
            if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
                let code = SocketFault.pendingError(fd)
                return finish(
                    SocketFault(errno: code == 0 ? ECONNRESET : code, stage: .connect).outcome(
                        label: plan.label, timeout: plan.timeoutText))
            }
            becameConnected()
            return
        }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        if events & (UInt32(EPOLLIN.rawValue) | UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            readAvailable()
        }
    }

    private func becameConnected() {
        connected = true
        act(dialogue.connected())
        guard !done else { return }
        rewatch()
    }

    private func rewatch() {
        var events = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue)
        if !outgoing.isEmpty { events |= UInt32(EPOLLOUT.rawValue) }
        loop.rewatch(fd, events: events)
    }

    private func readAvailable() {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        // A bounded number of reads per readiness: a fast sender cannot keep the loop here.
        for _ in 0..<8 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += count
                reads += 1
                if received > limits.maxBytes {
                    return finish(.failure("\(plan.label): reply larger than \(limits.maxBytes) bytes"))
                }
                if reads > limits.maxReads {
                    return finish(.failure("\(plan.label): reply still incomplete after \(limits.maxReads) reads"))
                }
                act(dialogue.received(Array(buffer[0..<count]), eof: false))
                if done { return }
                continue
            }
            if count == 0 {
                act(dialogue.received([], eof: true))
                if !done { finish(.failure("\(plan.label): connection closed")) }
                return
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            return finish(
                .failure("\(plan.label): \(SocketFault(errno: code, stage: .io).text(timeout: plan.timeoutText))"))
        }
    }

    private func act(_ step: DialogueStep) {
        switch step {
        case .more:
            return
        case .send(let bytes):
            outgoing += bytes
            flush()
        case .finish(let outcome, let farewell):
            if !farewell.isEmpty {
                _ = farewell.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            }
            finish(outcome)
        }
    }

    private func flush() {
        while !outgoing.isEmpty {
            let sent = outgoing.withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                outgoing.removeFirst(sent)
                continue
            }
            let code = errno
            if sent < 0 && (code == EAGAIN || code == EWOULDBLOCK || code == EINTR) { break }
            return finish(
                .failure("\(plan.label): \(SocketFault(errno: code, stage: .io).text(timeout: plan.timeoutText))"))
        }
        if connected && !done { rewatch() }
    }
}

/// A datagram dialogue (UDP_CHECK, DNS_CHECK, PING_CHECK) on a connected non-blocking socket on the check loop:
/// the request out, replies in until the dialogue decides; an ICMP error (port or host unreachable) surfacing on
/// the socket fails the check; `connect_timeout` ends it with the dialogue's verdict on silence.
enum RawDatagramExchange {
    static func run<D: DatagramDialogue>(
        _ dialogue: D, plan: SocketPlan, protocol number: Int32 = 0, on loop: CheckLoop
    ) -> EventLoopFuture<ProbeOutcome> {
        let promise = loop.makePromise(of: ProbeOutcome.self)
        loop.execute {
            RawDatagram(dialogue: dialogue, plan: plan, protocol: number, loop: loop, promise: promise).start()
        }
        return promise.futureResult
    }
}

private final class RawDatagram<D: DatagramDialogue>: RawExchangeState {
    /// Datagrams one check reads before it gives up on the target (a server flooding replies with the wrong id).
    static var maxDatagrams: Int { 100 }

    var dialogue: D
    let number: Int32
    var datagrams = 0

    init(
        dialogue: D, plan: SocketPlan, protocol number: Int32, loop: CheckLoop, promise: EventLoopPromise<ProbeOutcome>
    ) {
        self.dialogue = dialogue
        self.number = number
        super.init(plan: plan, loop: loop, promise: promise)
    }

    func start() {
        switch plan.open(type: Int32(SOCK_DGRAM.rawValue), protocol: number, linger: false) {
        case .failure(let fault):
            promise.succeed(fault.outcome(label: plan.label, timeout: plan.timeoutText))
        case .success(let socket):
            fd = socket.fd
            let timeout = Duration.nanoseconds(Int64(plan.timeout))
            armTimeout { [unowned self] in dialogue.timedOut(after: timeout) }
            guard loop.watch(fd, events: UInt32(EPOLLIN.rawValue), { [self] _, events in ready(events) }) else {
                return finish(SocketFault(errno: errno, stage: .socket).outcome(label: plan.label, timeout: ""))
            }
            let request = dialogue.request
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if sent < 0 {
                finish(SocketFault(errno: errno, stage: .io).outcome(label: plan.label, timeout: plan.timeoutText))
            }
        }
    }

    private func ready(_ events: UInt32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<8 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count >= 0 {
                datagrams += 1
                if let outcome = dialogue.received(Array(buffer[0..<count])) { return finish(outcome) }
                if datagrams >= Self.maxDatagrams {
                    return finish(.failure("\(plan.label): \(datagrams) datagrams from the target, none an answer"))
                }
                continue
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            // An ICMP error for an earlier datagram surfaces here on a connected socket.
            return finish(
                .failure("\(plan.label): \(SocketFault(errno: code, stage: .io).text(timeout: plan.timeoutText))"))
        }
    }
}
