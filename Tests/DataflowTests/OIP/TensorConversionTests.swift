import Dataflow
import Testing

/// Every datatype through protobuf (typed and raw contents) and OIP JSON, in every direction, losslessly; and
/// the raw layout the wire format fixes.
@Suite struct TensorConversionTests {
    static let everyDatatype: [InferenceTensor] = [
        InferenceTensor(name: "bool", shape: [3], contents: .bool([true, false, true])),
        InferenceTensor(name: "u8", shape: [2], contents: .uint8([0, .max])),
        InferenceTensor(name: "u16", shape: [2], contents: .uint16([1, .max])),
        InferenceTensor(name: "u32", shape: [2], contents: .uint32([2, .max])),
        InferenceTensor(name: "u64", shape: [2], contents: .uint64([3, .max])),
        InferenceTensor(name: "i8", shape: [2], contents: .int8([.min, .max])),
        InferenceTensor(name: "i16", shape: [2], contents: .int16([.min, .max])),
        InferenceTensor(name: "i32", shape: [1, 2], parameters: ["content_type": .string("np")], contents: .int32([.min, .max])),
        InferenceTensor(name: "i64", shape: [2], contents: .int64([.min, .max])),
        InferenceTensor(name: "f16", shape: [3], contents: .fp16(bits: [0x3C00, 0xC000, 0x7C00])),
        InferenceTensor(name: "f32", shape: [2, 2], contents: .fp32([1.1, -0.5, .infinity, .leastNonzeroMagnitude])),
        InferenceTensor(name: "f64", shape: [3], contents: .fp64([.pi, -.infinity, 1e-300])),
        InferenceTensor(name: "bytes", shape: [3], contents: .bytes([Array("hello".utf8), [], [0xFF, 0x00, 0xFE]])),
        InferenceTensor(name: "scalar", shape: [], contents: .int32([7])),
    ]

    static var request: InferenceRequest {
        InferenceRequest(
            modelName: "sum",
            id: "req-1",
            parameters: ["flag": .bool(true), "count": .int64(-3), "big": .uint64(.max), "ratio": .double(0.25), "note": .string("x")],
            inputs: everyDatatype,
            outputs: [.init(name: "OUTPUT0", parameters: ["binary_data": .bool(false)])]
        )
    }

    /// Equality that compares floating-point elements by their bits (NaN, -0).
    static func same(_ a: [InferenceTensor], _ b: [InferenceTensor]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.name == y.name && x.shape == y.shape && x.parameters == y.parameters && x.datatype == y.datatype && x.contents.raw == y.contents.raw
        }
    }

    @Test(arguments: [false, true])
    func requestsSurviveProtobuf(raw: Bool) throws {
        let bytes = try Self.request.serializedBytes(raw: raw)
        let back = try InferenceRequest(serializedBytes: bytes)
        #expect(Self.same(back.inputs, Self.request.inputs))
        #expect(back.parameters == Self.request.parameters)
        #expect(back.outputs == Self.request.outputs)
        #expect(back.id == "req-1" && back.modelName == "sum")
    }

    @Test func requestsSurviveJSONAndCrossOver() throws {
        let json = try Self.request.json()
        let fromJSON = try InferenceRequest(json: json)
        #expect(Self.same(fromJSON.inputs, Self.request.inputs))
        #expect(fromJSON.parameters == Self.request.parameters)
        // JSON → protobuf (raw) → JSON gives the same document.
        let viaProtobuf = try InferenceRequest(serializedBytes: try fromJSON.serializedBytes(raw: true))
        #expect(try viaProtobuf.json() == json)
    }

    @Test func responsesSurviveEveryPath() throws {
        let response = InferenceResponse(modelName: "m", modelVersion: "2", id: "r", outputs: Self.everyDatatype)
        for raw in [false, true] {
            #expect(Self.same(try InferenceResponse(serializedBytes: try response.serializedBytes(raw: raw)).outputs, response.outputs))
        }
        let json = try response.json()
        #expect(Self.same(try InferenceResponse(json: json).outputs, response.outputs))
        #expect(try InferenceResponse(serializedBytes: try InferenceResponse(json: json).serializedBytes()).json() == json)
    }

    @Test func rawContentsAreLittleEndianAndBytesAreLengthPrefixed() {
        #expect(TensorContents.int32([1, -2]).raw == [1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF])
        #expect(TensorContents.fp32([1]).raw == [0, 0, 0x80, 0x3F])
        #expect(TensorContents.bool([true, false]).raw == [1, 0])
        #expect(TensorContents.bytes([Array("ab".utf8), []]).raw == [2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0])
    }

    @Test func typedProtobufCarriesFP16AsRaw() {
        let message = Self.request.protobuf(raw: false)
        #expect(message.rawInputContents.count == Self.everyDatatype.count, "one FP16 tensor makes every input raw")
        let typed = InferenceRequest(inputs: [InferenceTensor(name: "x", shape: [1], contents: .int16([-5]))]).protobuf()
        #expect(typed.rawInputContents.isEmpty)
        #expect(typed.inputs[0].contents.intContents == [-5])
    }

    @Test func jsonDataMayBeNestedAndTextIsWrittenAsStrings() throws {
        let json = #"{"inputs":[{"name":"x","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]},{"name":"t","shape":[1],"datatype":"BYTES","data":["héllo"]}]}"#
        let request = try InferenceRequest(json: Array(json.utf8))
        #expect(request.inputs[0].contents == .int64([1, 2, 3, 4]))
        #expect(request.inputs[1].contents == .bytes([Array("héllo".utf8)]))
        let written = String(decoding: try request.json(), as: UTF8.self)
        #expect(written.contains(#""data":[1,2,3,4]"#))
        #expect(written.contains(#""data":["héllo"]"#))
    }
}
