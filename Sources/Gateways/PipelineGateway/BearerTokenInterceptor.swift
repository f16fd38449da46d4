import GRPCCore

/// Refuses gRPC calls without `authorization: Bearer <token>` metadata with UNAUTHENTICATED, but the health
/// checks (`ServerLive`, `ServerReady`).
struct BearerTokenInterceptor: ServerInterceptor {
    let token: BearerToken
    static let open: Set = ["ServerLive", "ServerReady"]

    init(token: String) {
        self.token = BearerToken(token)
    }

    // `@concurrent`, as the protocol's requirement is: this module makes async functions nonsending by default.
    @concurrent
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @concurrent @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard Self.open.contains(context.descriptor.method) || token.isCarried(by: request.metadata[stringValues: "authorization"]) else {
            return StreamingServerResponse(error: RPCError(code: .unauthenticated, message: "missing or wrong bearer token (authorization: Bearer <token>)"))
        }
        return try await next(request, context)
    }
}
