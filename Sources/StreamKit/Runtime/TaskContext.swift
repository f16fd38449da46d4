import Logging

/// The state one task shares with its processors: clocks, stores, punctuators and where output goes.
///
/// Owned by the task's actor; processors reach it only from calls the actor makes.
package final class TaskContext {
    package let id: TaskID
    package let applicationID: String
    package let clock: any WallClock
    package let logger: Logger
    package let collector: any RecordCollector
    let metrics: TaskMetrics
    package var stores: [String: any StateStore]
    package let punctuation = PunctuationSchedule()
    /// The largest timestamp of a record this task has started processing.
    package var streamTime: Int64 = .min

    init(
        id: TaskID,
        applicationID: String,
        clock: any WallClock,
        logger: Logger,
        collector: any RecordCollector,
        metrics: TaskMetrics,
        stores: [String: any StateStore]
    ) {
        self.metrics = metrics
        self.id = id
        self.applicationID = applicationID
        self.clock = clock
        self.logger = logger
        self.collector = collector
        self.stores = stores
    }
}

/// One node's view of its task: its children and the stores connected to it.
package final class ProcessorNodeContext {
    package let name: String
    package unowned let task: TaskContext
    package var children: [RuntimeNode] = []
    private let storeNames: Set<String>

    package init(name: String, task: TaskContext, storeNames: Set<String>) {
        self.name = name
        self.task = task
        self.storeNames = storeNames
    }

    package func forward(_ record: AnyRecord, to child: String?) async throws {
        if let child {
            guard let node = children.first(where: { $0.name == child }) else {
                throw TopologyError(
                    node: name,
                    reason: "cannot forward to '\(child)': children are \(children.map(\.name))"
                )
            }
            try await node.processor.process(record)
        } else {
            for node in children { try await node.processor.process(record) }
        }
    }

    package func store(named name: String) throws -> any StateStore {
        guard storeNames.contains(name), let store = task.stores[name] else {
            throw TopologyError(
                node: self.name,
                reason: "store '\(name)' is not connected to this processor (connected: \(storeNames.sorted()))"
            )
        }
        return store
    }
}

/// A node instantiated for one task.
package final class RuntimeNode {
    package let name: String
    package let processor: any NodeProcessor
    package let context: ProcessorNodeContext

    package init(name: String, processor: any NodeProcessor, context: ProcessorNodeContext) {
        self.name = name
        self.processor = processor
        self.context = context
    }
}
