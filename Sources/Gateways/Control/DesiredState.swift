import Dataflow

/// The resources applied to a deployment, as the control topic holds them: the latest document of each
/// `Kind/name`, with the text it was applied as.
public struct DesiredState: Sendable {
    /// One applied resource and its YAML document.
    public struct Entry: Sendable {
        public var resource: Resource
        public var yaml: String
        /// Where on the control topic it was last applied: instances that have acted on this offset run it.
        public var offset: Int64
    }

    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// The key of a resource on the control topic.
    public static func key(kind: String, name: String) -> String { "\(kind)/\(name)" }

    /// What one control record changed.
    public enum Change: Sendable {
        case applied(Resource)
        case deleted(kind: String, name: String)
    }

    /// Takes in the control record `key` → `yaml` (`nil`: deleted) at `offset`; `nil` when it changes nothing.
    ///
    /// - Throws: ``ResourceErrors`` for a document that no longer reads as a resource; the state stays as it was.
    public mutating func record(key: String, yaml: String?, offset: Int64) throws(ResourceErrors) -> Change? {
        guard let yaml else {
            guard let removed = entries.removeValue(forKey: key) else { return nil }
            return .deleted(kind: removed.resource.kind, name: removed.resource.name.value)
        }
        guard let document = try Resource.documents(yaml: yaml, file: "control record \(key)").first else { return nil }
        entries[key] = Entry(resource: document.resource, yaml: document.yaml, offset: offset)
        return .applied(document.resource)
    }

    public func resources(ofKind kind: String) -> [Entry] {
        entries.values.filter { $0.resource.kind == kind }.sorted { $0.resource.name.value < $1.resource.name.value }
    }

    public func entry(kind: String, name: String) -> Entry? { entries[Self.key(kind: kind, name: name)] }

    public var pipelines: [String: PipelineResource] {
        var pipelines: [String: PipelineResource] = [:]
        for case .pipeline(let pipeline) in entries.values.map(\.resource) { pipelines[pipeline.name.value] = pipeline }
        return pipelines
    }

    public var models: [ModelResource] { entries.values.compactMap { if case .model(let model) = $0.resource { model } else { nil } } }
    public var servers: [ServerResource] { entries.values.compactMap { if case .server(let server) = $0.resource { server } else { nil } } }
}
