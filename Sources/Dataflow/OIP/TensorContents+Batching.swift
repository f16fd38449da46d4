extension TensorContents {
    /// The elements at `range` (row-major positions).
    func slice(_ range: Range<Int>) -> TensorContents {
        switch self {
        case .bool(let v): .bool(Array(v[range]))
        case .uint8(let v): .uint8(Array(v[range]))
        case .uint16(let v): .uint16(Array(v[range]))
        case .uint32(let v): .uint32(Array(v[range]))
        case .uint64(let v): .uint64(Array(v[range]))
        case .int8(let v): .int8(Array(v[range]))
        case .int16(let v): .int16(Array(v[range]))
        case .int32(let v): .int32(Array(v[range]))
        case .int64(let v): .int64(Array(v[range]))
        case .fp16(let v): .fp16(bits: Array(v[range]))
        case .fp32(let v): .fp32(Array(v[range]))
        case .fp64(let v): .fp64(Array(v[range]))
        case .bytes(let v): .bytes(Array(v[range]))
        }
    }

    /// `self` followed by `other`'s elements, or `nil` when their datatypes differ.
    func appending(_ other: TensorContents) -> TensorContents? {
        switch (self, other) {
        case (.bool(let a), .bool(let b)): .bool(a + b)
        case (.uint8(let a), .uint8(let b)): .uint8(a + b)
        case (.uint16(let a), .uint16(let b)): .uint16(a + b)
        case (.uint32(let a), .uint32(let b)): .uint32(a + b)
        case (.uint64(let a), .uint64(let b)): .uint64(a + b)
        case (.int8(let a), .int8(let b)): .int8(a + b)
        case (.int16(let a), .int16(let b)): .int16(a + b)
        case (.int32(let a), .int32(let b)): .int32(a + b)
        case (.int64(let a), .int64(let b)): .int64(a + b)
        case (.fp16(let a), .fp16(let b)): .fp16(bits: a + b)
        case (.fp32(let a), .fp32(let b)): .fp32(a + b)
        case (.fp64(let a), .fp64(let b)): .fp64(a + b)
        case (.bytes(let a), .bytes(let b)): .bytes(a + b)
        default: nil
        }
    }
}

extension InferenceTensor {
    /// Rows along the first dimension (1 for a scalar).
    var rows: Int64 { shape.first ?? 1 }

    /// Rows `rows` of this tensor.
    func rows(_ rows: Range<Int64>) -> InferenceTensor {
        let perRow = Int(shape.dropFirst().reduce(1, *))
        var copy = self
        copy.shape[0] = Int64(rows.count)
        copy.contents = contents.slice(Int(rows.lowerBound) * perRow..<Int(rows.upperBound) * perRow)
        return copy
    }
}
