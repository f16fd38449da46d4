import Dataflow
import Testing

/// Multi-document Pipeline, Model and Server YAML in Seldon Core 2's format: what is read, what is kept, and
/// errors that name the file, line and field.
@Suite struct ResourceParsingTests {
    static let sample = """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata:
          name: mlserver
        spec:
          endpoints: [http://127.0.0.1:8080, http://127.0.0.1:8081]
          protocol: grpc
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata:
          name: sum
        spec:
          storageUri: gs://models/sum
          requirements: [sklearn]
          memory: 100Ki
          server: mlserver
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Pipeline
        metadata:
          name: chain
          namespace: seldon-mesh
        spec:
          steps:
            - name: sum
            - name: add10
              inputs: [sum.outputs.OUTPUT0]
              triggers: [chain.inputs.GO]
              inputsJoinType: outer
              triggersJoinType: any
              joinWindowMs: 500
              tensorMap:
                sum.outputs.OUTPUT0: INPUT
              batch:
                size: 4
                windowMs: 50
                rolling: true
          output:
            steps: [add10, sum]
            stepsJoin: any
          input:
            externalInputs: [other.outputs]
            joinType: outer
          dataflow:
            cleanTopicsOnDelete: true
        """

    @Test func readsEveryKindAndKeepsWhatItDoesNotActOn() throws {
        let resources = try Resource.load(yaml: Self.sample, file: "sample.yaml")
        #expect(resources.map(\.kind) == ["Server", "Model", "Pipeline"])
        guard case .server(let server) = resources[0], case .model(let model) = resources[1], case .pipeline(let pipeline) = resources[2] else {
            Issue.record("kinds out of order")
            return
        }
        #expect(server.endpoints.map(\.value) == ["http://127.0.0.1:8080", "http://127.0.0.1:8081"])
        #expect(server.wireProtocol == .grpc)
        #expect(model.server?.value == "mlserver")
        #expect(model.spec["storageUri"] == .string("gs://models/sum"))
        #expect(model.spec["requirements"] == .list([.string("sklearn")]))
        #expect(model.spec["memory"] == .string("100Ki"))

        #expect(pipeline.name.value == "chain" && pipeline.namespace == "seldon-mesh")
        #expect(pipeline.name.location.description == "sample.yaml:22:9")
        #expect(pipeline.steps.map(\.name.value) == ["sum", "add10"])
        let step = pipeline.steps[1]
        #expect(step.inputs.map(\.value) == ["sum.outputs.OUTPUT0"])
        #expect(step.inputs[0].field == "spec.steps[1].inputs[0]")
        #expect(step.inputs[0].location.line == 28)
        #expect(step.triggers.map(\.value) == ["chain.inputs.GO"])
        #expect(step.inputsJoinType == .outer && step.triggersJoinType == .any)
        #expect(step.joinWindowMs?.value == 500)
        #expect(step.tensorMap.map { "\($0.source.value)->\($0.name)" } == ["sum.outputs.OUTPUT0->INPUT"])
        #expect(step.batch?.rolling == true)
        #expect(step.batch?.size?.value == 4 && step.batch?.windowMs?.value == 50)
        #expect(pipeline.steps[0].inputs.isEmpty && pipeline.steps[0].inputsJoinType == .inner)
        #expect(pipeline.output?.steps.map(\.value) == ["add10", "sum"])
        #expect(pipeline.output?.stepsJoin == .any)
        #expect(pipeline.input?.externalInputs.map(\.value) == ["other.outputs"])
        #expect(pipeline.input?.joinType == .outer)
        #expect(pipeline.otherSpec["dataflow"] == .map([.init(key: "cleanTopicsOnDelete", value: .bool(true))]))
    }

    static func errors(_ yaml: String) -> [String] {
        do {
            _ = try Resource.load(yaml: yaml, file: "bad.yaml")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    static func pipeline(_ steps: String) -> String {
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  steps:\n" + steps
    }

    @Test func errorsNameFileLineAndField() {
        #expect(Self.errors(Self.pipeline("    - name: a\n      inputsJoinType: left\n"))
            == ["bad.yaml:8:23: spec.steps[0].inputsJoinType: unknown join type 'left'; expected inner, outer or any"])
        #expect(Self.errors(Self.pipeline("    - name: a\n      joinWindowMs: soon\n"))
            == ["bad.yaml:8:21: spec.steps[0].joinWindowMs: expected an integer, found 'soon'"])
        #expect(Self.errors(Self.pipeline("    - name: a\n      input: [b]\n")).first?.hasPrefix("bad.yaml:8:14: spec.steps[0].input: unknown field; expected one of batch, inputs,") == true)
        #expect(Self.errors(Self.pipeline("    - inputs: [b]\n")) == ["bad.yaml:7:7: spec.steps[0]: missing field 'name'"])
        #expect(Self.errors(Self.pipeline("    - name: a\n      batch: {size: many}\n")) == ["bad.yaml:8:21: spec.steps[0].batch.size: expected an integer, found 'many'"])
    }

    @Test func documentErrorsAreCollectedAcrossDocuments() {
        let yaml = """
            apiVersion: v1
            kind: Pipeline
            metadata: {name: a}
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Ingress
            metadata: {name: b}
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata: {}
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Server
            metadata: {name: s}
            spec: {endpoint: "127.0.0.1:8080"}
            """
        #expect(Self.errors(yaml) == [
            "bad.yaml:1:13: apiVersion: unsupported apiVersion 'v1'; expected mlops.seldon.io/v1alpha1",
            "bad.yaml:6:7: kind: unknown kind 'Ingress'; expected Pipeline, Model, Server or Experiment",
            "bad.yaml:11:11: metadata: missing field 'name'",
            "bad.yaml:16:18: spec.endpoint: '127.0.0.1:8080' is not a base URL; expected http://host:port or https://host:port",
        ])
    }

    /// Names become folder names, topic names and URL path segments: only RFC 1123 labels pass.
    @Test(arguments: ["..", "../../etc", "a/b", "Iris", "my_model", "-a", "a-", "x y", String(repeating: "a", count: 64), "''"])
    func namesOutsideRFC1123AreRefusedWhereTheyAreWritten(_ name: String) {
        let yaml = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: \(name)\nspec: {storageUri: /m}\n"
        let errors = Self.errors(yaml)
        #expect(errors.count == 1 && errors[0].hasPrefix("bad.yaml:4:9: metadata.name: "), "\(errors)")
    }

    @Test func namespacesFollowTheSameRule() {
        let yaml = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: m\n  namespace: ../x\nspec: {storageUri: /m}\n"
        #expect(Self.errors(yaml).first?.hasPrefix("bad.yaml:5:14: metadata.namespace: ") == true, "\(Self.errors(yaml))")
        #expect(Self.errors("apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: iris-2\nspec: {storageUri: /m}\n").isEmpty)
    }

    @Test func yamlThatDoesNotParseSaysWhere() {
        let messages = Self.errors("apiVersion: mlops.seldon.io/v1alpha1\nkind: [Pipeline\nmetadata: {name: a}\n")
        #expect(messages.count == 1)
        #expect(messages.first?.hasPrefix("bad.yaml:3:") == true, "\(messages)")
        #expect(messages.first?.contains("not valid YAML") == true, "\(messages)")
    }
}
