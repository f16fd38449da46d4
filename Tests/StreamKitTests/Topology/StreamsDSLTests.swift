import Foundation
import StreamKit
import StreamKitTesting
import Synchronization
import Testing

@Suite struct StreamsDSLTests {
    @Test func filterAndFilterNot() async throws {
        let builder = StreamsBuilder()
        let numbers = builder.stream("in", key: .string, value: Serde<Int64>.bigEndian)
        numbers.filter { $0.value % 2 == 0 }.to("even")
        numbers.filterNot { $0.value % 2 == 0 }.to("odd")
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("in", key: .string, value: Serde<Int64>.bigEndian).pipe((1...6).map { ("k\($0)", Int64($0)) })
        #expect(try driver.outputTopic("even", key: .string, value: Serde<Int64>.bigEndian).readValues() == [2, 4, 6])
        #expect(try driver.outputTopic("odd", key: .string, value: Serde<Int64>.bigEndian).readKeyValues().map(\.key) == ["k1", "k3", "k5"])
    }

    @Test func mapMapValuesAndSelectKey() async throws {
        let builder = StreamsBuilder()
        let words = builder.stream("words", key: .string, value: .string)
        words.map { record in (record.value, Int64(record.value.count)) }.to("lengths", key: .string, value: .bigEndian)
        words.mapValues { $0.uppercased() }.to("upper")
        words.selectKey { $0.value.prefix(1).lowercased() }.to("by-initial", key: .string, value: .string)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("words", key: .string, value: .string).pipe([("1", "Apple"), ("2", "kiwi")])
        let lengths = try driver.outputTopic("lengths", key: .string, value: Serde<Int64>.bigEndian).readKeyValues()
        #expect(lengths.map(\.key) == ["Apple", "kiwi"])
        #expect(lengths.map(\.value) == [5, 4])
        let upper = try driver.outputTopic("upper", key: .string, value: .string).readKeyValues()
        #expect(upper.map(\.key) == ["1", "2"])
        #expect(upper.map(\.value) == ["APPLE", "KIWI"])
        #expect(try driver.outputTopic("by-initial", key: .string, value: .string).readKeyValues().map(\.key) == ["a", "k"])
    }

    @Test func flatMapAndFlatMapValues() async throws {
        let builder = StreamsBuilder()
        let lines = builder.stream("lines", key: .string, value: .string)
        lines.flatMapValues { $0.split(separator: " ").map(String.init) }.to("words")
        lines.flatMap { record in record.value.split(separator: " ").map { (String($0), record.key) } }
            .to("inverted", key: .string, value: .string)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("lines", key: .string, value: .string).pipe(key: "doc1", value: "to be or")
        try await driver.inputTopic("lines", key: .string, value: .string).pipe(key: "doc2", value: "")
        let words = try driver.outputTopic("words", key: .string, value: .string).readKeyValues()
        #expect(words.map(\.value) == ["to", "be", "or"])
        #expect(words.allSatisfy { $0.key == "doc1" })
        let inverted = try driver.outputTopic("inverted", key: .string, value: .string).readKeyValues()
        #expect(inverted.map(\.key) == ["to", "be", "or"])
    }

    @Test func peekAndForeachSeeEveryRecordWithTheirMetadata() async throws {
        let seen = Mutex<[String]>([])
        let builder = StreamsBuilder()
        builder.stream("in", key: .string, value: .string)
            .peek { record in seen.withLock { $0.append("peek \(record.value) \(record.metadata!.offset)") } }
            .foreach { record in seen.withLock { $0.append("each \(record.value) \(record.timestamp)") } }
        let driver = try TopologyTestDriver(builder.build())
        let input = driver.inputTopic("in", key: .string, value: .string)
        try await input.pipe(key: "a", value: "x", timestamp: 100)
        try await input.pipe(key: "b", value: "y", timestamp: 200)
        #expect(seen.withLock { $0 } == ["peek x 0", "each x 100", "peek y 1", "each y 200"])
    }

    @Test func mergeCombinesStreams() async throws {
        let builder = StreamsBuilder()
        let left = builder.stream("left", key: .string, value: .string)
        let right = builder.stream("right", key: .string, value: .string)
        left.merge(right).to("both")
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("left", key: .string, value: .string).pipe(key: "1", value: "l")
        try await driver.inputTopic("right", key: .string, value: .string).pipe(key: "2", value: "r")
        try await driver.inputTopic("left", key: .string, value: .string).pipe(key: "3", value: "l2")
        #expect(try driver.outputTopic("both", key: .string, value: .string).readValues() == ["l", "r", "l2"])
    }

    @Test func splitRoutesToTheFirstMatchingBranch() async throws {
        let builder = StreamsBuilder()
        let branches = builder.stream("amounts", key: .string, value: Serde<Int64>.bigEndian)
            .split(named: "amount-")
            .branch("large") { $0.value >= 100 }
            .branch("medium") { $0.value >= 10 }
            .defaultBranch("small")
        #expect(Set(branches.keys) == ["amount-large", "amount-medium", "amount-small"])
        branches["amount-large"]!.to("large")
        branches["amount-medium"]!.to("medium")
        branches["amount-small"]!.to("small")

        let noDefault = StreamsBuilder()
        noDefault.stream("amounts", key: .string, value: Serde<Int64>.bigEndian)
            .split()
            .branch("large") { $0.value >= 100 }
            .noDefaultBranch()
            .values.first!.to("only-large")

        let driver = try TopologyTestDriver(builder.build())
        let other = try TopologyTestDriver(noDefault.build())
        for amount: Int64 in [5, 500, 50, 100, 9] {
            try await driver.inputTopic("amounts", key: .string, value: Serde<Int64>.bigEndian).pipe(key: "k", value: amount)
            try await other.inputTopic("amounts", key: .string, value: Serde<Int64>.bigEndian).pipe(key: "k", value: amount)
        }
        let serde = Serde<Int64>.bigEndian
        #expect(try driver.outputTopic("large", key: .string, value: serde).readValues() == [500, 100])
        #expect(try driver.outputTopic("medium", key: .string, value: serde).readValues() == [50])
        #expect(try driver.outputTopic("small", key: .string, value: serde).readValues() == [5, 9])
        #expect(try other.outputTopic("only-large", key: .string, value: serde).readValues() == [500, 100])
    }

    @Test func toATopicChosenPerRecordKeepsHeadersAndTimestamps() async throws {
        let builder = StreamsBuilder()
        builder.stream("events", key: .string, value: .string)
            .to(key: .string, value: .string) { "events-\($0.key)" }
        let driver = try TopologyTestDriver(builder.build())
        let input = driver.inputTopic("events", key: .string, value: .string)
        try await input.pipe(key: "eu", value: "a", timestamp: 42, headers: [KafkaHeader(key: "trace", value: "t1")])
        try await input.pipe(key: "us", value: "b", timestamp: 43)
        let eu = try driver.outputTopic("events-eu", key: .string, value: .string).readRecords()
        #expect(eu.map(\.value) == ["a"])
        #expect(eu.first?.timestamp == 42)
        #expect(eu.first?.headers.string("trace") == "t1")
        #expect(try driver.outputTopic("events-us", key: .string, value: .string).readValues() == ["b"])
    }

    @Test func repartitionGoesThroughAnInternalTopic() async throws {
        let builder = StreamsBuilder()
        builder.stream("clicks", key: .string, value: .string)
            .selectKey { $0.value }
            .repartition(named: "by-page", key: .string, value: .string)
            .to("clicks-by-page")
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 2)
        let driver = try TopologyTestDriver(topology)
        try await driver.inputTopic("clicks", key: .string, value: .string).pipe([("user1", "home"), ("user2", "cart")])
        #expect(driver.records(in: "test-driver-by-page-repartition").count == 2)
        let out = try driver.outputTopic("clicks-by-page", key: .string, value: .string).readKeyValues()
        #expect(out.map(\.key) == ["home", "cart"])
    }

    @Test func aStatefulStepAfterAKeyChangeRepartitionsByItself() async throws {
        let builder = StreamsBuilder()
        builder.addStore(Stores.inMemoryKeyValue("counts", key: .string, value: Serde<Int64>.bigEndian))
        builder.stream("clicks", key: .string, value: .string)
            .selectKey(named: "page") { $0.value }
            .mapValues { $0 }  // types unchanged: serdes stay known
            .process(named: "count", stores: ["counts"]) { CountingProcessor() }
            .to("counts-out", key: .string, value: .bigEndian)
        let topology = try builder.build()
        #expect(topology.subtopologies.count == 2)
        #expect(topology.description.contains("-repartition"))
        let driver = try TopologyTestDriver(topology)
        try await driver.inputTopic("clicks", key: .string, value: .string)
            .pipe([("u1", "home"), ("u2", "home"), ("u3", "cart")])
        let counts = try driver.outputTopic("counts-out", key: .string, value: Serde<Int64>.bigEndian).readKeyValues()
        #expect(counts.map(\.key) == ["home", "home", "cart"])
        #expect(counts.map(\.value) == [1, 2, 1])
        let store = try await driver.keyValueStore("counts", key: String.self, value: Int64.self)
        #expect(store.map(\.key) == ["cart", "home"])
        #expect(store.map(\.value) == [1, 2])
    }

    @Test func buildErrorsNameTheNode() throws {
        let duplicate = StreamsBuilder()
        _ = duplicate.stream("a", key: .string, value: .string).filter(named: "same") { _ in true }.filter(named: "same") { _ in true }
        #expect(throws: TopologyError.self) { try duplicate.build() }
        let error = #expect(throws: TopologyError.self) { try duplicate.build() }
        #expect(error?.node == "same")

        let unknownStore = StreamsBuilder()
        _ = unknownStore.stream("a", key: .string, value: .string).process(named: "p", stores: ["nope"]) { CountingPassThrough() }
        let storeError = #expect(throws: TopologyError.self) { try unknownStore.build() }
        #expect(storeError?.node == "p")
        #expect(storeError?.reason.contains("nope") == true)

        let noSerdes = StreamsBuilder()
        noSerdes.addStore(Stores.inMemoryKeyValue("s", key: .string, value: Serde<Int64>.bigEndian))
        _ = noSerdes.stream("a", key: .string, value: .string)
            .map(named: "rekey") { record in (record.value, Int64(1)) }
            .mapValues { String($0) }
            .process(named: "stateful", stores: ["s"]) { CountingPassThrough() }
        let serdeError = #expect(throws: TopologyError.self) { try noSerdes.build() }
        #expect(serdeError?.reason.contains("repartition") == true)

        let twice = StreamsBuilder()
        _ = twice.stream("a", key: .string, value: .string)
        _ = twice.stream("a", key: .string, value: .string)
        #expect(throws: TopologyError.self) { try twice.build() }
    }
}

/// Counts records per key in the store "counts" and forwards the running count.
final class CountingProcessor: Processor {
    typealias InKey = String
    typealias InValue = String
    typealias OutKey = String
    typealias OutValue = Int64

    private var context: ProcessorContext<String, Int64>!
    private var store: KeyValueStore<String, Int64>!

    func initialize(context: ProcessorContext<String, Int64>) throws {
        self.context = context
        store = try context.keyValueStore(named: "counts")
    }

    func process(_ record: Record<String, String>) async throws {
        let count = (try store.get(record.key) ?? 0) + 1
        try await store.put(record.key, count)
        try await context.forward(record.withValue(count))
    }
}

final class CountingPassThrough: Processor {
    typealias InKey = String
    typealias InValue = String
    typealias OutKey = String
    typealias OutValue = String
    func process(_ record: Record<String, String>) async throws {}
}
