import StreamKit

/// Compiles pipelines into one StreamKit topology: the engine runs every pipeline in one application, where
/// Seldon Core 2 runs one Kafka Streams application per pipeline.
///
/// Each topic is read once; each pipeline reading it takes only the records whose ``DataflowHeaders/pipeline``
/// header names the pipeline the tensors belong to. Every stage (see ``Stage``) selects and renames its sources'
/// tensors, joins them, waits for its triggers, counts revisits, batches, and writes one topic, with the
/// `pipeline` header set. A request that cannot go on becomes an error record on its pipeline's outputs, and so
/// does every error record the model gateways put on the errors topic for the pipeline.
public struct PipelineCompiler: Sendable {
    public var topics: TopicNames

    public init(topics: TopicNames = TopicNames()) {
        self.topics = topics
    }

    /// One topology running all of `pipelines` (an empty one for none).
    public func topology(_ pipelines: [Pipeline]) throws -> Topology {
        guard !pipelines.isEmpty else { return .empty }
        return try PipelineAssembly(topics: topics, pipelines: pipelines).build()
    }

    /// Every topic `pipeline` reads or writes, so that they exist before it runs.
    public func topics(of pipeline: Pipeline) -> Set<String> {
        var names: Set = [topics.pipelineInputs(pipeline.name), topics.pipelineOutputs(pipeline.name), topics.errors]
        for stage in pipeline.stages {
            for source in stage.sources + stage.triggers { names.insert(topics.topic(of: source.reference)) }
            if case .model(let model) = stage.sink {
                names.insert(topics.modelInputs(model))
                names.insert(topics.modelOutputs(model))
            }
        }
        return names
    }
}

/// A request's key: the same along the whole graph, what joins match on.
typealias RequestKey = [UInt8]?
