import Testing

@testable import Notifier

@Suite struct ScriptCommandTests {
    @Test func splitsLikeKeepalived() throws {
        #expect(try ScriptCommand("/bin/vrrp.sh MASTER VI_1").arguments == ["/bin/vrrp.sh", "MASTER", "VI_1"])
        #expect(try ScriptCommand("  a  'b c'  \"d e\" f\\ g ").arguments == ["a", "b c", "d e", "f g"])
        #expect(try ScriptCommand("echo '*' $HOME").arguments == ["echo", "*", "$HOME"])
    }

    @Test func rejectsEmptyAndUnterminated() {
        #expect(throws: ScriptError.self) { try ScriptCommand("   ") }
        #expect { try ScriptCommand("/bin/x 'oops") } throws: { ($0 as? ScriptError)?.code == .unterminatedQuote }
        #expect { try ScriptCommand("/bin/x \"oops") } throws: {
            ($0 as? ScriptError)?.message.contains("/bin/x \"oops") == true
        }
    }

    @Test func searchesPathForBareNames() throws {
        let command = try ScriptCommand("true")
        let found = command.resolvedProgram(searchPath: "/nowhere:/usr/bin:/bin") { $0 == "/usr/bin/true" }
        #expect(found == "/usr/bin/true")
        #expect(command.resolvedProgram(searchPath: "/nowhere") { _ in false } == nil)
        let absolute = try ScriptCommand("/opt/x")
        #expect(absolute.resolvedProgram(searchPath: "/usr/bin") { $0 == "/opt/x" } == "/opt/x")
    }
}
