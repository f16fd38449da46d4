import SwiftProtobuf

extension Serde where Value: SwiftProtobuf.Message {
    /// The protobuf binary encoding; unknown fields are kept, so records pass through newer schemas intact.
    public static func protobuf(_ type: Value.Type = Value.self) -> Serde<Value> {
        Serde(
            name: "protobuf(\(Value.protoMessageName))",
            serialize: { message in try message.serializedBytes() },
            deserializePresent: { bytes in
                do {
                    return try Value(serializedBytes: bytes)
                } catch {
                    throw SerdeError(serde: "protobuf(\(Value.protoMessageName))", reason: "\(error)")
                }
            }
        )
    }
}
