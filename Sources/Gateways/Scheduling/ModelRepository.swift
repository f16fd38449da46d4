import AsyncHTTPClient
import Dataflow
import Foundation
import NIOCore
import StreamKit

/// One inference server's model repository: the folder it loads models from and its OIP repository API
/// (`POST /v2/repository/models/{name}/load|unload`, `POST /v2/repository/index`), as MLServer offers them.
/// Placing a model copies its artifacts into the folder under the model's name, then loads it.
public struct ModelRepository: Sendable {
    public let server: String
    /// The folder the server reads.
    public let folder: String
    /// The server's OIP REST base URL.
    public let endpoint: String
    private let client: HTTPClient
    private static let files = BlockingExecutor(label: "dataflow.model-repository")

    public init(server: String, folder: String, endpoint: String, client: HTTPClient = .shared) {
        self.server = server
        self.folder = folder
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.client = client
    }

    /// The local folder a `storageUri` names: a path (relative to the working directory) or a `file://` URI.
    public static func localFolder(of storageUri: String) throws(RepositoryFailure) -> String {
        if storageUri.hasPrefix("file://") { return String(storageUri.dropFirst("file://".count)) }
        if let scheme = storageUri.range(of: "://") {
            throw RepositoryFailure("storageUri \(storageUri): \(storageUri[..<scheme.lowerBound]) URIs cannot be fetched here; use a local folder or file://")
        }
        return storageUri
    }

    /// Copies the artifacts at `storageUri` into `<folder>/<model>` (replacing what was there), with `model` as the
    /// name in its `model-settings.json` and `extra` merged into its `parameters.extra` (where MLServer runtimes
    /// read their own settings: an explainer's `infer_uri` and `explainer_type`).
    public func install(_ model: String, from storageUri: String, extra: [String: String] = [:]) async throws(RepositoryFailure) {
        let source = try Self.localFolder(of: storageUri)
        let target = try self.target(model)
        do {
            try await Self.files.run {
                let files = FileManager.default
                var isFolder: ObjCBool = false
                guard files.fileExists(atPath: source, isDirectory: &isFolder), isFolder.boolValue else {
                    throw RepositoryFailure("storageUri \(storageUri): no folder at \(source)")
                }
                let settingsPath = (source as NSString).appendingPathComponent("model-settings.json")
                guard let data = files.contents(atPath: settingsPath),
                      var settings = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                else {
                    throw RepositoryFailure("storageUri \(storageUri): no readable model-settings.json in \(source)")
                }
                let staging = target + ".installing"
                try? files.removeItem(atPath: staging)
                try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try files.copyItem(atPath: source, toPath: staging)
                settings["name"] = model
                if !extra.isEmpty {
                    var parameters = settings["parameters"] as? [String: Any] ?? [:]
                    var merged = parameters["extra"] as? [String: Any] ?? [:]
                    for (key, value) in extra { merged[key] = value }
                    parameters["extra"] = merged
                    settings["parameters"] = parameters
                }
                try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted, .sortedKeys])
                    .write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent("model-settings.json")))
                try? files.removeItem(atPath: target)
                try files.moveItem(atPath: staging, toPath: target)
            }
        } catch let failure as RepositoryFailure {
            throw failure
        } catch {
            throw RepositoryFailure("model \(model) could not be copied to \(target): \(error.localizedDescription)")
        }
    }

    /// Removes `<folder>/<model>`.
    public func remove(_ model: String) async throws(RepositoryFailure) {
        let target = try self.target(model)
        await Self.files.run { try? FileManager.default.removeItem(atPath: target) }
    }

    /// `name` percent-encoded for one segment of a URL path.
    static func pathSegment(_ name: String) -> String {
        var unreserved = CharacterSet.alphanumerics
        unreserved.insert(charactersIn: "-._~")
        return name.addingPercentEncoding(withAllowedCharacters: unreserved) ?? name
    }

    /// `<folder>/<model>`, once it is sure to lie inside the folder.
    func target(_ model: String) throws(RepositoryFailure) -> String {
        if let problem = ResourceName.problem(model) { throw RepositoryFailure("model \(problem)") }
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        let target = URL(fileURLWithPath: root).appendingPathComponent(model).standardizedFileURL.path
        guard target.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw RepositoryFailure("model \(model) would lie outside the repository \(root)")
        }
        return target
    }

    /// Loads (or reloads) `model` from the folder; returns once the server has it ready.
    public func load(_ model: String, timeout: Duration = .seconds(120)) async throws(RepositoryFailure) {
        try await call("/v2/repository/models/\(Self.pathSegment(model))/load", timeout: timeout, what: "load \(model)")
    }

    public func unload(_ model: String, timeout: Duration = .seconds(60)) async throws(RepositoryFailure) {
        try await call("/v2/repository/models/\(Self.pathSegment(model))/unload", timeout: timeout, what: "unload \(model)")
    }

    /// The models the server has ready.
    public func ready(timeout: Duration = .seconds(10)) async throws(RepositoryFailure) -> Set<String> {
        let body = try await call("/v2/repository/index", body: #"{"ready":true}"#, timeout: timeout, what: "list its models")
        let entries = (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
        return Set(entries.compactMap { $0["state"] as? String == "READY" ? $0["name"] as? String : nil })
    }

    /// Whether the server answers its readiness check.
    public func isReady(timeout: Duration = .seconds(2)) async -> Bool {
        await RESTInferenceTransport(address: endpoint, client: client, maxResponseBytes: 1 << 20).isReady(timeout: timeout)
    }

    @discardableResult
    private func call(_ path: String, body: String = "{}", timeout: Duration, what: String) async throws(RepositoryFailure) -> [UInt8] {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
            let bytes = Array(buffer: try await response.body.collect(upTo: 16 << 20))
            guard response.status == .ok else {
                throw RepositoryFailure("server \(server) could not \(what): \(response.status.code) \(RESTInferenceTransport.errorMessage(bytes))")
            }
            return bytes
        } catch let failure as RepositoryFailure {
            throw failure
        } catch {
            throw RepositoryFailure("server \(server) could not \(what): \(error)")
        }
    }
}

/// Why a model could not be placed on, or removed from, a server.
public struct RepositoryFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
