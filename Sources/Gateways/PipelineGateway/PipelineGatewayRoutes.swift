import Dataflow
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The pipeline gateway's HTTP API (OIP v2 REST, as Seldon Core 2 serves it):
///
/// - `POST /v2/pipelines/{name}/infer`, and `POST /v2/models/{name}/infer` with `seldon-model: {name}.pipeline`
///   (or `seldon-model: {model}` for one model over Kafka): OIP JSON in and out.
/// - `GET /v2/pipelines/{name}/ready` (also `/v2/models/{name}/ready`): 200 when ready, else 503 with the status.
/// - `GET /v2/pipelines/{name}`: the pipeline's metadata; `GET /v2`: the server's.
/// - `GET /v2/health/live`, `GET /v2/health/ready`; `GET /metrics` (Prometheus text).
/// - `GET /v2/pipelines/{name}/requests/{id}`: every record of one request on the pipeline's topics (inspect);
///   `GET /v2/pipelines/{name}/requests`: the same for its latest request.
/// - `GET /v2/pipelines/{name}/messages?last=N`: the last N records (default 1) of the pipeline on each of its
///   topics, as `seldon pipeline inspect` shows them.
///
/// With ``PipelineGatewayConfiguration/authToken`` set, all but the health checks and `/metrics` need the token.
///
/// Errors are `{"error": "<what is wrong>"}` with their status, and `x-request-id` when the request had one.
struct PipelineGatewayRoutes: Sendable {
    let gateway: PipelineGateway

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let token = gateway.configuration.authToken {
            router.add(middleware: BearerTokenMiddleware(token: token, open: ["/v2/health/live", "/v2/health/ready", "/metrics"]))
        }
        router.post("/v2/pipelines/:name/infer") { request, context in
            await infer(.pipeline(try context.parameters.require("name")), request)
        }
        router.post("/v2/models/:name/infer") { request, context in
            let target = InferenceTarget(modelPath: try context.parameters.require("name"), seldonModel: Self.seldonModel(request))
            return await infer(target, request)
        }
        router.get("/v2/pipelines/:name/ready") { _, context in
            await ready(.pipeline(try context.parameters.require("name")))
        }
        router.get("/v2/models/:name/ready") { request, context in
            await ready(InferenceTarget(modelPath: try context.parameters.require("name"), seldonModel: Self.seldonModel(request)))
        }
        router.get("/v2/pipelines/:name") { _, context in
            await metadata(.pipeline(try context.parameters.require("name")))
        }
        router.get("/v2/models/:name") { request, context in
            await metadata(InferenceTarget(modelPath: try context.parameters.require("name"), seldonModel: Self.seldonModel(request)))
        }
        router.get("/v2/pipelines/:name/requests/:id") { _, context in
            await inspect(try context.parameters.require("name"), requestID: try context.parameters.require("id"))
        }
        router.get("/v2/pipelines/:name/requests") { _, context in
            await inspect(try context.parameters.require("name"), requestID: nil)
        }
        router.get("/v2/pipelines/:name/messages") { request, context in
            let pipeline = try context.parameters.require("name")
            guard let count = Int(request.uri.queryParameters.get("last") ?? "1") else {
                return Self.failure(.badRequest("last must be a whole number"))
            }
            do throws(GatewayFailure) {
                return Self.json(.ok, try await gateway.recentMessages(pipeline, count: count))
            } catch {
                return Self.failure(error)
            }
        }
        router.get("/v2") { _, _ in
            Self.json(.ok, ServerMetadata())
        }
        router.get("/v2/health/live") { _, _ in
            Response(status: .ok)
        }
        router.get("/v2/health/ready") { _, _ in
            Response(status: await gateway.router.isReady ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            gateway.registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
        return router
    }

    /// The header naming the target (``InferenceTarget/headers``), if the request has one.
    static func seldonModel(_ request: Request) -> String? {
        InferenceTarget.headers.lazy.compactMap { HTTPField.Name($0).flatMap { request.headers[$0] } }.first
    }

    // MARK: Handlers

    private func infer(_ target: InferenceTarget, _ request: Request) async -> Response {
        let headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        let requestID = headers.last { $0.name == DataflowHeaders.requestID }?.value
        let body: ByteBuffer
        do throws(RequestBodyFailure) {
            body = try await request.collectBody(upTo: gateway.configuration.maxRequestBytes, limits: gateway.configuration.httpLimits)
        } catch {
            return error.closing(Self.failure(GatewayFailure(status: error.status, message: error.message, requestID: requestID)))
        }
        let inference: InferenceRequest
        do {
            inference = try InferenceRequest(json: Array(buffer: body))
        } catch {
            return Self.failure(.badRequest("invalid request: \(error)", requestID: requestID))
        }
        do {
            let answer = try await gateway.infer(target, inference, headers: headers)
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for header in answer.headers {
                if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) }
            }
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try answer.response.json())))
        } catch let failure as GatewayFailure {
            return Self.failure(failure)
        } catch {
            return Self.failure(GatewayFailure(status: 500, message: "the answer cannot be encoded as JSON: \(error)", requestID: requestID))
        }
    }

    private func ready(_ target: InferenceTarget) async -> Response {
        do {
            try await gateway.readiness(of: target)
            return Self.json(.ok, Readiness(name: target.name, ready: true, status: "Ready"))
        } catch {
            if error.status == 404 { return Self.failure(error) }
            return Self.json(.serviceUnavailable, Readiness(name: target.name, ready: false, status: await gateway.status(of: target), reason: error.message))
        }
    }

    private func metadata(_ target: InferenceTarget) async -> Response {
        do {
            return Self.json(.ok, try await gateway.metadata(of: target))
        } catch {
            return Self.failure(error)
        }
    }

    private func inspect(_ pipeline: String, requestID: String?) async -> Response {
        do {
            return Self.json(.ok, try await gateway.inspect(pipeline, requestID: requestID))
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: Bodies

    struct Readiness: Encodable {
        var name: String
        var ready: Bool
        var status: String
        var reason: String?
    }

    struct ServerMetadata: Encodable {
        var name = "swift-dataflow"
        var version = PipelineGateway.version
        var extensions: [String] = []
    }

    struct ErrorBody: Encodable {
        var error: String
    }

    static func failure(_ failure: GatewayFailure) -> Response {
        var response = json(HTTPResponse.Status(code: failure.status), ErrorBody(error: failure.message))
        if let seconds = failure.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
        if let id = failure.requestID { response.headers[HTTPField.Name(DataflowHeaders.requestID)!] = id }
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        let bytes = (try? InferenceJSON.encoder().encode(body)).map(Array.init) ?? Array(#"{"error":"the answer could not be encoded"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
