import Dataflow
import Foundation
import StreamKit
import Testing

/// The examples under `topologies/` are valid and compile, all together, into one engine topology.
@Suite struct ExampleTopologiesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("topologies").path

    @Test func everyExampleValidatesAndTheyCompileTogether() throws {
        let resources = try Resource.load(path: Self.directory)
        var catalog: [String: PipelineResource] = [:]
        for case .pipeline(let pipeline) in resources { catalog[pipeline.name.value] = pipeline }
        #expect(catalog.count >= 12)
        let pipelines = try catalog.values.map { try Pipeline($0, catalog: catalog) }
        let models = Set(resources.compactMap { resource -> String? in if case .model(let model) = resource { model.name.value } else { nil } })
        for pipeline in pipelines {
            for step in pipeline.steps { #expect(models.contains(step.name), "\(pipeline.name): step \(step.name) has no Model in models.yaml") }
        }
        let topology = try PipelineCompiler().topology(pipelines)
        #expect(topology.subtopologies.count == 1)
    }
}
