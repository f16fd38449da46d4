/// Forwards the first record of a key and drops the records of that key within `window` of one already seen.
final class DeduplicationProcessor<Key: Sendable, Value: Sendable>: Processor {
    typealias InKey = Key
    typealias InValue = Value
    typealias OutKey = Key
    typealias OutValue = Value

    private let storeName: String
    private let window: Int64
    private var context: ProcessorContext<Key, Value>!
    private var store: WindowStore<Key, [UInt8]>!

    init(storeName: String, window: Int64) {
        self.storeName = storeName
        self.window = window
    }

    func initialize(context: ProcessorContext<Key, Value>) throws {
        self.context = context
        store = try context.windowStore(named: storeName)
    }

    func process(_ record: Record<Key, Value>) async throws {
        let time = record.timestamp
        guard try store.fetch(record.key, from: time - window, to: time + window).isEmpty else { return }
        guard try await store.put(record.key, [], at: time) else {
            context.recordLateDrop(record.metadata)
            return
        }
        try await context.forward(record)
    }
}
