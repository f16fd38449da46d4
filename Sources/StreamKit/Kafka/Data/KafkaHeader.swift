/// A record header. Kafka headers are ordered and keys may repeat; a `nil` value is distinct from an empty one.
public struct KafkaHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, value: String) {
        self.key = key
        self.value = Array(value.utf8)
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header named `key`, decoded as UTF-8.
    public func string(_ key: String) -> String? {
        guard let header = last(where: { $0.key == key }), let value = header.value else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
