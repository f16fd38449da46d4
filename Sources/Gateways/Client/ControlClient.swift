import Foundation
import NIOHTTP1

/// A client of the control API (``ControlRoutes``), as the CLI's management commands use it. Answers are
/// returned as the JSON the API sent, decoded into the types below where a caller needs their fields.
public struct ControlClient: Sendable {
    private let connection: APIConnection
    public var baseURL: String { connection.baseURL }

    /// - Parameters:
    ///   - baseURL: the control API, such as `http://127.0.0.1:9004`.
    ///   - token: sent as `Authorization: Bearer <token>`.
    ///   - tls: the servers an `https://` URL may reach.
    public init(baseURL: String, token: String?, tls: ClientTLS = .system) {
        connection = APIConnection(baseURL: baseURL, token: token, tls: tls)
    }

    /// Applies the resources of one YAML file; `file` names it in errors.
    public func apply(yaml: String, file: String) async throws(ControlClientError) -> [ControlPlane.Outcome] {
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "file", value: file)]
        let body = try await call(.POST, "/v1/resources" + (components.percentEncodedQuery.map { "?" + $0 } ?? ""), body: Array(yaml.utf8))
        return try decode(Resources.self, body).resources
    }

    public func delete(_ kind: String, _ name: String) async throws(ControlClientError) {
        _ = try await call(.DELETE, "/v1/\(kind)s/\(Self.escaped(name))")
    }

    /// `GET` of an API path, as the JSON the API answered.
    public func get(_ path: String) async throws(ControlClientError) -> [UInt8] {
        try await call(.GET, path)
    }

    public func pipeline(_ name: String) async throws(ControlClientError) -> PipelineSummary {
        try decode(PipelineSummary.self, try await call(.GET, "/v1/pipelines/\(Self.escaped(name))"))
    }

    public func model(_ name: String) async throws(ControlClientError) -> ModelSummary {
        try decode(ModelSummary.self, try await call(.GET, "/v1/models/\(Self.escaped(name))"))
    }

    public func describe(_ name: String) async throws(ControlClientError) -> PipelineDescription {
        try decode(PipelineDescription.self, try await call(.GET, "/v1/pipelines/\(Self.escaped(name))/describe"))
    }

    struct Resources: Decodable { var resources: [ControlPlane.Outcome] }

    private func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws(ControlClientError) -> [UInt8] {
        do {
            return try await connection.call(method, path, body: body, contentType: "application/yaml")
        } catch {
            switch error {
            case .unreachable(let reason): throw .unreachable(baseURL, reason)
            case .refused(let status, let message): throw .refused(status, message)
            }
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(ControlClientError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw .refused(500, "the control API's answer is not what was expected: \(error)")
        }
    }

    static func escaped(_ name: String) -> String { name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name }
}

/// Why a control API call failed.
public enum ControlClientError: Error, Sendable, CustomStringConvertible {
    /// No answer: nothing listens at the URL, or the connection broke.
    case unreachable(String, String)
    /// The API answered with an error status and message.
    case refused(Int, String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason): "cannot reach the control API at \(url): \(reason)"
        case .refused(_, let message): message
        }
    }
}
