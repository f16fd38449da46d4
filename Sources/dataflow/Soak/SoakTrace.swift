import Dataflow
import StreamKit

/// Where requests that never came back (or, under exactly-once, came back twice) were seen: every committed record of the soak's pipeline, model and error
/// topics that carries one of their keys, as `topic[partition]@offset`, in topic order. Tells a loss (seen on a
/// model's inputs, never on its outputs) from a request that never reached the engine.
struct SoakTrace {
    let reader: SoakTopics

    func sightings(of keys: Set<String>, topics: [String]) async throws -> [String: [String]] {
        var seen: [String: [String]] = [:]
        guard !keys.isEmpty else { return seen }
        for topic in topics.sorted() {
            for record in try await reader.readAll(topic, patience: .seconds(5)) {
                let key = SoakTopics.requestKey(of: record)
                guard keys.contains(key) else { continue }
                let shortName = topic.hasPrefix(reader.topics.prefix + "." + reader.topics.namespace + ".")
                    ? String(topic.dropFirst(reader.topics.prefix.count + reader.topics.namespace.count + 2)) : topic
                seen[key, default: []].append("\(shortName)[\(record.partition)]@\(record.offset)")
            }
        }
        return seen
    }
}
