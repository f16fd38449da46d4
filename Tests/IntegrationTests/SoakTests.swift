import Foundation
import ProjectScripts
import Testing

/// `dataflow soak` for two minutes against the test broker and MLServer: the sample pipelines on two instances
/// under load through every fault of the schedule, and every request accounted for.
///
/// At-least-once: the latest 10-minute exactly-once soaks (Tansu behind the transaction shim) answered nothing
/// twice but left one request in about 5,000 unanswered (docs/operations.md), so an exactly-once one here would
/// fail now and then until that is found.
///
/// `make test` runs it alone, after the other suites (see `scripts/test`).
@Suite(.enabled(if: TestModelServer.shouldRun), .serialized)
struct SoakTests {
    @Test func twoMinutesOfFaultsLoseNothing() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.uniqueName("soak")).path
        let soak = try ChildProcess.start(DataflowProcess.binary, [
            "soak", "--duration", "2m", "--rate", "4", "--bootstrap", try TestBroker.bootstrap(), "--local-broker", "--model-server", try TestModelServer.address(),
            "--topologies", TestModelServer.root.appendingPathComponent("topologies").path, "--work-directory", work,
        ], output: work + ".out", errors: work + ".log")
        let status = await soak.wait()
        let report = soak.standardOutput
        #expect(status == 0 && report.contains("result: passed"), "\(report)\n\(soak.standardError.suffix(4000))")
        #expect(report.contains("SIGKILL instance 0") && report.contains("SIGSTOP instance 1") && report.contains("poison records"), "\(report)")
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
