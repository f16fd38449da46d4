import Dataflow
import Testing

/// A request a pipeline could never answer is known from the pipeline alone, before it is sent.
@Suite struct UnanswerableRequestTests {
    static func pipeline(_ spec: String) throws -> Pipeline {
        let resources = try PipelineValidationTests.resources(PipelineValidationTests.pipeline(spec, name: "p"))
        return try Pipeline(try #require(resources["p"]), catalog: resources)
    }

    @Test func aStepNamingRequestTensorsNeedsOneOfThem() throws {
        let pipeline = try Self.pipeline("""
              steps:
                - name: add
                  inputs: [p.inputs.INPUT0, p.inputs.INPUT1]
              output: {steps: [add]}
            """)
        #expect(pipeline.unanswerableRequest(tensors: ["INPUT0", "INPUT1"]) == nil)
        #expect(pipeline.unanswerableRequest(tensors: ["INPUT1"]) == nil, "the model says what else it needs")
        let problem = try #require(pipeline.unanswerableRequest(tensors: ["x"]))
        #expect(problem.contains("step add reads p.inputs.INPUT0, p.inputs.INPUT1"), "\(problem)")
        #expect(problem.contains("its tensors: x"), "\(problem)")
    }

    @Test func aStepReadingTheWholeRequestTakesAnyTensor() throws {
        let pipeline = try Self.pipeline("  steps: [{name: m}]\n  output: {steps: [m]}\n")
        #expect(pipeline.unanswerableRequest(tensors: ["anything"]) == nil)
    }

    @Test func aStepAlsoReadingAnotherStepIsNotJudged() throws {
        let pipeline = try Self.pipeline("""
              steps:
                - name: a
                - name: b
                  inputs: [a.outputs, p.inputs.X]
              output: {steps: [b]}
            """)
        #expect(pipeline.unanswerableRequest(tensors: ["Y"]) == nil)
    }
}
