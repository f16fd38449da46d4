import Foundation
import Yams

/// One document of a resource file.
public enum Resource: Sendable, Hashable {
    case pipeline(PipelineResource)
    case model(ModelResource)
    case server(ServerResource)
    case experiment(ExperimentResource)

    public static let apiVersion = "mlops.seldon.io/v1alpha1"

    public var kind: String {
        switch self {
        case .pipeline: "Pipeline"
        case .model: "Model"
        case .server: "Server"
        case .experiment: "Experiment"
        }
    }

    public var name: Located<String> {
        switch self {
        case .pipeline(let resource): resource.name
        case .model(let resource): resource.name
        case .server(let resource): resource.name
        case .experiment(let resource): resource.name
        }
    }

    /// Reads every document of multi-document YAML text; `file` names it in errors.
    ///
    /// - Throws: ``ResourceErrors`` with every document's first problem (YAML that does not parse, or goes past
    ///   `limits`, stops at once).
    public static func load(yaml text: String, file: String, limits: YAMLLimits = .standard) throws(ResourceErrors) -> [Resource] {
        try documents(yaml: text, file: file, limits: limits).map(\.resource)
    }

    /// Reads every document of multi-document YAML text, each resource with the YAML of its own document, so that
    /// resources can be stored and read back one by one.
    ///
    /// - Throws: ``ResourceErrors`` as ``load(yaml:file:)``.
    public static func documents(
        yaml text: String, file: String, limits: YAMLLimits = .standard
    ) throws(ResourceErrors) -> [(resource: Resource, yaml: String)] {
        var documents: [Node] = []
        do throws(YAMLLimits.Violation) {
            try limits.checkNesting(text)
        } catch {
            throw ResourceErrors(errors: [error.resourceError(file: file)])
        }
        do {
            // Parser rather than compose_all, whose sequence ends quietly at a syntax error.
            let parser = try Parser(yaml: text)
            while let document = try parser.nextRoot() {
                documents.append(document)
                if documents.count > limits.documents { break }
            }
        } catch {
            throw ResourceErrors(errors: [syntaxError(error, file: file)])
        }
        do throws(YAMLLimits.Violation) {
            try limits.checkSize(documents)
        } catch {
            throw ResourceErrors(errors: [error.resourceError(file: file)])
        }
        var resources: [(Resource, String)] = []
        var errors: [ResourceError] = []
        for document in documents {
            do throws(ResourceError) {
                if let resource = try Resource(YAMLNode(node: document, file: file, field: "")) {
                    resources.append((resource, (try? Yams.serialize(node: document)) ?? ""))
                }
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw ResourceErrors(errors: errors) }
        return resources
    }

    /// Reads a resource file, or every `.yaml`/`.yml` file of a directory (sorted by name).
    public static func load(path: String) throws(ResourceErrors) -> [Resource] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ResourceErrors(errors: [ResourceError(location: SourceLocation(file: path, line: 0, column: 0), field: "", problem: "no such file or directory")])
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { "\(path)/\($0)" }
            : [path]
        var resources: [Resource] = []
        var errors: [ResourceError] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                errors.append(ResourceError(location: SourceLocation(file: file, line: 0, column: 0), field: "", problem: "cannot read the file as UTF-8 text"))
                continue
            }
            do throws(ResourceErrors) {
                resources += try load(yaml: text, file: file)
            } catch {
                errors += error.errors
            }
        }
        guard errors.isEmpty else { throw ResourceErrors(errors: errors) }
        return resources
    }

    /// A document as a resource; `nil` for an empty document.
    init?(_ document: YAMLNode) throws(ResourceError) {
        if case .scalar(let scalar) = document.node, scalar.string.isEmpty { return nil }
        let root = try document.mapping()
        let apiVersion = try root.required("apiVersion")
        guard try apiVersion.string() == Self.apiVersion else {
            throw apiVersion.error("unsupported apiVersion '\(try apiVersion.string())'; expected \(Self.apiVersion)")
        }
        let kind = try root.required("kind")
        let metadata = try root.required("metadata").mapping()
        let nameNode = try metadata.required("name")
        let name = nameNode.located(try nameNode.string())
        if let problem = ResourceName.problem(name.value, what: try kind.string().lowercased()) { throw nameNode.error(problem) }
        let namespaceNode = metadata["namespace"]
        let namespace = try namespaceNode?.string()
        if let namespaceNode, let namespace, let problem = ResourceName.problem(namespace, what: "namespace") { throw namespaceNode.error(problem) }
        // A missing spec is an empty one, placed at the document's kind for errors about what it lacks.
        let spec = root["spec"] ?? YAMLNode(node: .mapping(Node.Mapping([], .implicit, .any, kind.node.mark)), file: document.file, field: "spec")
        switch try kind.string() {
        case "Pipeline": self = .pipeline(try PipelineResource(name: name, namespace: namespace, spec: spec))
        case "Model": self = .model(try ModelResource(name: name, namespace: namespace, spec: spec))
        case "Server": self = .server(try ServerResource(name: name, namespace: namespace, spec: spec))
        case "Experiment": self = .experiment(try ExperimentResource(name: name, namespace: namespace, spec: spec))
        case let other: throw kind.error("unknown kind '\(other)'; expected Pipeline, Model, Server or Experiment")
        }
    }

    private static func syntaxError(_ error: any Error, file: String) -> ResourceError {
        let at = { (mark: Mark) in SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ResourceError(location: at(mark), field: "", problem: "not valid YAML: \(problem)")
        default:
            return ResourceError(location: SourceLocation(file: file, line: 0, column: 0), field: "", problem: "not valid YAML: \(error)")
        }
    }
}

extension YAMLLimits.Violation {
    func resourceError(file: String) -> ResourceError {
        ResourceError(location: SourceLocation(file: file, line: line, column: column), field: "", problem: problem)
    }
}
