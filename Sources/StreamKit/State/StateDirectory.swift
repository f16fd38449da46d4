import Foundation
import Glibc

/// Where an application keeps its tasks' persistent stores: `<root>/<application>/<task>/<store>`.
///
/// A task's directory is locked while a task works in it, so that two processes (or two tasks by mistake)
/// never open the same state at once.
public struct StateDirectory: Sendable {
    public let root: String
    public let applicationID: String

    public init(root: String, applicationID: String) {
        self.root = root
        self.applicationID = applicationID
    }

    /// `<root>/<application>/<task>`.
    public func path(of task: TaskID) -> String {
        "\(root)/\(applicationID)/\(task)"
    }

    /// `<root>/<application>/<task>/<store>`.
    public func path(of store: String, in task: TaskID) -> String {
        "\(path(of: task))/\(store)"
    }

    /// Creates the task's directory if needed and locks it.
    ///
    /// - Throws: ``StateStoreError`` when another holder has the lock, naming the directory.
    package func lock(_ task: TaskID) throws -> TaskDirectoryLock {
        let directory = path(of: task)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StateStoreError(store: directory, reason: "cannot create the task's state directory: \(error)")
        }
        return try TaskDirectoryLock(directory: directory)
    }
}

/// An exclusive lock on a task's state directory (`flock` on its `.lock` file), held until ``release()`` or
/// until the lock is dropped, and released by the kernel if the process dies.
package final class TaskDirectoryLock: @unchecked Sendable {
    package let directory: String
    // Written only by init and release(); a lock has one owner, the task.
    private var descriptor: Int32

    init(directory: String) throws {
        self.directory = directory
        let file = "\(directory)/.lock"
        descriptor = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StateStoreError(store: directory, reason: "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK
                ? "locked by another holder (is another instance using this state directory?)"
                : String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw StateStoreError(store: directory, reason: "cannot lock the task's state directory: \(reason)")
        }
    }

    deinit { release() }

    package func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
        descriptor = -1
    }
}
