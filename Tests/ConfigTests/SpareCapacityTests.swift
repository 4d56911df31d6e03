import Testing

@testable import Config

/// `dropSpareCapacity`: the lists a large farm is held in keep no room beyond their elements.
struct SpareCapacityTests {
    @Test("a list that grew one element at a time is copied to its size, its elements kept")
    func grown() {
        var list: [String] = []
        for value in 0..<10 { list.append("\(value)") }
        #expect(list.hasSpareCapacity)  // room for 16 (16 bytes each)
        list.dropSpareCapacity()
        #expect(list == (0..<10).map { "\($0)" })
        #expect(!list.hasSpareCapacity)
    }

    @Test("an empty list with room takes the shared empty storage (never writes to it: ThreadSanitizer saw that race)")
    func emptyWithRoom() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var list: [Int] = []
                    list.reserveCapacity(64)
                    list.dropSpareCapacity()
                    #expect(list.isEmpty && list.capacity == 0)
                }
            }
        }
    }
}
