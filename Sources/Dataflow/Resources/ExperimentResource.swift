/// A `kind: Experiment` resource (Seldon Core 2's format): requests to `default` are split between the
/// `candidates` by weight, and a `mirror` gets a copy of a share of them whose answers are recorded, never
/// returned. Over models or pipelines (`resourceType`).
public struct ExperimentResource: Sendable, Hashable {
    public enum ResourceType: String, Sendable, Hashable { case model, pipeline }

    public struct Candidate: Sendable, Hashable {
        public var name: Located<String>
        public var weight: Located<Int64>
    }

    public struct Mirror: Sendable, Hashable {
        public var name: Located<String>
        /// The share of requests copied to it, 0–100.
        public var percent: Located<Int64>
    }

    public var name: Located<String>
    public var namespace: String?
    /// The model or pipeline whose requests the experiment takes over.
    public var defaultTarget: Located<String>?
    public var resourceType: ResourceType
    public var candidates: [Candidate]
    public var mirror: Mirror?
    /// `spec` as written.
    public var spec: [String: ResourceValue]

    init(name: Located<String>, namespace: String?, spec node: YAMLNode) throws(ResourceError) {
        self.name = name
        self.namespace = namespace
        let spec = try node.mapping()
        defaultTarget = try spec["default"].map { node throws(ResourceError) in node.located(try node.string()) }
        if let typeNode = spec["resourceType"] {
            let text = try typeNode.string()
            guard let type = ResourceType(rawValue: text) else { throw typeNode.error("unknown resourceType '\(text)'; expected model or pipeline") }
            resourceType = type
        } else {
            resourceType = .model
        }
        let list = try spec.required("candidates").list()
        guard !list.isEmpty else { throw try spec.required("candidates").error("an experiment needs at least one candidate") }
        var candidates: [Candidate] = []
        for item in list {
            let entry = try item.mapping()
            let nameNode = try entry.required("name")
            let candidate = Candidate(name: nameNode.located(try nameNode.string()), weight: try entry.required("weight").locatedInt())
            if candidate.weight.value < 0 { throw candidate.weight.error("a weight is 0 or more, not \(candidate.weight.value)") }
            if candidates.contains(where: { $0.name.value == candidate.name.value }) { throw candidate.name.error("'\(candidate.name.value)' is a candidate twice") }
            candidates.append(candidate)
        }
        guard candidates.contains(where: { $0.weight.value > 0 }) else {
            throw try spec.required("candidates").error("at least one candidate needs a weight above 0")
        }
        self.candidates = candidates
        if let defaultTarget, !candidates.contains(where: { $0.name.value == defaultTarget.value }) {
            throw defaultTarget.error("the default '\(defaultTarget.value)' must be one of the candidates")
        }
        if let mirrorNode = spec["mirror"] {
            let entry = try mirrorNode.mapping()
            let nameNode = try entry.required("name")
            let mirror = Mirror(name: nameNode.located(try nameNode.string()), percent: try entry["percent"]?.locatedInt() ?? mirrorNode.located(100))
            if !(0...100).contains(mirror.percent.value) { throw mirror.percent.error("a percent is 0 to 100, not \(mirror.percent.value)") }
            if candidates.contains(where: { $0.name.value == mirror.name.value }) {
                throw mirror.name.error("'\(mirror.name.value)' is a candidate; a mirror gets copies of the candidates' requests")
            }
            self.mirror = mirror
        }
        self.spec = spec.others(than: [])
    }

    /// The candidates' shares of the requests, in order, summing to 1.
    public var shares: [(name: String, share: Double)] {
        let total = Double(candidates.reduce(0) { $0 + $1.weight.value })
        return candidates.map { ($0.name.value, Double($0.weight.value) / total) }
    }
}
