import Dataflow
import Foundation
import Testing

/// Bad tensors and bad JSON are refused with a message that names the tensor (or the field) and what was found.
@Suite struct TensorValidationTests {
    static func jsonError(_ json: String) -> String {
        do {
            _ = try InferenceRequest(json: Array(json.utf8))
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    static func input(_ datatype: String, shape: String, data: String, name: String = "INPUT0") -> String {
        #"{"inputs":[{"name":"\#(name)","shape":\#(shape),"datatype":"\#(datatype)","data":\#(data)}]}"#
    }

    @Test func elementCountMustMatchTheShape() {
        #expect(Self.jsonError(Self.input("INT32", shape: "[2,2]", data: "[1,2,3]")) == "tensor 'INPUT0': shape [2, 2] needs 4 INT32 elements, found 3")
    }

    @Test func dataMustFitTheDatatype() {
        #expect(Self.jsonError(Self.input("INT32", shape: "[2]", data: "[1,1.5]")) == "tensor 'INPUT0': datatype INT32 cannot hold element 1, the number 1.5")
        #expect(Self.jsonError(Self.input("INT8", shape: "[1]", data: "[300]")) == "tensor 'INPUT0': datatype INT8 cannot hold element 0, 300, which is out of its range")
        #expect(Self.jsonError(Self.input("FP32", shape: "[1]", data: #"["a"]"#)) == #"tensor 'INPUT0': datatype FP32 cannot hold element 0, the string "a""#)
        #expect(Self.jsonError(Self.input("BOOL", shape: "[1]", data: "[1]")) == "tensor 'INPUT0': datatype BOOL cannot hold element 0, the number 1.0")
    }

    @Test func unknownDatatypesAreNamed() {
        let message = Self.jsonError(Self.input("INT33", shape: "[1]", data: "[1]"))
        #expect(message.hasPrefix("tensor 'INPUT0': unknown datatype 'INT33'; expected one of BOOL, UINT8"))
    }

    @Test func namesMustBePresentAndUnique() {
        #expect(Self.jsonError(Self.input("INT32", shape: "[1]", data: "[1]", name: "")) == "tensor 'input #0': a tensor needs a name")
        let twice = #"{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[1]},{"name":"a","shape":[1],"datatype":"INT32","data":[2]}]}"#
        #expect(Self.jsonError(twice) == "tensor 'a': two inputs have this name")
    }

    @Test func aResponseMayRepeatANameAsSeldonsPipelinesDo() throws {
        let json = #"{"outputs":[{"name":"OUTPUT","shape":[1],"datatype":"FP32","data":[10]},{"name":"OUTPUT","shape":[1],"datatype":"FP32","data":[11]}]}"#
        let response = try InferenceResponse(json: Array(json.utf8))
        #expect(response.outputs.map(\.contents) == [.fp32([10]), .fp32([11])])
        #expect(try InferenceResponse(protobuf: response.protobuf()).outputs.map(\.contents) == [.fp32([10]), .fp32([11])])
    }

    @Test func jsonStructureErrorsSayWhere() {
        #expect(Self.jsonError(#"{"inputs":[{"name":"a","datatype":"INT32","data":[1]}]}"#) == "missing field 'shape' in inputs[0]")
        #expect(Self.jsonError(#"{"inputs": }"#).hasPrefix("not valid JSON"))
        #expect(Self.jsonError(#"{"id":"x"}"#) == "missing field 'inputs'")
    }

    @Test func nestingBeyondTheDecodersDepthIsRefusedNotFollowed() {
        let deep = String(repeating: "[", count: 100_000) + "1" + String(repeating: "]", count: 100_000)
        #expect(Self.jsonError(Self.input("INT32", shape: "[1]", data: deep)).hasPrefix("not valid JSON"))
        let parameters = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(Self.jsonError(#"{"parameters":\#(parameters),"inputs":[]}"#).hasPrefix("not valid JSON"))
        #expect(Self.jsonError(Self.input("INT32", shape: "[1000000000000]", data: "[1]")).contains("needs 1000000000000 INT32 elements, found 1"))
    }

    @Test func protobufContentsMustBeInTheDatatypesField() throws {
        var message = Inference_ModelInferRequest()
        var tensor = Inference_ModelInferRequest.InferInputTensor()
        tensor.name = "x"
        tensor.datatype = "INT32"
        tensor.shape = [2]
        tensor.contents.fp32Contents = [1, 2]
        message.inputs = [tensor]
        #expect(throws: TensorError(tensor: "x", problem: "datatype INT32 but its contents are in fp32_contents (2 values); expected int_contents")) {
            try InferenceRequest(protobuf: message)
        }
        message.inputs[0].datatype = "UINT8"
        message.inputs[0].contents = Inference_InferTensorContents()
        message.inputs[0].contents.uintContents = [1, 256]
        #expect(throws: TensorError(tensor: "x", problem: "datatype UINT8 cannot hold element 1, 256, which is out of its range")) {
            try InferenceRequest(protobuf: message)
        }
    }

    @Test func rawContentsMustBeOnePerTensorAndWhole() throws {
        var message = InferenceRequest(inputs: [
            InferenceTensor(name: "a", shape: [1], contents: .int32([1])),
            InferenceTensor(name: "b", shape: [1], contents: .int32([2])),
        ]).protobuf(raw: true)
        message.rawInputContents.removeLast()
        #expect(throws: TensorError(tensor: "(inputs)", problem: "1 raw contents for 2 inputs; expected one per input or none")) {
            try InferenceRequest(protobuf: message)
        }
        message.rawInputContents = [Data([1, 0, 0]), Data([2, 0, 0, 0])]
        #expect(throws: TensorError(tensor: "a", problem: "raw contents of 3 bytes are not a whole number of 4-byte INT32 elements")) {
            try InferenceRequest(protobuf: message)
        }
    }
}
