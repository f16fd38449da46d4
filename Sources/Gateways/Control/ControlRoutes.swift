import Dataflow
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The control API, served by `dataflow serve` and used by the CLI:
///
/// - `POST /v1/resources` (multi-document YAML; `?file=` names it in errors): apply; 200 with each resource's
///   outcome, 400 naming file, line and field of every problem.
/// - `DELETE /v1/pipelines/{name}`, `/v1/models/{name}`, `/v1/servers/{name}`, `/v1/experiments/{name}`.
/// - `GET /v1/pipelines`, `/v1/pipelines/{name}`, `/v1/models`, `/v1/models/{name}`, `/v1/servers`: what is
///   applied, with each pipeline's status aggregated over the instances alive and each model's status and servers.
/// - `GET /v1/pipelines/{name}/describe`: the normalised spec and the compiled topology (text and DOT).
/// - `GET /v1/instances`: the instances alive, their roles and last reports.
/// - `GET /v1/health`: 200 once the desired state is recovered.
struct ControlRoutes: Sendable {
    let control: ControlPlane
    /// The largest resource file accepted.
    static let maxBodyBytes = 4 << 20

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let token = control.configuration.authToken { router.add(middleware: BearerTokenMiddleware(token: token, open: ["/v1/health"])) }
        router.post("/v1/resources") { request, _ in
            let file = request.uri.queryParameters.get("file") ?? "request body"
            let body: ByteBuffer
            do throws(RequestBodyFailure) {
                body = try await request.collectBody(upTo: Self.maxBodyBytes, limits: control.configuration.httpLimits)
            } catch {
                let message = if case .tooLarge = error { "the resource file is larger than \(Self.maxBodyBytes) bytes" } else { error.message }
                return error.closing(Self.failure(error.status, message))
            }
            do {
                return Self.json(.ok, ["resources": try await control.apply(yaml: String(buffer: body), file: file)])
            } catch {
                return Self.failure(error)
            }
        }
        for (path, kind) in [("pipelines", "Pipeline"), ("models", "Model"), ("servers", "Server"), ("experiments", "Experiment")] {
            router.delete("/v1/\(path)/:name") { _, context in
                let name = try context.parameters.require("name")
                do {
                    try await control.delete(kind: kind, name: name)
                    return Self.json(.ok, ["deleted": "\(kind.lowercased()) \(name)"])
                } catch {
                    return Self.failure(error)
                }
            }
        }
        router.get("/v1/pipelines") { _, _ in
            var listed: [PipelineSummary] = []
            for entry in await control.desired.resources(ofKind: "Pipeline") {
                listed.append(await summary(entry))
            }
            return Self.json(.ok, ["pipelines": listed])
        }
        router.get("/v1/pipelines/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let entry = await control.desired.entry(kind: "Pipeline", name: name) else {
                return Self.failure(404, "pipeline \(name) not found")
            }
            return Self.json(.ok, await summary(entry))
        }
        router.get("/v1/pipelines/:name/describe") { _, context in
            let name = try context.parameters.require("name")
            guard await control.desired.entry(kind: "Pipeline", name: name) != nil else { return Self.failure(404, "pipeline \(name) not found") }
            guard let pipeline = await control.normalisedPipeline(name) else {
                return Self.failure(409, "pipeline \(name) is applied but no longer valid against the pipelines it references")
            }
            do {
                let topology = try PipelineCompiler(topics: control.configuration.topics).topology([pipeline])
                return Self.json(.ok, PipelineDescription(name: name, spec: pipeline.normalisedSpec, topology: topology.description, dot: topology.dot))
            } catch {
                return Self.failure(500, "pipeline \(name) does not compile: \(error)")
            }
        }
        router.get("/v1/instances") { _, _ in
            let instances = await control.instances.map { seen in
                InstanceSummary(instance: seen.report.instance, roles: seen.report.roles, lastSeen: seen.at, controlOffset: seen.report.controlOffset,
                                pipelines: seen.report.pipelines.count, answering: seen.report.answering.count, models: seen.report.models.count)
            }
            return Self.json(.ok, ["instances": instances])
        }
        router.get("/v1/models") { _, _ in
            var listed: [ModelSummary?] = []
            for entry in await control.desired.resources(ofKind: "Model") {
                listed.append(await modelSummary(entry.resource.name.value, yaml: entry.yaml))
            }
            for name in await control.unloadingModels { listed.append(await modelSummary(name, yaml: "")) }
            return Self.json(.ok, ["models": listed.compactMap { $0 }])
        }
        router.get("/v1/models/:name") { _, context in
            let name = try context.parameters.require("name")
            let yaml = await control.desired.entry(kind: "Model", name: name)?.yaml ?? ""
            guard let summary = await modelSummary(name, yaml: yaml) else { return Self.failure(404, "model \(name) not found") }
            return Self.json(.ok, summary)
        }
        for (path, kind) in [("servers", "Server"), ("experiments", "Experiment")] {
            router.get("/v1/\(path)") { _, _ in
                let listed = await control.desired.resources(ofKind: kind).map { ResourceSummary(name: $0.resource.name.value, yaml: $0.yaml) }
                return Self.json(.ok, [path: listed])
            }
        }
        router.get("/v1/health") { _, _ in
            Response(status: await control.isRecovered ? .ok : .serviceUnavailable)
        }
        return router
    }

    /// Model `name` as the API shows it, `nil` when it is neither applied nor being unloaded.
    ///
    /// - Parameter yaml: the document applied; empty for a model deleted and being unloaded.
    private func modelSummary(_ name: String, yaml: String) async -> ModelSummary? {
        guard let view = await control.modelView(name) else { return nil }
        return ModelSummary(name: name, status: view.status, servers: view.servers, yaml: yaml)
    }

    private func summary(_ entry: DesiredState.Entry) async -> PipelineSummary {
        let name = entry.resource.name.value
        let view = await control.pipelineView(name)
        return PipelineSummary(
            name: name, version: Int(entry.offset) + 1, status: view?.status ?? "Creating", reason: view?.reason,
            engines: view?.engines ?? [], answeredBy: view?.answeredBy ?? [], yaml: entry.yaml
        )
    }

    static func failure(_ error: any Error) -> Response {
        guard let failure = error as? ControlFailure else { return failure(500, "\(error)") }
        return Self.failure(failure.status, failure.description)
    }

    static func failure(_ status: Int, _ message: String) -> Response {
        json(HTTPResponse.Status(code: status), ["error": message])
    }

    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        let bytes = (try? InferenceJSON.encoder().encode(body)).map(Array.init) ?? Array(#"{"error":"the answer could not be encoded"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
