import HTTPTypes
import Hummingbird
import NIOCore

/// Refuses requests without `Authorization: Bearer <token>` with 401, but those to the `open` paths.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: BearerToken
    var open: Set<String> = []

    init(token: String, open: Set<String> = []) {
        self.token = BearerToken(token)
        self.open = open
    }

    // `@concurrent`: the protocol's closure is a plain async function; this module makes them nonsending by default.
    @concurrent
    func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        guard open.contains(request.uri.path) || token.matches(request.headers[.authorization]) else {
            var response = Response(
                status: .unauthorized,
                headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"missing or wrong bearer token (Authorization: Bearer <token>)"}"#))
            )
            response.headers[.contentType] = "application/json"
            return response
        }
        return try await next(request, context)
    }
}
