import AsyncHTTPClient
import Dataflow
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOHTTP1
@testable import Gateways

/// A client of a pipeline gateway under test, over HTTP and gRPC.
struct GatewayClient: Sendable {
    let http: String
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>?

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
        var requestID: String? { headers.first(name: "x-request-id") }
        func response() throws -> InferenceResponse { try InferenceResponse(json: body) }
        /// The `error` of an error body.
        var error: String? { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["error"] as? String }
    }

    func post(_ path: String, _ body: [UInt8], headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: http + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await execute(request)
    }

    func get(_ path: String) async throws -> Reply {
        try await execute(HTTPClientRequest(url: http + path))
    }

    /// A connection for each of many concurrent requests, and a generous wait for one on a loaded machine:
    /// `HTTPClient.shared` keeps 8 per host and gave up waiting for one while 200 requests were queued.
    static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        configuration.timeout.connect = .seconds(60)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private func execute(_ request: HTTPClientRequest) async throws -> Reply {
        // No request may hang: the gateway answers every one within its own timeout.
        let response = try await Self.httpClient.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
    }

    func infer(_ target: String, _ request: InferenceRequest, headers: [(String, String)] = []) async throws -> Reply {
        try await post("/v2/pipelines/\(target)/infer", try request.json(), headers: headers)
    }

    /// `ModelInfer` over gRPC: the answer and the response metadata, or the error's code, message and metadata.
    func grpcInfer(_ request: Inference_ModelInferRequest, metadata: Metadata = [:]) async throws -> Result<(Inference_ModelInferResponse, Metadata), RPCError> {
        let client = Inference_GRPCInferenceService.Client(wrapping: grpc!)
        do {
            return .success(try await client.modelInfer(request: ClientRequest(message: request, metadata: metadata)) { response in
                (try response.message, response.metadata)
            })
        } catch let error as RPCError {
            return .failure(error)
        }
    }

    var service: Inference_GRPCInferenceService.Client<HTTP2ClientTransport.Posix> { .init(wrapping: grpc!) }

    /// The value of an unlabelled Prometheus sample, or of the one with all of `labels`.
    func metric(_ name: String, _ labels: [String: String] = [:]) async throws -> Double? {
        let text = try await get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let head = line.prefix { $0 != " " }
            let sample = String(head)
            guard sample == name || sample.hasPrefix(name + "{") else { continue }
            guard labels.allSatisfy({ sample.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    static func start(_ gateway: PipelineGateway) async throws -> (GatewayClient, Task<Void, any Error>) {
        let running = Task { try await gateway.run() }
        let ports = await gateway.listeningPorts()
        var grpc: GRPCClient<HTTP2ClientTransport.Posix>?
        if let port = ports.grpc {
            let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
            Task { try? await client.runConnections() }
            grpc = client
        }
        let client = GatewayClient(http: "http://127.0.0.1:\(ports.http)", grpc: grpc)
        // Ready once it reads the answers of every pipeline deployed.
        let deadline = ContinuousClock.now + .seconds(60)
        while try await client.get("/v2/health/ready").status != 200, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        return (client, running)
    }
}

enum SumRequests {
    /// INPUT0 = [[a, 1]], INPUT1 = [[b, 2]] for the add/subtract model.
    static func request(_ a: Int32, _ b: Int32 = 10) -> InferenceRequest {
        InferenceRequest(inputs: [
            InferenceTensor(name: "INPUT0", shape: [1, 2], contents: .int32([a, 1])),
            InferenceTensor(name: "INPUT1", shape: [1, 2], contents: .int32([b, 2])),
        ])
    }

    static func outputs(_ response: InferenceResponse) -> [String: TensorContents] {
        Dictionary(uniqueKeysWithValues: response.outputs.map { ($0.name, $0.contents) })
    }
}
