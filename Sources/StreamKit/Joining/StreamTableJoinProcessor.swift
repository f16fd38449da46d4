/// Looks each stream record's key up in a table and forwards what the joiner makes of the pair; `nil` from the
/// joiner forwards nothing.
final class StreamTableJoinProcessor<Key: Sendable, Value: Sendable, TableValue: Sendable, Result: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value
    typealias OutKey = Key
    typealias OutValue = Result

    private let storeName: String
    private let joiner: @Sendable (Value, TableValue?) async throws -> Result?
    private var context: ProcessorContext<Key, Result>!
    private var table: KeyValueStore<Key, TableValue>!

    init(storeName: String, joiner: @escaping @Sendable (Value, TableValue?) async throws -> Result?) {
        self.storeName = storeName
        self.joiner = joiner
    }

    func initialize(context: ProcessorContext<Key, Result>) throws {
        self.context = context
        table = try context.keyValueStore(named: storeName)
    }

    func process(_ record: Record<Key, Value>) async throws {
        guard let result = try await joiner(record.value, try table.get(record.key)) else { return }
        try await context.forward(Record(key: record.key, value: result, timestamp: record.timestamp, headers: record.headers))
    }
}
