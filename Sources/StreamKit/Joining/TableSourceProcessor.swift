/// Applies a topic's records to a table's store and forwards each change.
final class TableSourceProcessor<Key: Sendable, Value: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value?
    typealias OutKey = Key
    typealias OutValue = Value?

    private let storeName: String
    private var context: ProcessorContext<Key, Value?>!
    private var store: KeyValueStore<Key, Value>!

    init(storeName: String) { self.storeName = storeName }

    func initialize(context: ProcessorContext<Key, Value?>) throws {
        self.context = context
        store = try context.keyValueStore(named: storeName)
    }

    func process(_ record: Record<Key, Value?>) async throws {
        if let value = record.value {
            try await store.put(record.key, value)
        } else if try await store.delete(record.key) == nil {
            return
        }
        try await context.forward(record)
    }
}
