@testable import Gateways
import Synchronization
import Testing

struct WithCleanupTests {
    struct Failure: Error {}

    @Test func cleanupRunsAfterTheBodyReturnsAndItsResultComesBack() async throws {
        let steps = Mutex<[String]>([])
        let value = try await withCleanup {
            steps.withLock { $0.append("body") }
            return 7
        } cleanup: {
            steps.withLock { $0.append("cleanup") }
        }
        #expect(value == 7)
        #expect(steps.withLock { $0 } == ["body", "cleanup"])
    }

    @Test func cleanupRunsAfterTheBodyThrowsAndTheErrorComesBack() async {
        let cleaned = Mutex(false)
        await #expect(throws: Failure.self) {
            try await withCleanup {
                throw Failure()
            } cleanup: {
                cleaned.withLock { $0 = true }
            }
        }
        #expect(cleaned.withLock { $0 })
    }
}
