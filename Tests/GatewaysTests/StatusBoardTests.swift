import Dataflow
import Testing
@testable import Gateways

/// A pipeline's status aggregated over the instances' reports.
struct StatusBoardTests {
    func report(_ instance: String, roles: [String] = ["engine", "pipeline-gateway"], offset: Int64 = 10, _ status: String? = "Ready", answering: Bool = true) -> InstanceReport {
        InstanceReport(
            instance: instance, roles: roles, controlOffset: offset,
            pipelines: status.map { [.init(name: "chain", version: 1, status: $0)] } ?? [],
            answering: answering ? ["chain"] : []
        )
    }

    @Test func readyWhenEveryEngineRunsTheLatestVersionAndAGatewayAnswers() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a"), at: 1_000)
        board.record(instance: "b", report: report("b", answering: false), at: 1_000)
        let view = board.view(of: "chain", changedAt: 5, now: 2_000)
        #expect(view.status == "Ready" && view.reason == nil)
        #expect(view.engines.map(\.instance) == ["a", "b"] && view.answeredBy == ["a"])
    }

    @Test func anEngineBehindTheChangeIsStillCreating() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a"), at: 1_000)
        board.record(instance: "b", report: report("b", offset: 5), at: 1_000)
        let view = board.view(of: "chain", changedAt: 5, now: 2_000)
        #expect(view.status == "Creating" && view.reason == "instance b is Creating", "\(view)")
    }

    @Test func aFailureOnAnyEngineIsThePipelines() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a"), at: 1_000)
        board.record(instance: "b", report: report("b", "Failed: topic has 2 partitions"), at: 1_000)
        let view = board.view(of: "chain", changedAt: 5, now: 2_000)
        #expect(view.status == "Failed: topic has 2 partitions" && view.reason == "on instance b")
    }

    @Test func silentOrWithdrawnInstancesNoLongerCount() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a"), at: 1_000)
        board.record(instance: "b", report: report("b", "Creating"), at: 1_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 2_000).status == "Creating")
        board.record(instance: "a", report: report("a"), at: 15_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 15_000).status == "Ready", "b has not reported for 14 s")
        board.record(instance: "a", report: nil, at: 16_000)
        let none = board.view(of: "chain", changedAt: 5, now: 16_000)
        #expect(none.status == "Creating" && none.reason == "no engine instance is running")
    }

    @Test func withoutAGatewayReadingItsAnswersItIsNotReadyForClients() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a", answering: false), at: 1_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 2_000).reason == "no pipeline gateway reads its answers yet")
        #expect(board.view(of: "chain", changedAt: 5, now: 2_000, withGateways: false).status == "Ready", "what the gateways themselves go by")
        board.record(instance: "a", report: report("a", roles: ["engine"], answering: false), at: 3_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 4_000).status == "Ready", "no gateway runs at all")
    }

    @Test func anOlderReportDoesNotReplaceANewerOne() {
        var board = StatusBoard(livenessMs: 10_000)
        board.record(instance: "a", report: report("a"), at: 2_000)
        board.record(instance: "a", report: report("a", "Creating"), at: 1_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 2_500).status == "Ready")
    }
}

extension StatusBoardTests {
    @Test func aPipelineWaitsForAPlacedModelLoadedNowhere() {
        var board = StatusBoard(livenessMs: 10_000)
        var scheduler = report("a", roles: ["engine", "control"], answering: false)
        scheduler.modelStatus = ["add10": "Loading"]
        board.record(instance: "a", report: scheduler, at: 1_000)
        let waiting = board.view(of: "chain", changedAt: 5, now: 2_000, models: ["add10", "mul10"])
        #expect(waiting.status == "Creating" && waiting.reason == "waiting for model add10 (Loading)", "\(waiting)")
        scheduler.modelStatus = ["add10": "Loading (the previous version serves meanwhile)"]
        scheduler.placement = ["add10": ["s1"]]
        board.record(instance: "a", report: scheduler, at: 3_000)
        #expect(board.view(of: "chain", changedAt: 5, now: 3_500, models: ["add10"]).status == "Ready", "an update does not stop it")
    }
}

extension StatusBoardTests {
    func placed() throws -> (ModelResource, [ServerResource]) {
        let yaml = """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Server
            metadata:
              name: s1
            spec:
              endpoint: http://127.0.0.1:1
              repository: /tmp/models
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: add10
            spec:
              storageUri: file:///tmp/add10
            """
        var model: ModelResource?
        var servers: [ServerResource] = []
        for resource in try Resource.load(yaml: yaml, file: "placed.yaml") {
            switch resource {
            case .model(let found): model = found
            case .server(let server): servers.append(server)
            default: break
            }
        }
        return (try #require(model), servers)
    }

    @Test func aPlacedModelShowsTheSchedulersStatusAndADeletedOneIsUnloadingUntilTheSchedulerDropsIt() throws {
        let (model, servers) = try placed()
        var board = StatusBoard(livenessMs: 10_000)
        var scheduler = report("a", roles: ["engine", "control"], answering: false)
        #expect(board.modelView(of: "add10", resource: model, servers: servers, now: 500) == .init(status: "Loading", servers: []))
        scheduler.modelStatus = ["add10": "Available"]
        scheduler.placement = ["add10": ["s1"]]
        board.record(instance: "a", report: scheduler, at: 1_000)
        #expect(board.modelView(of: "add10", resource: model, servers: servers, now: 1_500) == .init(status: "Available", servers: ["s1"]))

        #expect(board.modelView(of: "add10", resource: nil, servers: servers, now: 1_500) == .init(status: "Unloading", servers: ["s1"]))
        #expect(board.unloadingModels(applied: [], now: 1_500) == ["add10"])
        #expect(board.unloadingModels(applied: ["add10"], now: 1_500).isEmpty)
        scheduler.modelStatus = [:]
        scheduler.placement = [:]
        board.record(instance: "a", report: scheduler, at: 2_000)
        #expect(board.modelView(of: "add10", resource: nil, servers: servers, now: 2_500) == nil)
        #expect(board.unloadingModels(applied: [], now: 2_500).isEmpty)
    }

    @Test func aModelServedWhereItsResourceSaysIsAvailableThere() throws {
        let yaml = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: iris\nspec:\n  server: mlserver\n"
        guard case .model(let model) = try Resource.load(yaml: yaml, file: "m.yaml").first else { Issue.record("not a model"); return }
        let board = StatusBoard(livenessMs: 10_000)
        #expect(board.modelView(of: "iris", resource: model, servers: [], now: 0) == .init(status: "Available", servers: ["mlserver"]))
        #expect(board.modelView(of: "iris", resource: nil, servers: [], now: 0) == nil)
    }
}
