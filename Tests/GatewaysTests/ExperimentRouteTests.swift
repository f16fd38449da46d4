import Dataflow
import Testing
@testable import Gateways

/// Choosing an experiment's route: by weight, sticky on the route the client sends back, and the mirror's share.
struct ExperimentRouteTests {
    struct NotAnExperiment: Error {}

    func experiment(mirror: Int? = nil) throws -> ExperimentResource {
        var yaml = """
            apiVersion: mlops.seldon.io/v1alpha1
            kind: Experiment
            metadata: {name: split}
            spec:
              default: a
              candidates: [{name: a, weight: 80}, {name: b, weight: 20}]

            """
        if let mirror { yaml += "  mirror: {name: m, percent: \(mirror)}\n" }
        let resource = try Resource.load(yaml: yaml, file: "e.yaml")[0]
        guard case .experiment(let experiment) = resource else { throw NotAnExperiment() }
        return experiment
    }

    @Test func byWeight() throws {
        let split = try experiment()
        #expect(ExperimentRoute.choose(split, headers: [], draw: { 0.79 }).target == .model("a"))
        #expect(ExperimentRoute.choose(split, headers: [], draw: { 0.81 }).target == .model("b"))
        #expect(ExperimentRoute.choose(split, headers: [], draw: { 0.81 }).route == ":b:")
        #expect(ExperimentRoute.choose(split, headers: [], draw: { 0.5 }).mirror == nil)
    }

    @Test func stickyOnTheRouteSentBack() throws {
        let split = try experiment()
        #expect(ExperimentRoute.choose(split, headers: [("x-seldon-route", ":b:")], draw: { 0.1 }).target == .model("b"))
        #expect(ExperimentRoute.choose(split, headers: [("x-seldon-route", ":gone:")], draw: { 0.1 }).target == .model("a"), "an unknown route is chosen anew")
    }

    @Test func theMirrorsShare() throws {
        var draws = [0.5, 0.29].makeIterator()
        #expect(ExperimentRoute.choose(try experiment(mirror: 30), headers: [], draw: { draws.next()! }).mirror == .model("m"))
        var others = [0.5, 0.31].makeIterator()
        #expect(ExperimentRoute.choose(try experiment(mirror: 30), headers: [], draw: { others.next()! }).mirror == nil)
    }
}
