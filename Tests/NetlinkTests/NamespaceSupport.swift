import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `ip` (or another command) and returns its exit status and standard output.
@discardableResult
func run(_ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A network namespace `vio-<name>` with a veth pair `vio0` ⇄ `vio1`, both up; deleted by `close()` (call it in a
/// `defer`, so it goes even when an expectation fails). A leftover namespace of the same name is replaced.
final class TestNamespace: Sendable {
    let name: String

    init(_ suffix: String) throws {
        name = "vio-\(suffix)"
        run(["ip", "netns", "del", name])
        for command in [
            ["ip", "netns", "add", name],
            ["ip", "-n", name, "link", "set", "lo", "up"],
            ["ip", "-n", name, "link", "add", "vio0", "type", "veth", "peer", "name", "vio1"],
            ["ip", "-n", name, "link", "set", "vio0", "up"],
            ["ip", "-n", name, "link", "set", "vio1", "up"],
        ] {
            let result = run(command)
            guard result.status == 0 else {
                close()
                throw SetupError(message: "\(command.joined(separator: " ")): \(result.output)")
            }
        }
    }

    func close() {
        run(["ip", "netns", "del", name])
    }

    /// `ip -n <namespace> <arguments>`'s output.
    func ip(_ arguments: String...) -> String {
        run(["ip", "-n", name] + arguments).output
    }

    /// Runs `body` on a new thread that has entered the namespace (`setns(CLONE_NEWNET)`), so every socket it opens
    /// lives there; the test's own thread never changes namespace.
    func enter<T>(_ body: @escaping () throws -> T) throws -> T {
        let descriptor = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SetupError(message: "open /run/netns/\(name): errno \(errno)") }
        defer { Glibc.close(descriptor) }
        let box = ThreadBox<T>(descriptor: descriptor, body: body)
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<ThreadTask>.fromOpaque(raw!).takeUnretainedValue().perform()
                return nil
            }, Unmanaged.passUnretained(box as ThreadTask).toOpaque())
        guard created == 0 else { throw SetupError(message: "pthread_create: \(created)") }
        pthread_join(thread, nil)
        return try box.result!.get()
    }
}

struct SetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `setns(2)`: Glibc's module hides it (it needs `_GNU_SOURCE`); the argument is `CLONE_NEWNET`.
@_silgen_name("setns") private func enterNamespace(_ descriptor: Int32, _ type: Int32) -> Int32

/// What the namespace thread runs; non-generic so a C thread entry point can call it.
class ThreadTask {
    func perform() {}
}

private final class ThreadBox<T>: ThreadTask {
    let descriptor: Int32
    let body: () throws -> T
    var result: Result<T, any Error>?

    init(descriptor: Int32, body: @escaping () throws -> T) {
        self.descriptor = descriptor
        self.body = body
    }

    override func perform() {
        guard enterNamespace(descriptor, 0x4000_0000) == 0 else {
            result = .failure(SetupError(message: "setns: errno \(errno)"))
            return
        }
        result = Result { try body() }
    }
}
