import Foundation
import StreamKit
import Testing

@Suite struct StateDirectoryTests {
    @Test func aTaskDirectoryCanBeLockedByOneHolderAtATime() throws {
        let root = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = StateDirectory(root: root, applicationID: "app")
        let task = TaskID(subtopology: 1, partition: 3)
        #expect(directory.path(of: "counts", in: task) == "\(root)/app/1_3/counts")

        let lock = try directory.lock(task)
        #expect(FileManager.default.fileExists(atPath: "\(root)/app/1_3"))
        let error = #expect(throws: StateStoreError.self) { try directory.lock(task) }
        #expect(error?.store == "\(root)/app/1_3")
        #expect(error?.reason.contains("locked by another holder") == true)
        // Other tasks are independent.
        let other = try directory.lock(TaskID(subtopology: 1, partition: 4))
        other.release()

        lock.release()
        let again = try directory.lock(task)
        again.release()
    }

    /// Another process (util-linux `flock`, asking for the same lock without waiting) is refused while the lock
    /// is held, and gets it once released.
    @Test func anotherProcessCannotTakeALockedTaskDirectory() throws {
        let root = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let task = TaskID(subtopology: 0, partition: 2)
        let lock = try StateDirectory(root: root, applicationID: "app").lock(task)
        func otherProcessLocks() throws -> Bool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            process.arguments = ["--nonblock", "\(lock.directory)/.lock", "true"]
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
        #expect(try !otherProcessLocks())
        lock.release()
        #expect(try otherProcessLocks())
    }

    @Test func aLockIsReleasedWhenItsHolderGoesAway() throws {
        let root = try BytesStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = StateDirectory(root: root, applicationID: "app")
        let task = TaskID(subtopology: 0, partition: 0)
        do { _ = try directory.lock(task) }
        let lock = try directory.lock(task)
        lock.release()
    }
}
