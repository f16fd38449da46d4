import Dataflow

/// Where a synchronous request goes: through a pipeline, or to one model alone.
public enum InferenceTarget: Sendable, Hashable, CustomStringConvertible {
    case pipeline(String)
    case model(String)

    /// The `seldon-model` header's suffix naming a pipeline (`chain.pipeline`).
    static let pipelineSuffix = ".pipeline"
    /// The suffix naming a model explicitly (`iris.model`), as Seldon Core 2 also reads it.
    static let modelSuffix = ".model"
    /// The headers that name the target, in the order they are read: Seldon's clients send `seldon-model`, and
    /// calls from inside its mesh `seldon-internal-model`.
    public static let headers = ["seldon-model", "seldon-internal-model"]

    /// The target of `POST /v2/models/{name}/infer`: the `seldon-model` header decides, as in Seldon Core 2
    /// (`{p}.pipeline` a pipeline, `{m}` or `{m}.model` a model); without the header the name in the path does, as
    /// a gRPC `model_name` (`{m}.model` a model, otherwise a pipeline).
    public init(modelPath name: String, seldonModel header: String?) {
        guard let header, !header.isEmpty else {
            self.init(grpcName: name, seldonModel: nil)
            return
        }
        if header.hasSuffix(Self.pipelineSuffix) {
            self = .pipeline(String(header.dropLast(Self.pipelineSuffix.count)))
        } else if header.hasSuffix(Self.modelSuffix) {
            self = .model(String(header.dropLast(Self.modelSuffix.count)))
        } else {
            self = .model(header)
        }
    }

    /// The target a gRPC `model_name` (or a readiness call's `name`) names: `{p}.pipeline` is a pipeline,
    /// `{m}.model` a model, a bare name a pipeline unless the `seldon-model` metadata names a model.
    init(grpcName name: String, seldonModel header: String?) {
        if let header, !header.isEmpty {
            self.init(modelPath: name, seldonModel: header)
        } else if name.hasSuffix(Self.pipelineSuffix) {
            self = .pipeline(String(name.dropLast(Self.pipelineSuffix.count)))
        } else if name.hasSuffix(Self.modelSuffix) {
            self = .model(String(name.dropLast(Self.modelSuffix.count)))
        } else {
            self = .pipeline(name)
        }
    }

    public var name: String {
        switch self {
        case .pipeline(let name), .model(let name): name
        }
    }

    public var description: String {
        switch self {
        case .pipeline(let name): "pipeline \(name)"
        case .model(let name): "model \(name)"
        }
    }

    /// Where the request is written.
    func inputs(_ topics: TopicNames) -> String {
        switch self {
        case .pipeline(let name): topics.pipelineInputs(name)
        case .model(let name): topics.modelInputs(name)
        }
    }

    /// Where its answer or its error record comes back: a pipeline's outputs carry both; a model's errors go
    /// to the shared errors topic.
    func answers(_ topics: TopicNames) -> [String] {
        switch self {
        case .pipeline(let name): [topics.pipelineOutputs(name)]
        case .model(let name): [topics.modelOutputs(name), topics.errors]
        }
    }
}
