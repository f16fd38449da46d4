import Foundation
import ProjectScripts
import Testing

/// `dataflow soak` for two minutes with MLServer: the sample pipelines on two instances under load through every
/// fault of the schedule, and every request accounted for.
///
/// `make test` runs it alone, after the other suites (see `scripts/test`).
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct SoakTests {
    /// Exactly-once on a Tansu the soak starts behind the transaction shim (which does what Tansu leaves out of
    /// transactions): nothing lost, no request answered twice, and every model call answered once, through a
    /// kill, a stop past the session timeout (a zombie), model failures and poison records.
    @Test func twoMinutesOfFaultsLoseNothingAndAnswerNothingTwiceUnderExactlyOnce() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("soak")).path
        let soak = try ChildProcess.start(DataflowProcess.binary, [
            "soak", "--duration", "2m", "--rate", "4", "--processing-guarantee", "exactly-once", "--model-server", try TestModelServer.address(),
            "--topologies", TestModelServer.root.appendingPathComponent("topologies").path, "--work-directory", work,
        ], output: work + ".out", errors: work + ".log")
        let status = await soak.wait()
        let report = soak.standardOutput
        #expect(status == 0 && report.contains("result: passed"), "\(report)\n\(soak.standardError.suffix(4000))")
        #expect(report.contains("SIGKILL instance 0") && report.contains("SIGSTOP instance 1") && report.contains("poison records"), "\(report)")
        #expect(report.contains(", 0 answered more than once"), "the model calls were counted: \(report)")
    }

    /// The same on librdkafka's mock cluster of three brokers (started by the soak), the first of them taken down
    /// and brought back while requests flow: partitions it leads and groups it coordinates stop, then resume.
    @Test func aBrokerDownAndBackLosesNothing() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("soak-mock3")).path
        let soak = try ChildProcess.start(DataflowProcess.binary, [
            "soak", "--duration", "2m", "--rate", "4", "--broker", "mock3", "--model-server", try TestModelServer.address(),
            "--topologies", TestModelServer.root.appendingPathComponent("topologies").path, "--work-directory", work,
        ], output: work + ".out", errors: work + ".log")
        let status = await soak.wait()
        let report = soak.standardOutput
        #expect(status == 0 && report.contains("result: passed"), "\(report)\n\(soak.standardError.suffix(4000))")
        #expect(report.contains("broker 1 (partition leader, coordinator) down for 8"), "\(report)")
        #expect(report.contains("replication: ") && !report.contains("fewer than 3 replicas"), "every topic has three replicas: \(report)")
    }
}
