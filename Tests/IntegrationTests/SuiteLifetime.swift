import Dispatch
import Foundation
import StreamKit
import Synchronization

/// Components shared by whole suites (``PipelineFixture``, ``GatewayFixture``) run until the test process
/// exits. When it exits they are cancelled and awaited first: a component still committing while the
/// process tears down its native libraries crashes in RocksDB or librdkafka, after every test has passed.
///
/// Exit handlers run in the reverse order of their registration, and RocksDB registers the destructors of its
/// process-wide state when a first database opens: hand a component over only once it has opened its stores,
/// so that it stops before that state is destroyed.
enum SuiteLifetime {
    private static let running = Mutex<(tasks: [Task<Void, any Error>], hooked: Bool)>(([], false))

    /// Cancels `task` when the process exits and waits (up to a minute) until it returned.
    static func own(_ task: Task<Void, any Error>) {
        let hook = running.withLock { state in
            state.tasks.append(task)
            defer { state.hooked = true }
            return !state.hooked
        }
        if hook {
            openRocksDBOnce()
            atexit { SuiteLifetime.stopAll() }
        }
    }

    /// Opens and closes a database, so that RocksDB has registered its exit handlers before ours, which then
    /// runs first, whichever component was handed over first.
    private static func openRocksDBOnce() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("suite-lifetime-\(UUID().uuidString)").path
        (try? RocksDBBytesStore(path: path))?.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func stopAll() {
        let tasks = running.withLock { state in
            defer { state.tasks = [] }
            return state.tasks
        }
        let stopped = DispatchSemaphore(value: 0)
        Task.detached {
            for task in tasks { task.cancel() }
            for task in tasks { _ = await task.result }
            stopped.signal()
        }
        if stopped.wait(timeout: .now() + 60) == .timedOut {
            FileHandle.standardError.write(Data("suite components did not stop within 60 s of exit\n".utf8))
        }
    }
}
