extension Serde {
    /// The bytes a store files `value` under as a key; a key must have bytes.
    func storeKey(_ value: Value, store: String) throws -> [UInt8] {
        guard let bytes = try serialize(value) else {
            throw SerdeError(serde: name, reason: "store '\(store)' cannot hold a key that serializes to nothing")
        }
        return bytes
    }
}
