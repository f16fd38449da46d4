import Testing
@testable import Dataflow

/// The Model and Server fields that placement acts on, and their errors.
struct ModelServerFieldsTests {
    @Test func quantities() {
        #expect(MemoryQuantity("100Ki")?.bytes == 102_400)
        #expect(MemoryQuantity("1.5Gi")?.bytes == 1_610_612_736)
        #expect(MemoryQuantity("500M")?.bytes == 500_000_000)
        #expect(MemoryQuantity("2048")?.bytes == 2048)
        #expect(MemoryQuantity("lots") == nil && MemoryQuantity("-1Mi") == nil)
        #expect(MemoryQuantity(bytes: 2_147_483_648).description == "2Gi")
    }

    @Test func modelAndServerFields() throws {
        let documents = try Resource.documents(yaml: """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Model
            metadata:
              name: m
            spec:
              storageUri: file:///models/m
              memory: 100Mi
              replicas: 2
              requirements: [sklearn, python]
            ---
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Server
            metadata:
              name: s
            spec:
              endpoint: http://127.0.0.1:9500
              repository: /srv/models
              capacity: 2Gi
              capabilities: [mlserver, sklearn]
              extraCapabilities: [python]
            """, file: "fields.yaml")
        guard case .model(let model) = documents[0].resource, case .server(let server) = documents[1].resource else {
            Issue.record("not a model and a server: \(documents.map(\.resource.kind))")
            return
        }
        #expect(model.storageUri?.value == "file:///models/m" && model.memory?.value.bytes == 104_857_600 && model.replicas?.value == 2)
        #expect(server.repository?.value == "/srv/models" && server.capacity?.value.description == "2Gi")
        #expect(model.requirements == ["sklearn", "python"])
        #expect(server.capabilities == ["mlserver", "sklearn", "python"], "capabilities, then extraCapabilities")
    }

    @Test(arguments: [
        ("memory: lots", "fields.yaml:6:11: spec.memory: 'lots' is not a memory quantity"),
        ("replicas: 0", "fields.yaml:6:13: spec.replicas: a model needs 1 replica or more, not 0"),
    ])
    func wrongFieldsNameLineAndField(_ line: String, _ expected: String) {
        do {
            _ = try Resource.documents(yaml: "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: m\nspec:\n  \(line)\n", file: "fields.yaml")
            Issue.record("'\(line)' was taken")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error)")
        }
    }

    @Test func explainersNameTheModelOrPipelineTheyExplain() throws {
        func explainer(_ lines: String) throws -> ModelResource.Explainer? {
            let documents = try Resource.documents(
                yaml: "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: e\nspec:\n  storageUri: ./e\n  explainer:\n\(lines)",
                file: "explainer.yaml"
            )
            guard case .model(let model) = documents[0].resource else { return nil }
            return model.explainer
        }
        let ofModel = try explainer("    type: anchor_tabular\n    modelRef: income\n")
        #expect(ofModel?.type.value == "anchor_tabular" && ofModel?.target == .model("income"))
        #expect(try explainer("    type: kernel_shap\n    pipelineRef: chain\n")?.target == .pipeline("chain"))
    }

    @Test(arguments: [
        ("  storageUri: ./e\n  explainer:\n    type: anchor_tabular\n", "explainer.yaml:8:5: spec.explainer: an explainer names what it explains: modelRef or pipelineRef"),
        ("  storageUri: ./e\n  explainer:\n    type: anchor_tabular\n    modelRef: a\n    pipelineRef: b\n", "explainer.yaml:8:5: spec.explainer: an explainer names either modelRef or pipelineRef, not both"),
        ("  storageUri: ./e\n  explainer:\n    modelRef: a\n", "explainer.yaml:8:5: spec.explainer: missing field 'type'"),
        ("  explainer:\n    type: anchor_tabular\n    modelRef: a\n", "explainer.yaml:7:11: spec.explainer.type: an explainer needs a storageUri"),
    ])
    func wrongExplainersNameLineAndField(_ lines: String, _ expected: String) {
        do {
            _ = try Resource.documents(yaml: "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: e\nspec:\n\(lines)", file: "explainer.yaml")
            Issue.record("taken: \(lines)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error)")
        }
    }
}
