import Foundation

/// OIP protobuf's typed contents: BOOL in `bool_contents`, INT8–INT32 in `int_contents`, INT64 in
/// `int64_contents`, UINT8–UINT32 in `uint_contents`, UINT64 in `uint64_contents`, FP32 and FP64 in theirs, BYTES in
/// `bytes_contents`. FP16 has no typed field and travels only as raw contents.
extension TensorContents {
    /// Whether the typed contents field can carry this datatype.
    static func hasTypedField(_ datatype: Datatype) -> Bool { datatype != .fp16 }

    var protobuf: Inference_InferTensorContents {
        var contents = Inference_InferTensorContents()
        switch self {
        case .bool(let v): contents.boolContents = v
        case .uint8(let v): contents.uintContents = v.map(UInt32.init)
        case .uint16(let v): contents.uintContents = v.map(UInt32.init)
        case .uint32(let v): contents.uintContents = v
        case .uint64(let v): contents.uint64Contents = v
        case .int8(let v): contents.intContents = v.map(Int32.init)
        case .int16(let v): contents.intContents = v.map(Int32.init)
        case .int32(let v): contents.intContents = v
        case .int64(let v): contents.int64Contents = v
        case .fp16: preconditionFailure("FP16 has no typed contents field; use raw contents")
        case .fp32(let v): contents.fp32Contents = v
        case .fp64(let v): contents.fp64Contents = v
        case .bytes(let v): contents.bytesContents = v.map { Data($0) }
        }
        return contents
    }

    init(protobuf contents: Inference_InferTensorContents, datatype: Datatype, tensor: String) throws(TensorError) {
        let fields: [(name: String, count: Int)] = [
            ("bool_contents", contents.boolContents.count), ("int_contents", contents.intContents.count),
            ("int64_contents", contents.int64Contents.count), ("uint_contents", contents.uintContents.count),
            ("uint64_contents", contents.uint64Contents.count), ("fp32_contents", contents.fp32Contents.count),
            ("fp64_contents", contents.fp64Contents.count), ("bytes_contents", contents.bytesContents.count),
        ]
        let expected: String? = switch datatype {
        case .bool: "bool_contents"
        case .int8, .int16, .int32: "int_contents"
        case .int64: "int64_contents"
        case .uint8, .uint16, .uint32: "uint_contents"
        case .uint64: "uint64_contents"
        case .fp32: "fp32_contents"
        case .fp64: "fp64_contents"
        case .bytes: "bytes_contents"
        case .fp16: nil
        }
        if let misplaced = fields.first(where: { $0.count > 0 && $0.name != expected }) {
            throw TensorError(
                tensor: tensor,
                problem: "datatype \(datatype) but its contents are in \(misplaced.name) (\(misplaced.count) values)"
                    + (expected.map { "; expected \($0)" } ?? "; FP16 travels only as raw contents")
            )
        }
        func narrow<Wide: BinaryInteger, T: FixedWidthInteger>(_ values: [Wide], _: T.Type) throws(TensorError) -> [T] {
            var result: [T] = []
            result.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                guard let narrowed = T(exactly: value) else {
                    throw TensorError(tensor: tensor, problem: "datatype \(datatype) cannot hold element \(index), \(value), which is out of its range")
                }
                result.append(narrowed)
            }
            return result
        }
        switch datatype {
        case .bool: self = .bool(contents.boolContents)
        case .uint8: self = .uint8(try narrow(contents.uintContents, UInt8.self))
        case .uint16: self = .uint16(try narrow(contents.uintContents, UInt16.self))
        case .uint32: self = .uint32(contents.uintContents)
        case .uint64: self = .uint64(contents.uint64Contents)
        case .int8: self = .int8(try narrow(contents.intContents, Int8.self))
        case .int16: self = .int16(try narrow(contents.intContents, Int16.self))
        case .int32: self = .int32(contents.intContents)
        case .int64: self = .int64(contents.int64Contents)
        case .fp16: self = .fp16(bits: [])
        case .fp32: self = .fp32(contents.fp32Contents)
        case .fp64: self = .fp64(contents.fp64Contents)
        case .bytes: self = .bytes(contents.bytesContents.map { Array($0) })
        }
    }
}

extension InferenceParameter {
    var protobuf: Inference_InferParameter {
        var parameter = Inference_InferParameter()
        switch self {
        case .bool(let v): parameter.boolParam = v
        case .int64(let v): parameter.int64Param = v
        case .uint64(let v): parameter.uint64Param = v
        case .double(let v): parameter.doubleParam = v
        case .string(let v): parameter.stringParam = v
        }
        return parameter
    }

    init(protobuf parameter: Inference_InferParameter) {
        switch parameter.parameterChoice {
        case .boolParam(let v): self = .bool(v)
        case .int64Param(let v): self = .int64(v)
        case .uint64Param(let v): self = .uint64(v)
        case .doubleParam(let v): self = .double(v)
        case .stringParam(let v): self = .string(v)
        case nil: self = .string("")
        }
    }
}

extension Dictionary where Key == String, Value == InferenceParameter {
    var protobuf: [String: Inference_InferParameter] { mapValues(\.protobuf) }

    init(protobuf parameters: [String: Inference_InferParameter]) { self = parameters.mapValues(InferenceParameter.init(protobuf:)) }
}
