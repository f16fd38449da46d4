import Foundation

/// A task's checkpoint file (`<task dir>/.checkpoint`): for each changelog partition, the offset up to which its
/// store's contents on disk are known to reflect the changelog. One line per partition:
/// `<topic> <partition> <offset>`.
package struct Checkpoint: Equatable {
    package var offsets: [TopicPartition: Int64] = [:]

    package init(offsets: [TopicPartition: Int64] = [:]) { self.offsets = offsets }

    /// The checkpoint in `file`, or an empty one when there is none.
    ///
    /// - Throws: ``StateStoreError`` naming the file and line when it cannot be read.
    package static func read(_ file: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: file) else { return Checkpoint() }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw StateStoreError(store: file, reason: "cannot read the checkpoint: \(error)")
        }
        var checkpoint = Checkpoint()
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let partition = Int32(fields[1]), let offset = Int64(fields[2]) else {
                throw StateStoreError(store: file, reason: "line \(number + 1) of the checkpoint is not '<topic> <partition> <offset>': \(line)")
            }
            checkpoint.offsets[TopicPartition(topic: String(fields[0]), partition: partition)] = offset
        }
        return checkpoint
    }

    /// Writes the checkpoint to a temporary file and renames it over `file`, so that a crash leaves the old
    /// checkpoint or the new one, never half of one.
    package func write(_ file: String) throws {
        let text = offsets.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
            .map { "\($0.key.topic) \($0.key.partition) \($0.value)\n" }
            .joined()
        let temporary = file + ".tmp"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, file) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            throw StateStoreError(store: file, reason: "cannot write the checkpoint: \(error)")
        }
    }

    package static func delete(_ file: String) {
        try? FileManager.default.removeItem(atPath: file)
    }
}
