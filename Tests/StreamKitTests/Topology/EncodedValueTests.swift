import StreamKit
import StreamKitTesting
import Testing

/// A value still as its source read it is written by the same serde as the bytes it was read from (no second
/// encoding); a value changed since, or a serde other than the source's, encodes it again.
@Suite struct EncodedValueTests {
    struct Count: Codable, Sendable, Equatable { var n: Int }

    static let spaced = Array(#"{ "n" : 1 }"#.utf8)

    @Test func anUnchangedValueGoesOutAsTheBytesItWasReadFromAndAChangedOneIsEncodedAgain() async throws {
        let builder = StreamsBuilder()
        let serde = Serde<Count>.json()
        let counts = builder.stream("in", key: .string, value: serde)
        counts.filter { _ in true }.to("same")
        counts.mapValues { Count(n: $0.n + 1) }.to("changed", key: .string, value: serde)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("in", key: .string, value: .bytes).pipe(key: "a", value: Self.spaced)
        #expect(try driver.outputTopic("same", key: .string, value: .bytes).readValues() == [Self.spaced])
        #expect(try driver.outputTopic("changed", key: .string, value: .bytes).readValues() == [Array(#"{"n":2}"#.utf8)])
    }

    /// The left value reaches the join changed, with the source's serde given for the store: the stored record
    /// must be the changed value (it is read back from the store when the right record comes).
    @Test func aJoinStoresTheChangedValueNotTheBytesItWasReadFrom() async throws {
        let builder = StreamsBuilder()
        let serde = Serde<Count>.json()
        let left = builder.stream("left", key: .string, value: serde).mapValues { Count(n: $0.n * 10) }
        let right = builder.stream("right", key: .string, value: serde)
        left.join(right, windows: .ofTimeDifference(.seconds(1)), value: serde) { l, r in "\(l.n)+\(r.n)" }
            .to("joined", key: .string, value: .string)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("left", key: .string, value: .bytes).pipe(key: "a", value: Self.spaced, timestamp: 0)
        try await driver.inputTopic("right", key: .string, value: .bytes).pipe(key: "a", value: Array(#"{"n":2}"#.utf8), timestamp: 10)
        #expect(try driver.outputTopic("joined", key: .string, value: .string).readValues() == ["10+2"])
    }

    /// A store serde other than the source's cannot take the source's bytes: the value is encoded with it.
    @Test func aJoinWithAnotherStoreSerdeEncodesTheValueWithIt() async throws {
        let builder = StreamsBuilder()
        let source = Serde<Count>.json()
        let decimal = Serde<Count>(
            name: "decimal",
            serialize: { Array(String($0.n).utf8) },
            deserializePresent: { bytes in
                guard let n = Int(String(decoding: bytes, as: UTF8.self)) else { throw SerdeError(serde: "decimal", reason: "not a number") }
                return Count(n: n)
            }
        )
        let left = builder.stream("left", key: .string, value: source)
        let right = builder.stream("right", key: .string, value: source)
        left.join(right, windows: .ofTimeDifference(.seconds(1)), value: decimal, otherValue: decimal) { l, r in "\(l.n)+\(r.n)" }
            .to("joined", key: .string, value: .string)
        let driver = try TopologyTestDriver(builder.build())
        try await driver.inputTopic("left", key: .string, value: .bytes).pipe(key: "a", value: Self.spaced, timestamp: 0)
        try await driver.inputTopic("right", key: .string, value: .bytes).pipe(key: "a", value: Array(#"{"n":2}"#.utf8), timestamp: 10)
        try await driver.inputTopic("left", key: .string, value: .bytes).pipe(key: "a", value: Array(#"{"n":3}"#.utf8), timestamp: 20)
        #expect(try driver.outputTopic("joined", key: .string, value: .string).readValues() == ["1+2", "3+2"])
    }
}
