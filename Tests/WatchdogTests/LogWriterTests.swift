import Foundation
import Testing

@testable import Watchdog

#if canImport(Glibc)
    import Glibc
#endif

/// The log writer at exit: lines its thread has taken off the queue but not yet written must still come out, in order.
/// The test runs this test binary again as the logging process (an environment variable tells the two apart), its
/// standard error a pipe read only after a pause: the pipe fills, the writer thread blocks in the middle of what it
/// took, and the process exits meanwhile.
@Suite struct LogWriterTests {
    static let childVariable = "VIGIL_LOG_WRITER_EXIT_CHILD"
    static let lines = 1_000
    /// Lines of 1,000 bytes: the pipe (64 KiB) holds a few dozen.
    static let padding = String(repeating: "x", count: 990)

    @Test func linesTakenByTheThreadAreWrittenAtExit() throws {
        if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
            for index in 0..<Self.lines { LogWriter.shared.enqueue(.console("line \(index) \(Self.padding)\n")) }
            // The thread has taken what was queued and waits, the pipe full, in the middle of writing it.
            usleep(100_000)
            LogWriter.shared.enqueue(.console("last\n"))
            exit(0)
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "linesTakenByTheThreadAreWrittenAtExit"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: "1"]) { $1 }
        let pipe = Pipe()
        child.standardError = pipe
        child.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try child.run()
        usleep(300_000)  // the child exits while its writer thread waits to write
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let logged = output.split(separator: "\n").filter { $0.hasPrefix("line ") || $0 == "last" }.map(String.init)
        let expected = (0..<Self.lines).map { "line \($0) \(Self.padding)" } + ["last"]
        let firstDifference = zip(logged, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(logged.count == expected.count)
        #expect(logged == expected, "first difference at line \(firstDifference ?? -1)")
    }
}
