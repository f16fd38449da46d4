import Logging
import StreamKit

/// The join `join-latency` measures by default: a StreamKit windowed inner join of `left` and `right` by key,
/// writing each pair (records of the same pair number) to `joined`.
struct HarnessJoin {
    let application: StreamsApplication
    private let task: Task<Void, any Error>

    /// The join's state store; its changelog is `<application>-pairs-join-store-changelog`.
    static let storeName = "pairs-join-store"

    static func topology(left: String, right: String, joined: String, window: Duration, materialized: Materialized) throws -> Topology {
        let builder = StreamsBuilder()
        let lefts = builder.stream(left, key: .string, value: .json(PairEvent.self))
        let rights = builder.stream(right, key: .string, value: .json(PairEvent.self))
        lefts.join(rights, windows: .ofTimeDifference(window), named: "pairs", materialized: materialized) { left, right in
            // Keys repeat when there are fewer keys than pairs in a window; only a pair's own records make a pair.
            left.id == right.id ? JoinedPair(id: left.id, left_ts_ns: left.ts_ns, right_ts_ns: right.ts_ns) : nil
        }
        .filter { $0.value != nil }
        .mapValues { $0! }
        .to(joined, key: .string, value: .json(JoinedPair.self))
        return try builder.build()
    }

    /// Starts the join and returns once it runs with its partitions assigned.
    static func start(topology: Topology, configuration: StreamsConfiguration, logger: Logger) async throws -> HarnessJoin {
        let application = StreamsApplication(topology: topology, configuration: configuration, logger: logger)
        let task = Task { try await application.run() }
        guard await application.waitUntil(.running) else {
            try await task.value
            throw HarnessError("the join stopped before it ran")
        }
        return HarnessJoin(application: application, task: task)
    }

    func stop() async throws {
        application.shutdown()
        try await task.value
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
