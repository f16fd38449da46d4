import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// An HTTP proxy in front of a model server, through which a soak makes models slow, failing or gone for a while
/// without touching the server itself (so it works in front of any OIP server).
final class ModelFaultProxy: Sendable {
    enum Mode: Equatable, Sendable {
        case pass
        /// Answers after the server's answer and `delay`.
        case slow(Duration)
        /// Answers 503 without calling the server.
        case failing
        /// Answers 502, as a load balancer in front of a dead server does.
        case down
    }

    let upstream: String
    private let mode = Mutex(Mode.pass)

    init(upstream: String) {
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
    }

    func set(_ mode: Mode) { self.mode.withLock { $0 = mode } }

    /// The application serving the proxy on `port` (0: a free one; `onServerRunning` learns which).
    func application(port: Int, onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        for method in [HTTPRequest.Method.get, .post] {
            router.on("**", method: method) { request, _ in try await self.forward(request) }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }
        )
    }

    private func forward(_ request: Request) async throws -> Response {
        let mode = self.mode.withLock { $0 }
        switch mode {
        case .failing: return Self.text(.serviceUnavailable, "model answering 503 (soak fault)")
        case .down: return Self.text(.badGateway, "model server down (soak fault)")
        case .pass, .slow: break
        }
        var call = HTTPClientRequest(url: upstream + request.uri.description)
        call.method = .init(rawValue: request.method.rawValue)
        for field in request.headers where field.name != .contentLength {
            call.headers.add(name: field.name.rawName, value: field.value)
        }
        call.body = .bytes(try await request.body.collect(upTo: 64 << 20))
        let answer: HTTPClientResponse
        do {
            answer = try await HTTPClient.shared.execute(call, timeout: .seconds(60))
        } catch {
            return Self.text(.badGateway, "model server unreachable: \(error)")
        }
        let body = try await answer.body.collect(upTo: 64 << 20)
        if case .slow(let delay) = mode { try await Task.sleep(for: delay) }
        var headers = HTTPFields()
        for header in answer.headers where header.name.lowercased() != "content-length" && header.name.lowercased() != "transfer-encoding" {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: body))
    }

    private static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"\#(message)"}"#)))
    }
}
