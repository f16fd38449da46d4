import Dataflow
import Testing

/// Pipelines are checked before anything runs, every reference normalised; each problem names its line and field.
@Suite struct PipelineValidationTests {
    static func resources(_ yaml: String) throws -> [String: PipelineResource] {
        var pipelines: [String: PipelineResource] = [:]
        for case .pipeline(let pipeline) in try Resource.load(yaml: yaml, file: "p.yaml") { pipelines[pipeline.name.value] = pipeline }
        return pipelines
    }

    static func pipeline(_ spec: String, name: String = "chain") -> String {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: \(name)\nspec:\n" + spec
    }

    static func problems(_ spec: String, catalog: String? = nil) throws -> [String] {
        let resource = try #require(try resources(pipeline(spec))["chain"])
        let others = try catalog.map { try resources($0) } ?? [:]
        do {
            _ = try Pipeline(resource, catalog: others)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func referencesAreNormalised() throws {
        let yaml = Self.pipeline("""
              steps:
                - name: sum
                - name: add10
                  inputs: [sum.outputs.OUTPUT0, chain.inputs.X]
                  tensorMap:
                    sum.outputs.OUTPUT0: INPUT
                - name: mul10
                  inputs: [add10]
                  triggers: [chain]
                  joinWindowMs: 250
              output:
                steps: [mul10, sum.outputs]
                tensorMap:
                  mul10.outputs.OUTPUT: RESULT
              input:
                externalInputs: [upstream.outputs.T, upstream.step.s.outputs]
            """) + "\n---\n" + Self.pipeline("  steps: [{name: s}]\n  output: {steps: [s]}\n", name: "upstream")
        let resources = try Self.resources(yaml)
        let pipeline = try Pipeline(try #require(resources["chain"]), catalog: resources)
        let texts = { (references: [TensorReference]) in references.map { $0.text(relativeTo: "chain") } }
        #expect(texts(pipeline.steps[0].inputs) == ["chain.inputs"], "a step without inputs reads the pipeline's inputs")
        #expect(texts(pipeline.steps[1].inputs) == ["sum.outputs.OUTPUT0", "chain.inputs.X"])
        #expect(pipeline.steps[1].tensorMap.map { "\($0.source.text(relativeTo: "chain"))->\($0.name)" } == ["sum.outputs.OUTPUT0->INPUT"])
        #expect(texts(pipeline.steps[2].inputs) == ["add10.outputs"])
        #expect(texts(pipeline.steps[2].triggers) == ["chain.inputs"])
        #expect(pipeline.steps[2].joinWindowMs == 250 && pipeline.steps[1].joinWindowMs == Pipeline.defaultJoinWindowMs)
        #expect(texts(pipeline.output?.sources ?? []) == ["mul10.outputs", "sum.outputs"])
        #expect(pipeline.output?.tensorMap.map(\.name) == ["RESULT"])
        #expect(pipeline.input.map { texts($0.externalInputs) } == ["upstream.outputs.T", "upstream.step.s.outputs"])
    }

    @Test func everyProblemIsReportedWithItsLineAndField() throws {
        let problems = try Self.problems("""
              steps:
                - name: sum
                - name: add10
                  inputs: [summ, sum.output, chain.outputs]
                  tensorMap:
                    sum.outputs: INPUT
                    mul10.outputs.OUTPUT: X
                - name: sum
                  joinWindowMs: 0
                  batch: {rolling: true, windowMs: 0}
              output:
                steps: [add10]
            """)
        #expect(problems == [
            "p.yaml:13:13: spec.steps[2].name: another step has this name",
            "p.yaml:9:16: spec.steps[1].inputs[0]: 'summ' is neither a step of pipeline 'chain' (steps: sum, add10, sum) nor the pipeline itself",
            "p.yaml:9:22: spec.steps[1].inputs[1]: 'output' in 'sum.output' should be inputs or outputs",
            "p.yaml:9:34: spec.steps[1].inputs[2]: a step cannot read the pipeline's own outputs",
            "p.yaml:11:22: spec.steps[1].tensorMap.sum.outputs: a tensorMap key names one tensor: 'sum.outputs.TENSOR'",
            "p.yaml:12:31: spec.steps[1].tensorMap.mul10.outputs.OUTPUT: 'mul10' is neither a step of pipeline 'chain' (steps: sum, add10, sum) nor the pipeline itself",
            "p.yaml:15:40: spec.steps[2].batch.windowMs: must be 1 or more",
            "p.yaml:13:13: spec.steps[2].name: a rolling batch needs batch.size (the number of requests it spans)",
            "p.yaml:14:21: spec.steps[2].joinWindowMs: the join window must be 1 ms or more",
        ])
    }

    @Test func tensorMapKeysMustComeFromADeclaredSource() throws {
        let found = try Self.problems("""
              steps:
                - name: a
                - name: b
                - name: c
                  inputs: [a]
                  tensorMap: {b.outputs.T: X}
              output: {steps: [c]}
            """)
        #expect(found == ["p.yaml:11:32: spec.steps[2].tensorMap.b.outputs.T: 'b.outputs.T' is not from a declared source (a.outputs)"])
    }

    @Test func cyclesNeedAllowCycles() throws {
        let cycle = """
              steps:
                - name: a
                  inputs: [chain, b]
                  inputsJoinType: any
                - name: b
                  inputs: [a]
              output: {steps: [b]}
            """
        #expect(try Self.problems(cycle) == [
            "p.yaml:7:13: spec.steps[0].name: steps form a cycle (a → b → a); set allowCycles: true and maxStepRevisits to allow it",
        ])
        #expect(try Self.problems(cycle + "\n  allowCycles: true\n  maxStepRevisits: 3\n").isEmpty)
        #expect(try Self.problems("  steps: [{name: a}]\n  output: {steps: [a]}\n  maxStepRevisits: 2\n")
            == ["p.yaml:8:20: spec.maxStepRevisits: revisits only happen in cycles; set allowCycles: true"])
    }

    @Test func aPipelineWithoutOutputRunsItsStepsAndCannotBeReadAsAWhole() throws {
        let detector = try #require(try Self.resources(Self.pipeline("  steps: [{name: drift}]\n", name: "detector"))["detector"])
        let pipeline = try Pipeline(detector)
        #expect(pipeline.output == nil)
        let reading = "  steps: [{name: a}]\n  output: {steps: [a]}\n  input:\n    externalInputs: [detector.outputs, detector.step.drift.outputs]\n"
        #expect(try Self.problems(reading, catalog: Self.pipeline("  steps: [{name: drift}]\n", name: "detector")) == [
            "p.yaml:9:22: spec.input.externalInputs[0]: pipeline 'detector' has no output (spec.output); read one of its steps: detector.step.STEP.outputs",
        ])
    }

    @Test func stepNamesAreChecked() throws {
        let resource = try #require(try Self.resources(Self.pipeline("  steps: [{name: Sum_1}]\n", name: "my-pipe"))["my-pipe"])
        let problems: [String]
        do {
            _ = try Pipeline(resource)
            problems = []
        } catch {
            problems = error.errors.map(\.description)
        }
        #expect(problems == [
            "p.yaml:6:18: spec.steps[0].name: 'Sum_1' is not a valid step (model) name: use 1–63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        ])
        #expect(throws: ResourceErrors.self, "a pipeline's own name is checked as it is read") {
            try Self.resources(Self.pipeline("  steps: [{name: a}]\n", name: "My-Pipe"))
        }
    }

    @Test func otherPipelinesMustExist() throws {
        let spec = "  steps: [{name: a}]\n  output: {steps: [a]}\n  input:\n    externalInputs: [up.outputs, other.step.x.outputs.T]\n"
        let found = try Self.problems(spec, catalog: Self.pipeline("  steps: [{name: s}]\n  output: {steps: [s]}\n", name: "other"))
        #expect(found == [
            "p.yaml:9:22: spec.input.externalInputs[0]: no pipeline 'up' is deployed or declared beside this one",
            "p.yaml:9:34: spec.input.externalInputs[1]: pipeline 'other' has no step 'x'",
        ])
    }
}
