import Testing
@testable import Dataflow

/// `kind: Experiment` documents as Seldon Core 2 writes them, and their mistakes.
struct ExperimentResourceTests {
    func experiment(_ spec: String) throws(ResourceErrors) -> ExperimentResource? {
        let yaml = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Experiment\nmetadata:\n  name: split\nspec:\n" + spec
        guard case .experiment(let experiment) = try Resource.load(yaml: yaml, file: "experiment.yaml").first else { return nil }
        return experiment
    }

    @Test func weightsMirrorAndType() throws {
        let parsed = try #require(try experiment("""
              default: iris
              resourceType: pipeline
              candidates:
                - name: iris
                  weight: 80
                - name: iris2
                  weight: 20
              mirror:
                name: iris3
                percent: 50
            """))
        #expect(parsed.defaultTarget?.value == "iris" && parsed.resourceType == .pipeline)
        #expect(parsed.shares.map(\.name) == ["iris", "iris2"] && parsed.shares.map(\.share) == [0.8, 0.2])
        #expect(parsed.mirror?.name.value == "iris3" && parsed.mirror?.percent.value == 50)
        let plain = try #require(try experiment("  candidates:\n    - name: a\n      weight: 1\n"))
        #expect(plain.resourceType == .model && plain.mirror == nil && plain.defaultTarget == nil)
    }

    @Test(arguments: [
        ("  candidates: []\n", "spec.candidates: an experiment needs at least one candidate"),
        ("  candidates:\n    - name: a\n      weight: -1\n", "spec.candidates[0].weight: a weight is 0 or more"),
        ("  candidates:\n    - name: a\n      weight: 0\n", "spec.candidates: at least one candidate needs a weight above 0"),
        ("  default: b\n  candidates:\n    - name: a\n      weight: 1\n", "spec.default: the default 'b' must be one of the candidates"),
        ("  resourceType: graph\n  candidates:\n    - name: a\n      weight: 1\n", "spec.resourceType: unknown resourceType 'graph'"),
        ("  candidates:\n    - name: a\n      weight: 1\n  mirror:\n    name: a\n", "spec.mirror.name: 'a' is a candidate"),
        ("  candidates:\n    - name: a\n      weight: 1\n  mirror:\n    name: m\n    percent: 120\n", "spec.mirror.percent: a percent is 0 to 100"),
    ])
    func mistakesNameTheField(_ spec: String, _ expected: String) {
        do {
            _ = try experiment(spec)
            Issue.record("accepted: \(spec)")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
    }
}

extension ExperimentResourceTests {
    @Test func aMissingSpecIsPlacedAtTheDocumentsKind() {
        do {
            _ = try Resource.load(yaml: "apiVersion: mlops.seldon.io/v1alpha1\nkind: Experiment\nmetadata: {name: e}\n", file: "e.yaml")
            Issue.record("an experiment without candidates was taken")
        } catch {
            #expect(error.description.hasPrefix("e.yaml:2:7: spec: missing field 'candidates'"), "\(error)")
        }
    }
}
