extension String {
    /// Decodes a NUL-terminated C string that a C call wrote into `buffer` (an `errstr` out-parameter).
    init(cBuffer buffer: [CChar]) {
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
