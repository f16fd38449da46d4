import Dataflow

/// Where an experiment sends one request: a candidate, chosen by weight — or the one the client's
/// `x-seldon-route` header names, so that a client stays on the route it was given (sticky sessions) — and,
/// for a share of requests, a copy to the mirror.
struct ExperimentRoute: Sendable, Equatable {
    /// The header that tells the client its route, and that the client sends back to keep it.
    static let header = "x-seldon-route"

    var target: InferenceTarget
    /// The route as the header carries it: `:<candidate>:`.
    var route: String
    var mirror: InferenceTarget?

    /// The route of a request with `headers` through `experiment`; `draw` gives numbers in 0..<1.
    static func choose(_ experiment: ExperimentResource, headers: [(name: String, value: String)], draw: () -> Double = { Double.random(in: 0..<1) }) -> ExperimentRoute {
        let names = experiment.candidates.map(\.name.value)
        let asked = headers.last { $0.name == header }?.value.split(separator: ":").map(String.init).first { names.contains($0) }
        let chosen: String
        if let asked {
            chosen = asked
        } else {
            var left = draw()
            chosen = experiment.shares.first { share in
                left -= share.share
                return left < 0 && share.share > 0
            }?.name ?? experiment.shares.last { $0.share > 0 }!.name
        }
        let target = target(chosen, experiment.resourceType)
        var mirror: InferenceTarget?
        if let copy = experiment.mirror, draw() * 100 < Double(copy.percent.value) { mirror = Self.target(copy.name.value, experiment.resourceType) }
        return ExperimentRoute(target: target, route: ":\(chosen):", mirror: mirror)
    }

    private static func target(_ name: String, _ type: ExperimentResource.ResourceType) -> InferenceTarget {
        type == .pipeline ? .pipeline(name) : .model(name)
    }
}
