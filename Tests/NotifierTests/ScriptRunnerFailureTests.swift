import Logging
import NIOPosix
import Testing

@testable import Notifier

#if canImport(Glibc)
    import Glibc
#endif

/// The reaper thread that cannot start (no descriptor for its pipe) fails script runs with the reason; it used to
/// stop the whole worker with `fatalError`.
@Suite struct ScriptRunnerFailureTests {
    @Test func aReaperThatCannotStartFailsRunsWithTheReason() throws {
        let failing = Result { () throws(ScriptRunnerError) in
            try ChildReaper(pipe: { _ in
                errno = EMFILE
                return -1
            })
        }
        guard case .failure(let error) = failing else {
            Issue.record("a reaper without a pipe started")
            return
        }
        #expect(error.message == "cannot wait for scripts: pipe: Too many open files")
        let runner = ScriptRunner(
            identity: ScriptIdentity(uid: geteuid(), gid: getegid(), userName: "self"), logger: Logger(label: "test"),
            reaper: failing)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let result = try runner.run(ScriptCommand("/bin/true"), timeout: .seconds(5), on: loop).wait()
        #expect(result == .failedToStart("script '/bin/true': cannot wait for scripts: pipe: Too many open files"))
    }
}
