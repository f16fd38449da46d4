import Dataflow
import GRPCCore

/// The pipeline gateway's gRPC API: `inference.GRPCInferenceService` (OIP v2), with `ModelInfer` (and its
/// streaming form) through pipelines or models, readiness and metadata. A pipeline is named `{p}.pipeline` or
/// `{p}`, or chosen with the `seldon-model` metadata as over HTTP; failures carry the status matching the HTTP
/// one (``GatewayFailure/grpcCode``) and `x-request-id` in the trailing metadata.
struct GRPCInferenceService: Inference_GRPCInferenceService.ServiceProtocol {
    let gateway: PipelineGateway

    func modelInfer(
        request: ServerRequest<Inference_ModelInferRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_ModelInferResponse> {
        do {
            let answer = try await infer(request.message, metadata: request.metadata)
            var metadata = Metadata()
            for header in answer.headers { metadata.addString(header.value, forKey: header.name) }
            return ServerResponse(message: answer.response.protobuf(), metadata: metadata)
        } catch {
            return ServerResponse(error: error)
        }
    }

    func modelStreamInfer(
        request: StreamingServerRequest<Inference_ModelInferRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Inference_ModelInferResponse> {
        StreamingServerResponse { writer in
            for try await message in request.messages {
                let answer = try await infer(message, metadata: request.metadata)
                try await writer.write(answer.response.protobuf())
            }
            return [:]
        }
    }

    private func infer(_ message: Inference_ModelInferRequest, metadata: Metadata) async throws(RPCError) -> InferenceAnswer {
        let headers = metadata.compactMap { entry -> (name: String, value: String)? in
            guard case .string(let value) = entry.value else { return nil }
            return (entry.key.lowercased(), value)
        }
        let requestID = headers.last { $0.name == DataflowHeaders.requestID }?.value
        let target = Self.target(named: message.modelName, metadata)
        let request: InferenceRequest
        do {
            request = try InferenceRequest(protobuf: message)
        } catch {
            throw Self.rpcError(.badRequest("invalid request: \(error)", requestID: requestID))
        }
        do {
            return try await gateway.infer(target, request, headers: headers, via: .grpc)
        } catch {
            throw Self.rpcError(error)
        }
    }

    /// The target a call names, as ``InferenceTarget/init(grpcName:seldonModel:)`` reads it.
    static func target(named name: String, _ metadata: Metadata) -> InferenceTarget {
        var seldonModel: String?
        for header in InferenceTarget.headers.reversed() {
            for value in metadata[stringValues: header] { seldonModel = value }
        }
        return InferenceTarget(grpcName: name, seldonModel: seldonModel)
    }

    static func rpcError(_ failure: GatewayFailure) -> RPCError {
        var metadata = Metadata()
        if let id = failure.requestID { metadata.addString(id, forKey: DataflowHeaders.requestID) }
        return RPCError(code: failure.grpcCode, message: failure.message, metadata: metadata)
    }

    // MARK: Readiness and metadata

    func serverLive(request: ServerRequest<Inference_ServerLiveRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ServerLiveResponse> {
        var response = Inference_ServerLiveResponse()
        response.live = true
        return ServerResponse(message: response)
    }

    func serverReady(request: ServerRequest<Inference_ServerReadyRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ServerReadyResponse> {
        var response = Inference_ServerReadyResponse()
        response.ready = await gateway.router.isReady
        return ServerResponse(message: response)
    }

    func modelReady(request: ServerRequest<Inference_ModelReadyRequest>, context: ServerContext) async throws -> ServerResponse<Inference_ModelReadyResponse> {
        let target = Self.target(named: request.message.name, request.metadata)
        do {
            try await gateway.readiness(of: target)
            var response = Inference_ModelReadyResponse()
            response.ready = true
            return ServerResponse(message: response)
        } catch where error.status == 404 {
            return ServerResponse(error: Self.rpcError(error))
        } catch {
            return ServerResponse(message: Inference_ModelReadyResponse())
        }
    }

    func serverMetadata(
        request: ServerRequest<Inference_ServerMetadataRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_ServerMetadataResponse> {
        var response = Inference_ServerMetadataResponse()
        response.name = "swift-dataflow"
        response.version = PipelineGateway.version
        return ServerResponse(message: response)
    }

    func modelMetadata(
        request: ServerRequest<Inference_ModelMetadataRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_ModelMetadataResponse> {
        let target = Self.target(named: request.message.name, request.metadata)
        do {
            let metadata = try await gateway.metadata(of: target)
            var response = Inference_ModelMetadataResponse()
            response.name = metadata.name
            response.versions = metadata.versions
            response.platform = metadata.platform
            return ServerResponse(message: response)
        } catch {
            return ServerResponse(error: Self.rpcError(error))
        }
    }

    // MARK: Model repository (not served here: resources are applied through the control API)

    func repositoryIndex(
        request: ServerRequest<Inference_RepositoryIndexRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryIndexResponse> {
        ServerResponse(error: Self.repositoryUnimplemented)
    }

    func repositoryModelLoad(
        request: ServerRequest<Inference_RepositoryModelLoadRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelLoadResponse> {
        ServerResponse(error: Self.repositoryUnimplemented)
    }

    func repositoryModelUnload(
        request: ServerRequest<Inference_RepositoryModelUnloadRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Inference_RepositoryModelUnloadResponse> {
        ServerResponse(error: Self.repositoryUnimplemented)
    }

    private static let repositoryUnimplemented = RPCError(
        code: .unimplemented,
        message: "the model repository API is not served by the pipeline gateway; apply Model resources instead"
    )
}
