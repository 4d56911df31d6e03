import CVigilShim
import Testing

@testable import Watchdog

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A thread's /proc files held open")
struct ThreadActivityReaderTests {
    @Test("each read is the thread's scheduling now: CPU time grows while it runs")
    func readsAgainFromTheStart() throws {
        let reader = try #require(ThreadActivityReader(pid: getpid(), thread: cvigil_gettid()))
        let first = try #require(reader.read())
        // The reading thread is running as it reads.
        #expect(first.state == "R")
        let start = first.onCPU
        var spins: UInt64 = 0
        var now = first
        while now.onCPU < start + 20_000_000 {
            for _ in 0..<100_000 { spins &+= 1 }
            now = try #require(reader.read())
        }
        #expect(spins > 0)
        #expect(now.onCPU >= start + 20_000_000)
        // The same value the files give when opened by path.
        let fresh = try #require(ThreadActivityReader(pid: getpid(), thread: cvigil_gettid())?.read())
        #expect(fresh.onCPU >= now.onCPU)
    }

    @Test("once its thread has exited, a reader reads nothing: it names the thread, not its number")
    func aGoneThreadReadsNothing() throws {
        let gate = ThreadGate()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(gate).toOpaque()
        #expect(
            pthread_create(
                &thread, nil,
                { context in
                    let gate = Unmanaged<ThreadGate>.fromOpaque(context!).takeRetainedValue()
                    gate.tid = cvigil_gettid()
                    gate.started.signal()
                    gate.release.wait()
                    return nil
                }, context) == 0)
        gate.started.wait()
        let reader = try #require(ThreadActivityReader(pid: getpid(), thread: gate.tid))
        // Between its signal and its wait the thread still runs: read until it sleeps on the semaphore.
        var state = try #require(reader.read()).state
        for _ in 0..<500 where state != "S" {
            usleep(10_000)
            state = try #require(reader.read()).state
        }
        #expect(state == "S")
        gate.release.signal()
        pthread_join(thread, nil)
        #expect(reader.read() == nil)
        #expect(ThreadActivityReader(pid: getpid(), thread: gate.tid) == nil)
    }

    @Test("the bytes are parsed as the text is, and bad files give nothing")
    func bytesParseAsText() {
        let stat = "4243 (checker (w)) S 1 4242 4242 0 -1 4194560 900 0 0 0 17 5 0 0 20 0 3 0 12345 1 2 3\n"
        #expect(
            ThreadActivity(stat: stat, schedstat: "123 456 7\n") == ThreadActivity(state: "S", onCPU: 123, waited: 456))
        #expect(StartupProgress(procStat: stat) == StartupProgress(state: "S", cpuTicks: 22))
        // A state of more than one letter, a CPU time that is not a number, or overflows, or is missing.
        #expect(StartupProgress(procStat: "1 (a) SS 1 2 3 4 5 6 7 8 9 10 11 12") == nil)
        #expect(StartupProgress(procStat: "1 (a) S 1 2 3 4 5 6 7 8 9 10 x 12") == nil)
        #expect(StartupProgress(procStat: "1 (a) S 1 2 3 4 5 6 7 8 9 10 99999999999999999999 1") == nil)
        #expect(StartupProgress(procStat: "1 (a) S 1 2 3 4 5 6 7 8 9 10 11") == nil)
        #expect(ThreadActivity(stat: stat, schedstat: "123\n") == nil)
        #expect(ThreadActivity(stat: stat, schedstat: "9223372036854775808 1 1\n") == nil)
        #expect(ThreadActivity(stat: stat, schedstat: "-1 1 1\n") == nil)
    }
}

/// Two semaphores between a test and the thread it starts.
private final class ThreadGate: @unchecked Sendable {
    // Written by the thread before `started` is signalled, read by the test after it waits for it.
    var tid: Int32 = 0
    let started = Semaphore()
    let release = Semaphore()
}

private final class Semaphore: @unchecked Sendable {
    // sem_t is used only through its address, which a class instance keeps stable.
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() { sem_init(semaphore, 0, 0) }
    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }
    func signal() { sem_post(semaphore) }
    func wait() { while sem_wait(semaphore) != 0 {} }
}
