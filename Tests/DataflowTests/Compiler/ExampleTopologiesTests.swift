import Dataflow
import Foundation
import StreamKit
import Testing

/// The examples under `topologies/` are valid and compile, each into a topology of its own as the engine runs them.
@Suite struct ExampleTopologiesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("topologies").path

    @Test func everyExampleValidatesAndCompilesAlone() throws {
        let resources = try Resource.load(path: Self.directory)
        var catalog: [String: PipelineResource] = [:]
        for case .pipeline(let pipeline) in resources { catalog[pipeline.name.value] = pipeline }
        #expect(catalog.count >= 12)
        let pipelines = try catalog.values.map { try Pipeline($0, catalog: catalog) }
        let models = Set(resources.compactMap { resource -> String? in if case .model(let model) = resource { model.name.value } else { nil } })
        for pipeline in pipelines {
            for step in pipeline.steps { #expect(models.contains(step.name), "\(pipeline.name): step \(step.name) has no Model in models.yaml") }
        }
        let errors = TopicNames().errors
        for pipeline in pipelines {
            let topology = try PipelineCompiler().topology([pipeline])
            // The shared errors topic is read apart from the pipeline's own topics unless a batching step's ledger
            // ties them together: only then must its partition count match theirs.
            let readers = topology.subtopologies.filter { $0.sourceTopics.map(\.description).contains(errors) }
            #expect(readers.count == 1, "\(pipeline.name)")
            let batching = pipeline.steps.contains { $0.batch != nil }
            #expect(readers.allSatisfy { ($0.sourceTopics.count == 1) != batching }, "\(pipeline.name): \(readers.map(\.sourceTopics))")
        }
    }
}
