import Foundation
import Gateways

/// The id of a `dataflow serve` instance, kept across restarts: the engine's transactional ids are made from it,
/// so a restarted instance fences the open transactions of the process it replaces at once (instead of
/// `read_committed` readers waiting out the transaction timeout), and its status replaces its predecessor's.
///
/// Given with `--instance-id` (a pod name, say), or made once and kept in `<state-dir>/instance-id`.
enum InstanceIdentity {
    /// What an instance id may hold: it becomes part of Kafka client and transactional ids.
    static func validate(_ id: String) -> String? {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !id.isEmpty, id.count <= 100 else { return "an instance id has 1 to 100 characters" }
        guard id.unicodeScalars.allSatisfy(allowed.contains) else { return "an instance id has only letters, digits, '.', '_' and '-'" }
        return nil
    }

    /// The id kept in `stateDirectory`, made and stored there the first time.
    static func stored(in stateDirectory: String) throws -> String {
        let file = URL(fileURLWithPath: stateDirectory).appendingPathComponent("instance-id")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if validate(id) == nil { return id }
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let id = "\(validate(host) == nil ? host : "host")-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try (id + "\n").write(to: file, atomically: true, encoding: .utf8)
        return id
    }
}
