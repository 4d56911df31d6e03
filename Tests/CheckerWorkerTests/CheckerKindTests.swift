import CheckerWorker
import Testing

@Suite struct CheckerKindTests {
    @Test func keywordsAreKeepalivedsNames() {
        #expect(CheckerKind(rawValue: "TCP_CHECK") == .tcp)
        #expect(CheckerKind.allCases.count == 9)
    }
}
