import Notifier
import Testing

@Suite struct NotifierModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: Notifier.self) == "Notifier")
    }
}
