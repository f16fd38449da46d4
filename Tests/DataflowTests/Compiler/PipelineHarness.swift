import Dataflow
import StreamKit
import StreamKitTesting

/// Runs compiled pipelines in the topology test driver, playing the clients and the model gateways: requests go to
/// a pipeline's inputs topic, models answer what reaches their inputs topics (as the model gateway would, headers
/// returned), and the pipelines' outputs are read back.
final class PipelineHarness {
    typealias Model = @Sendable (InferenceRequest) throws -> [InferenceTensor]

    let driver: TopologyTestDriver
    let topics = TopicNames()
    let pipelines: [Pipeline]
    private var read: [String: Int] = [:]

    init(_ yaml: String, startTime: Int64 = 1_000_000) throws {
        var catalog: [String: PipelineResource] = [:]
        for case .pipeline(let pipeline) in try Resource.load(yaml: yaml, file: "test.yaml") { catalog[pipeline.name.value] = pipeline }
        pipelines = try catalog.values.map { try Pipeline($0, catalog: catalog) }
        driver = try TopologyTestDriver(PipelineCompiler(topics: topics).topology(pipelines), startTime: startTime)
    }

    /// A client's request to `pipeline`, keyed `key`.
    func request(_ pipeline: String, key: String, _ tensors: [InferenceTensor], headers: [KafkaHeader] = [], timestamp: Int64? = nil) async throws {
        try await driver.pipe(KafkaProducerRecord(
            topic: topics.pipelineInputs(pipeline),
            key: Array(key.utf8),
            value: try InferenceRequest(id: key, inputs: tensors).serializedBytes(),
            headers: [KafkaHeader(key: "pipeline", value: pipeline)] + headers,
            timestamp: timestamp ?? driver.clock.now()
        ))
    }

    /// The records written to `topic` since the last call for it.
    func unread(_ topic: String) -> [KafkaConsumerRecord] {
        let records = driver.records(in: topic)
        defer { read[topic] = records.count }
        return Array(records.dropFirst(read[topic] ?? 0))
    }

    /// The requests that reached `model` since the last look.
    func requests(to model: String) throws -> [(key: String, request: InferenceRequest, headers: [KafkaHeader])] {
        try unread(topics.modelInputs(model)).map { record in
            (String(decoding: record.key ?? [], as: UTF8.self), try InferenceRequest(serializedBytes: record.value ?? []), record.headers)
        }
    }

    /// Answers every waiting request of the given models, as long as new ones appear; returns how many calls each
    /// model served.
    @discardableResult
    func serve(_ models: [String: Model]) async throws -> [String: Int] {
        var calls: [String: Int] = [:]
        var progressed = true
        while progressed {
            progressed = false
            for (name, model) in models.sorted(by: { $0.key < $1.key }) {
                for (key, request, headers) in try requests(to: name) {
                    progressed = true
                    calls[name, default: 0] += 1
                    try await answer(name, key: key, try model(request), headers: headers)
                }
            }
        }
        return calls
    }

    /// What model `model` writes to its outputs topic for the request keyed `key`.
    func answer(_ model: String, key: String, _ outputs: [InferenceTensor], headers: [KafkaHeader]) async throws {
        try await driver.pipe(KafkaProducerRecord(
            topic: topics.modelOutputs(model),
            key: Array(key.utf8),
            value: try InferenceResponse(modelName: model, id: key, outputs: outputs).serializedBytes(),
            headers: headers,
            timestamp: driver.clock.now()
        ))
    }

    /// What a model gateway writes to the errors topic when `model` failed the request.
    func fail(_ model: String, key: String, reason: String, headers: [KafkaHeader]) async throws {
        try await driver.pipe(KafkaProducerRecord(
            topic: topics.errors,
            key: Array(key.utf8),
            value: Array(reason.utf8),
            headers: headers + [KafkaHeader(key: "seldon-pipeline-errors", value: model)],
            timestamp: driver.clock.now()
        ))
    }

    /// A pipeline's outputs since the last look: responses, and error records (header `seldon-pipeline-errors`).
    func outputs(_ pipeline: String) throws -> [Output] {
        try unread(topics.pipelineOutputs(pipeline)).map { record in
            let key = String(decoding: record.key ?? [], as: UTF8.self)
            if let source = record.headers.string("seldon-pipeline-errors") {
                return Output(key: key, response: nil, error: (source, String(decoding: record.value ?? [], as: UTF8.self)), headers: record.headers)
            }
            return Output(key: key, response: try InferenceResponse(serializedBytes: record.value ?? []), error: nil, headers: record.headers)
        }
    }

    struct Output {
        var key: String
        var response: InferenceResponse?
        var error: (source: String, reason: String)?
        var headers: [KafkaHeader]

        /// The output tensors by name, as Int32 or Float values.
        var tensors: [String: TensorContents] {
            Dictionary(uniqueKeysWithValues: (response?.outputs ?? []).map { ($0.name, $0.contents) })
        }
        var names: [String] { response?.outputs.map(\.name) ?? [] }
    }

    func close() async { await driver.close() }
}

/// The test models, as the MLServer runtimes under `Tests/Models` compute them.
enum TestModels {
    static func int32(_ name: String, _ values: [Int32]) -> InferenceTensor {
        InferenceTensor(name: name, shape: [1, Int64(values.count)], contents: .int32(values))
    }

    static func fp32(_ name: String, _ values: [Float]) -> InferenceTensor {
        InferenceTensor(name: name, shape: [Int64(values.count)], contents: .fp32(values))
    }

    static func int64(_ name: String, _ values: [Int64]) -> InferenceTensor {
        InferenceTensor(name: name, shape: [Int64(values.count)], contents: .int64(values))
    }

    static func input(_ request: InferenceRequest, _ name: String) throws -> InferenceTensor {
        guard let tensor = request.inputs.first(where: { $0.name == name }) else {
            throw TensorError(tensor: name, problem: "missing; the request has \(request.inputs.map(\.name))")
        }
        return tensor
    }

    /// INPUT0, INPUT1 (INT32) → OUTPUT0 = sum, OUTPUT1 = difference.
    static let sum: PipelineHarness.Model = { request in
        guard case .int32(let a) = try input(request, "INPUT0").contents, case .int32(let b) = try input(request, "INPUT1").contents else {
            throw TensorError(tensor: "INPUT0", problem: "expected INT32")
        }
        let shape = try input(request, "INPUT0").shape
        return [
            InferenceTensor(name: "OUTPUT0", shape: shape, contents: .int32(zip(a, b).map(+))),
            InferenceTensor(name: "OUTPUT1", shape: shape, contents: .int32(zip(a, b).map(-))),
        ]
    }

    /// INPUT (FP32) → OUTPUT = INPUT transformed.
    static func map(_ transform: @escaping @Sendable (Float) -> Float) -> PipelineHarness.Model {
        { request in
            let tensor = try input(request, "INPUT")
            guard case .fp32(let values) = tensor.contents else { throw TensorError(tensor: "INPUT", problem: "expected FP32") }
            return [InferenceTensor(name: "OUTPUT", shape: tensor.shape, contents: .fp32(values.map(transform)))]
        }
    }

    /// CHOICE (INT32) → INPUT copied to OUTPUT0 when CHOICE is 0, to OUTPUT1 otherwise.
    static let router: PipelineHarness.Model = { request in
        guard case .int32(let choice) = try input(request, "CHOICE").contents else { throw TensorError(tensor: "CHOICE", problem: "expected INT32") }
        var output = try input(request, "INPUT")
        output.name = choice.first == 0 ? "OUTPUT0" : "OUTPUT1"
        return [output]
    }

    /// Every input back as an output of the same name.
    static let identity: PipelineHarness.Model = { $0.inputs }
}
