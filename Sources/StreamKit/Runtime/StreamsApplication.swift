import Logging
import ServiceLifecycle

/// Runs a ``Topology`` as one instance of an application: a member of the consumer group named by
/// ``StreamsConfiguration/applicationID``, processing the tasks the group assigns it.
///
/// Start as many instances (processes) as needed; partitions, and with them tasks and state, are spread over
/// them and move when one joins, leaves or dies. `run()` is the whole life of the instance and is a
/// swift-service-lifecycle `Service`: on graceful shutdown (SIGTERM in a `ServiceGroup`) it finishes in-flight
/// records, commits and leaves the group before returning.
///
/// ```swift
/// let application = StreamsApplication(topology: topology, configuration: configuration, logger: logger)
/// let group = ServiceGroup(services: [application], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class StreamsApplication: Service, Sendable {
    private let runtime: StreamsRuntime
    private let holder = ApplicationStateHolder()

    public init(topology: Topology, configuration: StreamsConfiguration, logger: Logger) {
        runtime = StreamsRuntime(topology: topology, configuration: configuration, logger: logger, state: holder)
    }

    /// An application whose topology comes later and may change while it runs (``replaceTopology(_:)``):
    /// a host of many small topologies, such as pipelines deployed and removed one by one, in one group.
    public init(configuration: StreamsConfiguration, logger: Logger) {
        runtime = StreamsRuntime(topology: .empty, replaceable: true, configuration: configuration, logger: logger, state: holder)
    }

    /// Runs `topology` in place of the current one, without leaving the group: tasks commit and close cleanly,
    /// and those of the new topology start on the same partitions from the committed offsets; stores kept
    /// under the same name keep their state. Before `run()`, it simply becomes the topology to run.
    ///
    /// - Throws: what preparing the new topology's topics found (missing or not co-partitioned sources), in
    ///   which case the current topology goes on; or why the application stopped.
    public func replaceTopology(_ topology: Topology) async throws {
        try await runtime.replaceTopology(topology)
    }

    /// The current state.
    public var state: ApplicationState { holder.current }

    /// The current state, then every change until the application stops.
    public func stateUpdates() -> AsyncStream<ApplicationState> { holder.stream() }

    /// Waits until the application reaches `state` (or stops); returns whether it reached it.
    @discardableResult
    public func waitUntil(_ state: ApplicationState) async -> Bool {
        for await current in holder.stream() where current == state { return true }
        return holder.current == state
    }

    /// Runs until graceful shutdown, cancellation, ``shutdown()`` or an unrecoverable error.
    ///
    /// - Throws: what stopped the application: a ``TopologyError`` (missing or not co-partitioned topics), a
    ///   ``TaskFailure`` under ``StreamsConfiguration/TaskFailurePolicy/stopApplication``, a ``KafkaError``.
    public func run() async throws {
        let runtime = self.runtime
        try await withGracefulShutdownHandler {
            try await runtime.run()
        } onGracefulShutdown: {
            Task { await runtime.requestStop() }
        }
    }

    /// Asks a running application to stop as on graceful shutdown; `run()` returns once it has left the group.
    public func shutdown() {
        let runtime = self.runtime
        Task { await runtime.requestStop() }
    }
}
