import StreamKit

/// Builds the topology of a set of pipelines, node by node (see ``PipelineCompiler``).
///
/// Node names start with the pipeline and stage (`chain/tfsimple2/join`); store names are
/// `<pipeline>.<stage>.<purpose>`, so that a pipeline deployed again with the same stage finds its state.
final class PipelineAssembly {
    private let builder = StreamsBuilder()
    private let topics: TopicNames
    private let pipelines: [Pipeline]
    /// Per pipeline, its steps that batch requests (their answers are split back).
    private let batching: [String: Set<String>]
    private var sources: [String: KStream<RequestKey, [UInt8]?>] = [:]
    private var readers: [Reader: KStream<RequestKey, TensorMessage>] = [:]
    private var failures: [String: [KStream<RequestKey, StageFailure>]] = [:]
    private var modelErrors: [String: KStream<RequestKey, [UInt8]?>] = [:]

    /// One topic as read for one pipeline.
    private struct Reader: Hashable {
        var topic: String
        var pipeline: String
    }

    /// How much later than its join window (in request time) a source of a join may still arrive and join. A
    /// join window (`joinWindowMs`) says how long a step waits on the wall clock for its sources; but after a
    /// failover or behind a backlog one source's records come long after another's, and stream time (the latest
    /// request time the task has seen) runs far ahead of the requests still waiting for their other source.
    /// Closing windows by that stream time dropped such records as late: the request was never answered.
    static let lateArrivalGrace: Duration = .seconds(300)

    init(topics: TopicNames, pipelines: [Pipeline]) {
        self.topics = topics
        self.pipelines = pipelines.sorted { $0.name < $1.name }
        var batching: [String: Set<String>] = [:]
        for pipeline in pipelines {
            batching[pipeline.name] = Set(pipeline.steps.filter { $0.batch != nil }.map(\.name))
        }
        self.batching = batching
    }

    func build() throws -> Topology {
        for pipeline in pipelines {
            for stage in pipeline.stages { add(stage) }
            readModelErrors(of: pipeline.name)
        }
        for pipeline in pipelines { writeErrors(of: pipeline.name) }
        return try builder.build()
    }

    // MARK: Reading

    private func source(_ topic: String) -> KStream<RequestKey, [UInt8]?> {
        if let stream = sources[topic] { return stream }
        let stream = builder.stream([topic], key: .rawBytes, value: .rawBytes, named: "read \(topic)")
        sources[topic] = stream
        return stream
    }

    /// The tensors of `reference`'s topic belonging to its pipeline, answers to batches split back; error
    /// records are not data and are left out.
    private func reader(_ reference: TensorReference) -> KStream<RequestKey, TensorMessage> {
        let topic = topics.topic(of: reference)
        let owner = reference.pipeline
        let key = Reader(topic: topic, pipeline: owner)
        if let stream = readers[key] { return stream }
        let name = "\(owner)/read \(topic)"
        let side = reference.side
        let culprit = reference.step ?? owner
        // A pipeline's own inputs topic is its alone: a record written there without the pipeline header (by a
        // producer of the user's) is the pipeline's too. Other topics are shared, and the header says whose.
        let ownTopic = reference.step == nil && side == .inputs
        var decoded = source(topic)
            .filter(named: "\(name)/own") { record in
                (record.headers.string(DataflowHeaders.pipeline) ?? (ownTopic ? owner : nil)) == owner
                    && record.headers.string(DataflowHeaders.error) == nil
            }
            .mapValues(named: "\(name)/decode") { bytes -> Result<TensorMessage, StageFailure> in
                do {
                    let message = try TensorMessage(bytes: bytes, side: side)
                    if ownTopic, message.tensors.isEmpty {
                        return .failure(StageFailure(source: culprit, reason: "\(topic): the request has no inputs"))
                    }
                    return .success(message)
                } catch {
                    return .failure(StageFailure(source: culprit, reason: "\(topic): \(error)"))
                }
            }
        if let step = reference.step, side == .outputs, batching[owner]?.contains(step) == true {
            decoded = decoded.process(named: "\(name)/unbatch", stores: [Self.ledgerStore(owner, step)]) {
                Unbatcher<Result<TensorMessage, StageFailure>>(ledgerStore: Self.ledgerStore(owner, step)) { value, entry in
                    switch value {
                    case .success(let message): entry.split(message, step: step)
                    case .failure: entry.members.map { _ in value }
                    }
                }
            }
        }
        let stream = succeeded(decoded, pipeline: owner, named: name)
        readers[key] = stream
        return stream
    }

    /// The successes of `stream`; its failures become error records of `pipeline`.
    private func succeeded<V>(_ stream: KStream<RequestKey, Result<V, StageFailure>>, pipeline: String, named name: String) -> KStream<RequestKey, V> {
        let failed = stream.flatMapValues(named: "\(name)/failed") { result -> [StageFailure] in
            if case .failure(let failure) = result { [failure] } else { [] }
        }
        failures[pipeline, default: []].append(failed)
        return stream.flatMapValues(named: "\(name)/ok") { result -> [V] in
            if case .success(let value) = result { [value] } else { [] }
        }
    }

    // MARK: Stages

    private func add(_ stage: Stage) {
        let name = "\(stage.pipeline)/\(stage.name)"
        let stores = "\(stage.pipeline).\(stage.name)"
        let window = Duration.milliseconds(stage.windowMs)
        // Joins match on the key: a stage that joins checks each source's records for one, once.
        let joins = !stage.triggers.isEmpty || (stage.sources.count > 1 && stage.join != .any)
        let inputs = stage.sources.map { source in
            let selected = reader(source.reference).flatMapValues(named: "\(name)/select \(source.reference.text(relativeTo: stage.pipeline))") { message in
                let selected = message.selecting(source.tensors) { stage.name(of: $0, from: source.reference) }
                // A source whose selected tensors are all absent does not feed the stage: conditional routing.
                return selected.tensors.isEmpty ? [] : [selected]
            }
            return joins ? keyed(selected, pipeline: stage.pipeline, named: "\(name)/key \(source.reference.text(relativeTo: stage.pipeline))") : selected
        }
        var stream = combine(inputs, stage.join, window: window, named: "\(name)/join", store: "\(stores).inputs")
        if !stage.triggers.isEmpty { stream = gate(stream, stage, window: window, named: name, stores: stores) }
        if let maxRevisits = stage.maxRevisits {
            let counted = stream.processValues(named: "\(name)/visits") { record in
                StepVisits.enter(record, step: stage.name, maxRevisits: maxRevisits)
            }
            stream = succeeded(counted, pipeline: stage.pipeline, named: "\(name)/visits")
        }
        if let batch = stage.batch {
            let open = "\(stores).batch-open"
            let ledger = Self.ledgerStore(stage.pipeline, stage.name)
            builder.addStore(BatchProcessor.openStore(open))
            builder.addStore(BatchProcessor.ledgerStore(ledger))
            stream = stream.process(named: "\(name)/batch", stores: [open, ledger]) {
                BatchProcessor(batch: batch, openStore: open, ledgerStore: ledger)
            }
        }
        write(stream, stage, named: name)
    }

    /// Several sources of one request as one message: joined within `window` (`inner`, `outer`; the streams'
    /// records have keys), or each arrival alone (`any`).
    private func combine(
        _ streams: [KStream<RequestKey, TensorMessage>],
        _ join: JoinType,
        window: Duration,
        named name: String,
        store: String
    ) -> KStream<RequestKey, TensorMessage> {
        guard streams.count > 1 else { return streams[0] }
        switch join {
        case .any:
            return streams.dropFirst().enumerated().reduce(streams[0]) { merged, next in
                merged.merge(next.element, named: "\(name) \(next.offset + 1)")
            }
        case .inner, .outer:
            return builder.join(
                streams,
                join == .inner ? .inner : .outer,
                window: window,
                grace: Self.lateArrivalGrace,
                wallClockDeadline: window,
                named: name,
                materialized: .persistent(store),
                key: .rawBytes,
                value: TensorMessage.serde
            )
            .mapValues(named: "\(name)/tensors") { parts in TensorMessage.joining(parts.compactMap { $0 }) }
        }
    }

    /// `data` (records with keys) once its triggers are there: the triggers joined by their join type (the
    /// first of `any` only), then joined with the data, whose tensors alone go on.
    private func gate(
        _ data: KStream<RequestKey, TensorMessage>,
        _ stage: Stage,
        window: Duration,
        named name: String,
        stores: String
    ) -> KStream<RequestKey, TensorMessage> {
        let signals = stage.triggers.map { source in
            let text = source.reference.text(relativeTo: stage.pipeline)
            let present = reader(source.reference).flatMapValues(named: "\(name)/trigger \(text)") { message in
                message.selecting(source.tensors) { $0 }.tensors.isEmpty ? [] : [TensorMessage(tensors: [])]
            }
            return keyed(present, pipeline: stage.pipeline, named: "\(name)/trigger key \(text)")
        }
        var signal = combine(signals, stage.triggersJoin, window: window, named: "\(name)/triggers", store: "\(stores).triggers")
        if signals.count > 1, stage.triggersJoin == .any {
            signal = signal.deduplicate(
                within: window + Self.lateArrivalGrace, named: "\(name)/first trigger", materialized: .persistent("\(stores).first-trigger"), key: .rawBytes
            )
        }
        // A signal comes when its triggers have come (or their window expired on the wall clock), perhaps long
        // after the data in request time: the gate keeps the data as long as a late source may still arrive.
        return data.join(
            signal,
            windows: .ofTimeDifference(window, grace: Self.lateArrivalGrace),
            named: "\(name)/gate",
            materialized: .persistent("\(stores).gate"),
            key: .rawBytes,
            value: TensorMessage.serde,
            otherValue: TensorMessage.serde
        ) { data, _ in data }
    }

    /// The records of `stream` that have a key; those without one cannot be joined and become error records.
    private func keyed(_ stream: KStream<RequestKey, TensorMessage>, pipeline: String, named name: String) -> KStream<RequestKey, TensorMessage> {
        let checked = stream.processValues(named: name) { record in
            record.withValue(record.key == nil
                ? .failure(StageFailure(source: pipeline, reason: "a record without a key cannot be joined with the request's other sources"))
                : Result<TensorMessage, StageFailure>.success(record.value))
        }
        return succeeded(checked, pipeline: pipeline, named: name)
    }

    private func write(_ stream: KStream<RequestKey, TensorMessage>, _ stage: Stage, named name: String) {
        let topic = switch stage.sink {
        case .model(let model): topics.modelInputs(model)
        case .pipelineInputs: topics.pipelineInputs(stage.pipeline)
        case .pipelineOutputs: topics.pipelineOutputs(stage.pipeline)
        }
        let side = stage.sink.side
        let leavesPipeline = stage.sink == .pipelineOutputs || stage.sink == .pipelineInputs
        let encoded = stream.processValues(named: "\(name)/encode") { record in
            var headers = record.headers.setting(DataflowHeaders.pipeline, to: stage.pipeline)
            if leavesPipeline { headers = headers.removing(DataflowHeaders.internalOnly) }
            let bytes: Result<[UInt8], StageFailure>
            do {
                bytes = .success(try record.value.bytes(as: side))
            } catch {
                bytes = .failure(StageFailure(source: stage.name, reason: "cannot encode the \(side.message) for \(topic): \(error)"))
            }
            return record.withValue(bytes).withHeaders(headers)
        }
        succeeded(encoded, pipeline: stage.pipeline, named: "\(name)/encoded").to(topic, key: .rawBytes, value: .bytes, named: "\(name)/write")
    }

    // MARK: Errors

    /// The errors topic's records for `pipeline`: answers the model gateways could not get, one per request.
    private func readModelErrors(of pipeline: String) {
        var errors = source(topics.errors).filter(named: "\(pipeline)/errors") { $0.headers.string(DataflowHeaders.pipeline) == pipeline }
        for step in (batching[pipeline] ?? []).sorted() {
            let ledger = Self.ledgerStore(pipeline, step)
            errors = errors.process(named: "\(pipeline)/errors/unbatch \(step)", stores: [ledger]) {
                Unbatcher<[UInt8]?>(
                    ledgerStore: ledger,
                    applies: { $0.headers.string(DataflowHeaders.error) == step },
                    split: { value, entry in entry.members.map { _ in value } }
                )
            }
        }
        modelErrors[pipeline] = errors
    }

    /// Writes error records to `pipeline`'s outputs: the models' and the pipeline's own, each stream on its own,
    /// so that reading the shared errors topic joins the pipeline's sub-topology only where a batching step's
    /// ledger makes it (a pipeline's topics may then have another partition count than the errors topic).
    private func writeErrors(of pipeline: String) {
        if let errors = modelErrors[pipeline] { writeErrorRecords(errors, of: pipeline, named: "\(pipeline)/errors") }
        var merged: KStream<RequestKey, [UInt8]?>?
        for (index, failed) in (failures[pipeline] ?? []).enumerated() {
            let records = failed.processValues(named: "\(pipeline)/failure \(index)") { record in
                record.withValue(Array(record.value.reason.utf8) as [UInt8]?)
                    .withHeaders(record.headers.setting(DataflowHeaders.pipeline, to: pipeline).setting(DataflowHeaders.error, to: record.value.source))
            }
            merged = merged.map { $0.merge(records, named: "\(pipeline)/failures \(index)") } ?? records
        }
        if let merged { writeErrorRecords(merged, of: pipeline, named: "\(pipeline)/failures") }
    }

    private func writeErrorRecords(_ errors: KStream<RequestKey, [UInt8]?>, of pipeline: String, named name: String) {
        errors
            .processValues(named: "\(name)/clean") { $0.withHeaders($0.headers.removing(DataflowHeaders.internalOnly)) }
            .to(topics.pipelineOutputs(pipeline), key: .rawBytes, value: .rawBytes, named: "\(name)/write")
    }

    static func ledgerStore(_ pipeline: String, _ step: String) -> String { "\(pipeline).\(step).batch-ledger" }
}
