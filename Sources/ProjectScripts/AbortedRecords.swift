import Foundation

/// The records of aborted transactions in some topics, read from the transaction markers in their logs by
/// `scripts/aborted-records`.
///
/// The local broker, Tansu, writes commit and abort markers but does not tell `read_committed` readers which
/// transactions were aborted, so they see aborted records as if committed. Whoever judges exactly-once against
/// it (the soak, the tests) leaves out the records this names. A Kafka cluster does that itself.
public struct AbortedRecords: Sendable {
    /// Offset ranges of aborted records, by topic and partition.
    private let ranges: [String: [Int32: [ClosedRange<Int64>]]]

    /// No aborted records.
    public static let none = AbortedRecords(ranges: [:])

    /// Reads the markers of `topics` at `bootstrap` (in the checkout's venv).
    ///
    /// - Throws: ``ScriptFailure`` when the script is not found or fails.
    public static func read(bootstrap: String, topics: [String]) async throws -> AbortedRecords {
        guard let script = ProjectScript.find("aborted-records") else {
            throw ScriptFailure(description: "scripts/aborted-records not found above \(FileManager.default.currentDirectoryPath) (or DATAFLOW_HOME)")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("aborted-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try await script.run([bootstrap, file.path] + topics)
        let decoded: [String: [String: [[Int64]]]]
        do {
            decoded = try JSONDecoder().decode([String: [String: [[Int64]]]].self, from: Data(contentsOf: file))
        } catch {
            throw ScriptFailure(description: "scripts/aborted-records wrote what is not its JSON: \(error)")
        }
        return AbortedRecords(ranges: decoded.mapValues { partitions in
            Dictionary(uniqueKeysWithValues: partitions.compactMap { partition, ranges in
                Int32(partition).map { ($0, ranges.compactMap { $0.count == 2 && $0[0] <= $0[1] ? $0[0]...$0[1] : nil }) }
            })
        })
    }

    /// Whether the record at `offset` was written in an aborted transaction.
    public func contains(topic: String, partition: Int32, offset: Int64) -> Bool {
        ranges[topic]?[partition]?.contains { $0.contains(offset) } ?? false
    }

    /// How many records were aborted, over all topics.
    public var count: Int {
        ranges.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } } }
    }
}
