import NIOCore

/// TCP_CHECK: success when the connection is established within `connect_timeout`. Runs on the check loop's lean
/// connector (`TCPConnector`): the engine starts it without a future, tests and other callers through `run`.
struct TCPProbe: HealthProbe {
    let target: ProbeTarget
    /// The socket plan, or why there is none (no port).
    let plan: Result<SocketPlan, ProbeFailure>

    init(target: ProbeTarget) {
        self.target = target
        plan = SocketPlan.make(target: target, port: target.port, label: .endpoint("TCP_CHECK"))
    }

    func run(on loop: CheckLoop) -> EventLoopFuture<ProbeOutcome> {
        let promise = loop.makePromise(of: ProbeOutcome.self)
        switch plan {
        case .failure(let failure): promise.succeed(.failure(failure.message))
        case .success(let plan): loop.execute { loop.connector.start(plan, .promise(promise)) }
        }
        return promise.futureResult
    }
}
