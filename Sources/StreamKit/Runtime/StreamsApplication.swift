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
    private enum Host: Sendable {
        /// One unnamed topology, in the group named by the application id.
        case single(TopologyRuntime)
        /// Named topologies, each in a group of its own.
        case named(StreamsRuntime)
    }

    private let host: Host
    private let holder = ApplicationStateHolder()

    public init(topology: Topology, configuration: StreamsConfiguration, logger: Logger) {
        host = .single(TopologyRuntime(name: "", topology: topology, configuration: configuration, logger: logger, state: holder))
    }

    /// An application of named topologies, given later with ``addTopology(_:named:)`` and added, replaced and
    /// removed while it runs (Kafka Streams' named topologies): a host of many small topologies, such as
    /// pipelines deployed and removed one by one.
    ///
    /// Each topology has its own consumer group (`<applicationID>-<name>`), tasks (`<name>__0_1`), internal
    /// topics and state directories, so a change to one starts and stops only its own tasks, co-partitioning is
    /// checked per topology, and no change to one pauses another. Under at-least-once they share one producer.
    public init(configuration: StreamsConfiguration, logger: Logger) {
        host = .named(StreamsRuntime(configuration: configuration, logger: logger, state: holder))
    }

    /// Adds topology `name`, or replaces the topology of that name, while the application runs (or before).
    ///
    /// Its topics are prepared first (a failure there throws and leaves everything as it was). A new topology
    /// then joins its group and starts its tasks; ``status(ofTopology:)`` says when they all run. A replaced one
    /// swaps its tasks between two rounds of processing: they commit and close cleanly, and the new topology's
    /// tasks start on the same partitions from the committed offsets, finding the state of stores kept under the
    /// same name. Other topologies go on undisturbed.
    ///
    /// - Throws: what preparing the topics found (missing or not co-partitioned sources); that the application
    ///   stopped; a ``TopologyError`` for an application made with a single topology.
    public func addTopology(_ topology: Topology, named name: String) async throws {
        guard case .named(let runtime) = host else {
            throw TopologyError(node: name, reason: "this application runs a single topology; create it with init(configuration:logger:) to add named ones")
        }
        try await runtime.add(topology, named: name)
    }

    /// Removes topology `name`: its tasks commit, close, and its consumer leaves its group. Its topics, stores
    /// and committed offsets stay, so adding it again goes on where it stopped.
    public func removeTopology(named name: String) async {
        guard case .named(let runtime) = host else { return }
        await runtime.remove(named: name)
    }

    /// Where topology `name` is in this instance; `nil` when the application has no topology of that name. An
    /// application made with a single topology reports it under the empty name.
    public func status(ofTopology name: String) async -> TopologyStatus? {
        switch host {
        case .single(let runtime): name.isEmpty ? runtime.status : nil
        case .named(let runtime): await runtime.status(of: name)
        }
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
    ///   ``TaskFailure`` under ``StreamsConfiguration/TaskFailurePolicy/stopApplication``, a ``KafkaError``. An
    ///   application of named topologies stops only the failing topology and throws only what stops it whole.
    public func run() async throws {
        let host = self.host
        try await withGracefulShutdownHandler {
            switch host {
            case .single(let runtime): try await runtime.run()
            case .named(let runtime): try await runtime.run()
            }
        } onGracefulShutdown: {
            Task { await Self.requestStop(host) }
        }
    }

    /// Asks a running application to stop as on graceful shutdown; `run()` returns once it has left the group.
    public func shutdown() {
        let host = self.host
        Task { await Self.requestStop(host) }
    }

    private static func requestStop(_ host: Host) async {
        switch host {
        case .single(let runtime): await runtime.requestStop()
        case .named(let runtime): await runtime.requestStop()
        }
    }
}
