import Foundation
import StreamKit

/// One request inside a batch: enough to give it back its own share of the model's answer.
struct BatchMember: Codable, Sendable, Hashable {
    var key: Data?
    var rows: Int64
    var timestamp: Int64
    var headers: [Header]
    /// The request's tensors while its batch is still open; dropped once the batch went to the model.
    var message: Data?
    /// Wall-clock time the request joined the batch.
    var arrival: Int64
    /// What requests must share to be stacked: tensor names, datatypes and dimensions after the first;
    /// `nil` when a tensor is a scalar, which has no first dimension to stack along.
    var stacking: [String]?

    struct Header: Codable, Sendable, Hashable {
        var key: String
        var value: Data?
    }

    var kafkaKey: [UInt8]? { key.map(Array.init) }
    var kafkaHeaders: [KafkaHeader] { headers.map { KafkaHeader(key: $0.key, value: $0.value.map(Array.init)) } }

    init(record: Record<[UInt8]?, TensorMessage>, arrival: Int64) throws {
        key = record.key.map { Data($0) }
        rows = record.value.tensors.first?.rows ?? 1
        timestamp = record.timestamp
        headers = record.headers.map { Header(key: $0.key, value: $0.value.map { Data($0) }) }
        message = Data(try record.value.bytes(as: .outputs))
        self.arrival = arrival
        let tensors = record.value.tensors
        stacking = tensors.contains { $0.shape.isEmpty } ? nil : tensors.map { tensor in
            "\(tensor.name):\(tensor.datatype):\(tensor.shape.dropFirst().map(String.init).joined(separator: "x"))"
        }
    }

    func tensors() throws -> TensorMessage {
        try TensorMessage(bytes: message.map(Array.init), side: .outputs)
    }
}

/// A batch sent to a model, remembered until its answer (or its error) comes back and is split.
struct BatchEntry: Codable, Sendable, Hashable {
    var members: [BatchMember]
    /// A rolling batch answers only its newest request, with the whole response.
    var rolling: Bool
    var created: Int64

    static let serde = Serde<BatchEntry>.json()
}
