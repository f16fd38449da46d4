/// A tensor's elements in row-major order, typed by its datatype. FP16 elements are kept as their IEEE 754
/// half-precision bit patterns, so that nothing is rounded on the way through.
public enum TensorContents: Sendable, Hashable {
    case bool([Bool])
    case uint8([UInt8]), uint16([UInt16]), uint32([UInt32]), uint64([UInt64])
    case int8([Int8]), int16([Int16]), int32([Int32]), int64([Int64])
    case fp16(bits: [UInt16]), fp32([Float]), fp64([Double])
    case bytes([[UInt8]])

    public var datatype: Datatype {
        switch self {
        case .bool: .bool
        case .uint8: .uint8
        case .uint16: .uint16
        case .uint32: .uint32
        case .uint64: .uint64
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .fp16: .fp16
        case .fp32: .fp32
        case .fp64: .fp64
        case .bytes: .bytes
        }
    }

    public var count: Int {
        switch self {
        case .bool(let v): v.count
        case .uint8(let v): v.count
        case .uint16(let v): v.count
        case .uint32(let v): v.count
        case .uint64(let v): v.count
        case .int8(let v): v.count
        case .int16(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .fp16(let v): v.count
        case .fp32(let v): v.count
        case .fp64(let v): v.count
        case .bytes(let v): v.count
        }
    }

    /// No elements of `datatype`.
    public static func empty(_ datatype: Datatype) -> TensorContents {
        switch datatype {
        case .bool: .bool([])
        case .uint8: .uint8([])
        case .uint16: .uint16([])
        case .uint32: .uint32([])
        case .uint64: .uint64([])
        case .int8: .int8([])
        case .int16: .int16([])
        case .int32: .int32([])
        case .int64: .int64([])
        case .fp16: .fp16(bits: [])
        case .fp32: .fp32([])
        case .fp64: .fp64([])
        case .bytes: .bytes([])
        }
    }

    // MARK: Raw contents (little-endian; BYTES as u32 length + bytes)

    /// The elements as OIP raw contents.
    public var raw: [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ values: [T]) {
            bytes.reserveCapacity(values.count * MemoryLayout<T>.size)
            for value in values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        }
        switch self {
        case .bool(let v): bytes = v.map { $0 ? 1 : 0 }
        case .uint8(let v): bytes = v
        case .uint16(let v): append(v)
        case .uint32(let v): append(v)
        case .uint64(let v): append(v)
        case .int8(let v): append(v)
        case .int16(let v): append(v)
        case .int32(let v): append(v)
        case .int64(let v): append(v)
        case .fp16(let v): append(v)
        case .fp32(let v): append(v.map(\.bitPattern))
        case .fp64(let v): append(v.map(\.bitPattern))
        case .bytes(let v):
            for element in v {
                append([UInt32(element.count)])
                bytes += element
            }
        }
        return bytes
    }

    /// Reads raw contents of `datatype`.
    public init(raw bytes: [UInt8], datatype: Datatype, tensor: String) throws(TensorError) {
        func read<T: FixedWidthInteger>(_: T.Type) throws(TensorError) -> [T] {
            let size = MemoryLayout<T>.size
            guard bytes.count % size == 0 else {
                throw TensorError(tensor: tensor, problem: "raw contents of \(bytes.count) bytes are not a whole number of \(size)-byte \(datatype) elements")
            }
            return stride(from: 0, to: bytes.count, by: size).map { offset in
                (0..<size).reversed().reduce(T.zero) { $0 << 8 | T(truncatingIfNeeded: bytes[offset + $1]) }
            }
        }
        switch datatype {
        case .bool:
            if let bad = bytes.firstIndex(where: { $0 > 1 }) {
                throw TensorError(tensor: tensor, problem: "raw BOOL element \(bad) is \(bytes[bad]); expected 0 or 1")
            }
            self = .bool(bytes.map { $0 == 1 })
        case .uint8: self = .uint8(bytes)
        case .uint16: self = .uint16(try read(UInt16.self))
        case .uint32: self = .uint32(try read(UInt32.self))
        case .uint64: self = .uint64(try read(UInt64.self))
        case .int8: self = .int8(try read(Int8.self))
        case .int16: self = .int16(try read(Int16.self))
        case .int32: self = .int32(try read(Int32.self))
        case .int64: self = .int64(try read(Int64.self))
        case .fp16: self = .fp16(bits: try read(UInt16.self))
        case .fp32: self = .fp32(try read(UInt32.self).map(Float.init(bitPattern:)))
        case .fp64: self = .fp64(try read(UInt64.self).map(Double.init(bitPattern:)))
        case .bytes:
            var elements: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                guard offset + 4 <= bytes.count else {
                    throw TensorError(tensor: tensor, problem: "raw BYTES element \(elements.count) is cut off in its length prefix at byte \(offset)")
                }
                let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
                offset += 4
                guard offset + length <= bytes.count else {
                    throw TensorError(tensor: tensor, problem: "raw BYTES element \(elements.count) claims \(length) bytes but \(bytes.count - offset) remain")
                }
                elements.append(Array(bytes[offset..<(offset + length)]))
                offset += length
            }
            self = .bytes(elements)
        }
    }
}
