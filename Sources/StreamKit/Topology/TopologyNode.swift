/// One node of a topology as declared: a source, a processor or a sink, with its parents and stores.
package struct NodeSpec: Sendable {
    package enum Kind: Sendable {
        case source(SourceSpec)
        case processor
        case sink(SinkSpec)
    }

    package var name: String
    package var kind: Kind
    package var parents: [String]
    package var stores: [String]
    /// Creates the node's processor for one task.
    package var make: @Sendable () -> any NodeProcessor

    package var isSource: Bool {
        if case .source = kind { return true }
        return false
    }
}

/// Where a source reads and how it turns Kafka records into typed ones.
package struct SourceSpec: Sendable {
    package var topics: [TopicName]
    package var keySerde: String
    package var valueSerde: String
    package var deserialize: @Sendable (KafkaConsumerRecord) throws -> AnyRecord
}

/// Where a sink writes and how it serializes.
package struct SinkSpec: Sendable {
    package enum Target: Sendable {
        case topic(TopicName)
        case chosen(@Sendable (AnyRecord) -> String)
    }

    package var target: Target
    package var serialize: @Sendable (AnyRecord) throws -> (key: [UInt8]?, value: [UInt8]?)
}

/// A node's behaviour inside one task.
package protocol NodeProcessor: AnyObject {
    func initialize(_ context: ProcessorNodeContext) throws
    func process(_ record: AnyRecord) async throws
    func close() async
}

extension NodeProcessor {
    package func initialize(_ context: ProcessorNodeContext) throws {}
    package func close() async {}
}

/// A stateless DSL step: a function of the record and a way to forward.
package final class FunctionNode: NodeProcessor {
    package typealias Body = @Sendable (AnyRecord, ProcessorNodeContext) async throws -> Void
    private let body: Body
    private var context: ProcessorNodeContext!

    package init(_ body: @escaping Body) { self.body = body }

    package func initialize(_ context: ProcessorNodeContext) { self.context = context }
    package func process(_ record: AnyRecord) async throws { try await body(record, context) }
}

/// Forwards every record unchanged to its children (sources, merges).
package final class PassThroughNode: NodeProcessor {
    private var context: ProcessorNodeContext!

    package init() {}

    package func initialize(_ context: ProcessorNodeContext) { self.context = context }
    package func process(_ record: AnyRecord) async throws { try await context.forward(record, to: nil) }
}

/// Writes records to a topic through the task's record collector.
package final class SinkNode: NodeProcessor {
    private let spec: SinkSpec
    private var context: ProcessorNodeContext!
    private var fixedTopic: String?

    package init(_ spec: SinkSpec) { self.spec = spec }

    package func initialize(_ context: ProcessorNodeContext) {
        self.context = context
        if case .topic(let name) = spec.target { fixedTopic = name.resolved(applicationID: context.task.applicationID) }
    }

    package func process(_ record: AnyRecord) async throws {
        let task = context.task
        let topic: String
        switch spec.target {
        case .topic(let name): topic = fixedTopic ?? name.resolved(applicationID: task.applicationID)
        case .chosen(let choose): topic = choose(record)
        }
        let (key, value) = try spec.serialize(record)
        let output = KafkaProducerRecord(topic: topic, key: key, value: value, headers: record.headers, timestamp: record.timestamp)
        try await task.collector.send(output, from: record.metadata)
    }
}

/// Adapts a user ``Processor`` to the untyped graph.
package final class ProcessorAdapter<P: Processor>: NodeProcessor {
    private let processor: P

    package init(_ processor: P) { self.processor = processor }

    package func initialize(_ context: ProcessorNodeContext) throws {
        try processor.initialize(context: ProcessorContext<P.OutKey, P.OutValue>(node: context))
    }

    package func process(_ record: AnyRecord) async throws {
        try await processor.process(record.typed(P.InKey.self, P.InValue.self))
    }

    package func close() async { await processor.close() }
}
