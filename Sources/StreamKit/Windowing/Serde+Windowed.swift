extension Serde {
    /// A windowed key as the key's bytes followed by the window's start and end (8 bytes each, big-endian).
    public static func windowed<Key>(_ key: Serde<Key>) -> Serde<Windowed<Key>> where Value == Windowed<Key> {
        Serde<Windowed<Key>>(
            name: "windowed(\(key.name))",
            serialize: { windowed in
                var bytes = try key.storeKey(windowed.key, store: "windowed key")
                withUnsafeBytes(of: windowed.window.start.bigEndian) { bytes += $0 }
                withUnsafeBytes(of: windowed.window.end.bigEndian) { bytes += $0 }
                return bytes
            },
            deserializePresent: { bytes in
                guard bytes.count >= 16 else {
                    throw SerdeError(serde: "windowed(\(key.name))", reason: "\(bytes.count) bytes is too short for a window")
                }
                let split = bytes.count - 16
                let start = bytes[split..<(split + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
                let end = bytes[(split + 8)...].reduce(Int64(0)) { $0 << 8 | Int64($1) }
                return Windowed(key: try key.deserialize(Array(bytes[..<split])), window: Window(start: start, end: end))
            }
        )
    }
}
