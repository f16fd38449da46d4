import Dataflow
import Foundation
import StreamKit
import Yams

/// The settings of `dataflow serve`, from three places, each over the one before: a YAML config file
/// (`--config`, or DATAFLOW_CONFIG), `DATAFLOW_*` environment variables, then command-line flags. Keys are the
/// flags' names: `http-port` in the file, `DATAFLOW_HTTP_PORT` in the environment, `--http-port` on the command
/// line. Kafka client properties (SASL, TLS, …) are `kafka:` in the file, `DATAFLOW_KAFKA_SECURITY_PROTOCOL`
/// (for `security.protocol`) in the environment, `--kafka security.protocol=SASL_SSL` on the command line.
struct ServeSettings {
    /// Every key, with what it means (for errors that list them).
    static let keys: [String] = [
        "bootstrap", "role", "http-port", "grpc-port", "control-port", "host", "default-server", "topic-prefix", "namespace",
        "partitions", "state-dir", "instance-id", "processing-guarantee", "auth-token", "inference-auth", "local-broker",
        "insecure", "replication-factor", "topic-creation", "commit-interval-ms", "max-requests-in-flight", "max-connections", "idle-timeout", "body-timeout", "model-roots", "model-calls", "inference-url",
        "tls-cert", "tls-key", "log-format", "log-level",
    ]

    /// A setting's text and where it came from (`file.yaml:12`, `DATAFLOW_HTTP_PORT`, `--http-port`).
    struct Value {
        var text: String
        var source: String
    }

    private(set) var values: [String: Value] = [:]
    private(set) var kafka: [String: Value] = [:]
    private(set) var topicConfigs: [String: Value] = [:]

    init() {}

    /// `layer` over these settings.
    mutating func overlay(_ layer: ServeSettings) {
        values.merge(layer.values) { $1 }
        kafka.merge(layer.kafka) { $1 }
        topicConfigs.merge(layer.topicConfigs) { $1 }
    }

    mutating func set(_ key: String, _ text: String, source: String) { values[key] = Value(text: text, source: source) }

    mutating func setKafka(_ property: String, _ text: String, source: String) { kafka[property] = Value(text: text, source: source) }

    mutating func setTopicConfig(_ name: String, _ text: String, source: String) { topicConfigs[name] = Value(text: text, source: source) }

    // MARK: Sources

    /// The settings of a YAML config file: a mapping of the keys above, and `kafka:` a mapping of properties.
    static func file(_ path: String) throws(SettingsError) -> ServeSettings {
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingsError("\(path): cannot be read") }
        let text = String(decoding: data, as: UTF8.self)
        let beyond = { (error: YAMLLimits.Violation) in SettingsError("\(path):\(error.line):\(error.column): \(error.problem)") }
        let root: Node?
        do throws(YAMLLimits.Violation) { try YAMLLimits.standard.checkNesting(text) } catch { throw beyond(error) }
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError("\(path): not YAML: \(error)")
        }
        do throws(YAMLLimits.Violation) { try YAMLLimits.standard.checkSize(root.map { [$0] } ?? []) } catch { throw beyond(error) }
        var settings = ServeSettings()
        guard let root else { return settings }
        guard let mapping = root.mapping else { throw SettingsError("\(path):\(line(root)): expected a mapping of settings") }
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let source = "\(path):\(line(keyNode))"
            if key == "kafka" || key == "topic-configs" {
                guard let properties = valueNode.mapping else { throw SettingsError("\(source): '\(key)' must map names to values") }
                for (property, value) in properties {
                    guard let text = value.string else { throw SettingsError("\(path):\(line(value)): \(key) '\(property.string ?? "")' needs a plain value") }
                    if key == "kafka" {
                        settings.setKafka(property.string ?? "", text, source: "\(path):\(line(property))")
                    } else {
                        settings.setTopicConfig(property.string ?? "", text, source: "\(path):\(line(property))")
                    }
                }
                continue
            }
            let name = key == "roles" ? "role" : key
            guard keys.contains(name) else { throw SettingsError("\(source): unknown setting '\(key)'; known: \(keys.joined(separator: ", ")), kafka, topic-configs") }
            if let list = valueNode.sequence {
                guard name == "role" else { throw SettingsError("\(source): '\(key)' takes one value, not a list") }
                settings.set(name, list.compactMap(\.string).joined(separator: ","), source: source)
            } else if let text = valueNode.string {
                settings.set(name, text, source: source)
            } else {
                throw SettingsError("\(source): '\(key)' needs a plain value")
            }
        }
        return settings
    }

    /// The `DATAFLOW_*` variables of `environment`.
    static func environment(_ environment: [String: String]) -> ServeSettings {
        var settings = ServeSettings()
        for key in keys {
            let variable = "DATAFLOW_" + key.uppercased().replacingOccurrences(of: "-", with: "_")
            if let text = environment[variable] { settings.set(key, text, source: variable) }
        }
        if let roles = environment["DATAFLOW_ROLES"] { settings.set("role", roles, source: "DATAFLOW_ROLES") }
        for (variable, text) in environment where variable.hasPrefix("DATAFLOW_KAFKA_") {
            let property = variable.dropFirst("DATAFLOW_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            settings.setKafka(property, text, source: variable)
        }
        for (variable, text) in environment where variable.hasPrefix("DATAFLOW_TOPIC_CONFIG_") {
            let name = variable.dropFirst("DATAFLOW_TOPIC_CONFIG_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            settings.setTopicConfig(name, text, source: variable)
        }
        return settings
    }

    private static func line(_ node: Node) -> Int { (node.mark?.line ?? 0) }

    // MARK: Typed values

    func string(_ key: String) -> String? { values[key]?.text }

    func int(_ key: String) throws(SettingsError) -> Int? {
        guard let value = values[key] else { return nil }
        guard let number = Int(value.text), number >= 0 else { throw SettingsError("\(value.source): '\(key)' must be a whole number, not '\(value.text)'") }
        return number
    }

    /// ``int(_:)``, which must be 1 or more.
    func positiveInt(_ key: String) throws(SettingsError) -> Int? {
        guard let number = try int(key) else { return nil }
        guard number > 0 else { throw SettingsError("\(source(key)): '\(key)' must be 1 or more") }
        return number
    }

    func bool(_ key: String) throws(SettingsError) -> Bool? {
        guard let value = values[key] else { return nil }
        switch value.text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw SettingsError("\(value.source): '\(key)' must be true or false, not '\(value.text)'")
        }
    }

    /// A comma-separated list.
    func list(_ key: String) -> [String]? {
        values[key].map { $0.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// Where `key` was set, for errors.
    func source(_ key: String) -> String { values[key]?.source ?? "--\(key)" }

    var kafkaProperties: [String: String] { kafka.mapValues(\.text) }

    /// How topics are created: `topic-creation` (admin or broker), `replication-factor` (-1: the broker's
    /// default) and `topic-configs`.
    func topicCreation() throws(SettingsError) -> KafkaTopicCreation {
        var creation = KafkaTopicCreation(configs: topicConfigs.mapValues(\.text))
        if let value = values["topic-creation"] {
            guard let mode = KafkaTopicCreation.Mode(rawValue: value.text) else {
                throw SettingsError("\(value.source): 'topic-creation' is admin (CreateTopics requests) or broker (the broker creates topics when first named), not '\(value.text)'")
            }
            creation.mode = mode
        }
        if let value = values["replication-factor"] {
            guard let factor = Int32(value.text), factor >= 1 || factor == -1 else {
                throw SettingsError("\(value.source): 'replication-factor' must be 1 or more, or -1 for the broker's default, not '\(value.text)'")
            }
            creation.replicationFactor = factor
        }
        return creation
    }
}

/// A setting that cannot be used; the text names where it was set.
struct SettingsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
