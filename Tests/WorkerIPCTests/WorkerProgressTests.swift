import CVigilShim
import Testing

@testable import WorkerIPC

/// What a worker's heartbeat answers say about its engine's loop.
@Suite("Worker progress")
struct WorkerProgressTests {
    @Test("a beacon handed over after the last progress moves it: a loop given nothing is idle, not behind")
    func aBeaconHandedOverLaterIsTheLoopsStart() {
        let progress = WorkerProgress()
        let first = progress.heartbeat(sequence: 1)
        // The runtime's main thread went without sending a beacon (starved of CPU), then sent one before answering.
        let handedOver = first.answeredAt + 5_000_000_000
        progress.beaconSent(at: handedOver)
        #expect(progress.heartbeat(sequence: 2).progressAt == handedOver)
        // An earlier hand-over does not move the loop's progress back.
        let other = WorkerProgress()
        let mark = other.heartbeat(sequence: 1).progressAt
        other.beaconSent(at: mark - 5_000_000_000)
        #expect(other.heartbeat(sequence: 2).progressAt == mark)
    }

    @Test("the answers name the thread that ran the last beacon: the engine's loop")
    func theLoopThreadIsNamed() {
        let progress = WorkerProgress()
        #expect(progress.heartbeat(sequence: 1).loopThread == 0)
        progress.beaconRan(sentAt: monotonicNanoseconds())
        #expect(progress.heartbeat(sequence: 2).loopThread == cvigil_gettid())
    }
}
