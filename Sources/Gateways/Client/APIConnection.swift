import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// JSON over HTTP to one of our APIs, with the bearer token when there is one: the answer's bytes, or why
/// there is none.
struct APIConnection: Sendable {
    let baseURL: String
    let token: String?
    let tls: ClientTLS

    init(baseURL: String, token: String?, tls: ClientTLS = .system) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.tls = tls
    }

    enum Failure: Error {
        case unreachable(String)
        /// The status and the `error` of the answer.
        case refused(Int, String)
    }

    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json") async throws(Failure) -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "content-type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await tls.httpClient.execute(request, timeout: .seconds(120))
            status = Int(response.status.code)
            bytes = Array(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            throw .unreachable("\(error)")
        }
        guard (200..<300).contains(status) else { throw .refused(status, RESTInferenceTransport.errorMessage(bytes)) }
        return bytes
    }
}
