import AsyncHTTPClient
import Dataflow
import Foundation
import NIOCore
import NIOHTTP1
import StreamKit

/// An OIP REST endpoint (`POST /v2/models/{model}/infer`), called through a shared pooled HTTP client that
/// keeps connections alive between requests.
struct RESTInferenceTransport: InferenceTransport {
    let address: String
    private let client: HTTPClient
    private let maxResponseBytes: Int

    /// - Parameter address: the server's base URL, such as `http://127.0.0.1:9500`.
    init(address: String, client: HTTPClient, maxResponseBytes: Int) {
        self.address = address.hasSuffix("/") ? String(address.dropLast()) : address
        self.client = client
        self.maxResponseBytes = maxResponseBytes
    }

    func infer(
        model: String,
        _ request: Inference_ModelInferRequest,
        headers: [(name: String, value: String)],
        timeout: Duration
    ) async throws(InferenceCallError) -> InferenceReply {
        let body: [UInt8]
        do {
            var inference = try InferenceRequest(protobuf: request)
            inference.modelName = model
            body = try inference.json()
        } catch {
            throw .invalid("the request cannot be sent as OIP JSON: \(error)")
        }
        var call = HTTPClientRequest(url: "\(address)/v2/models/\(model)/infer")
        call.method = .POST
        call.headers.add(name: "content-type", value: "application/json")
        for header in headers { call.headers.add(name: header.name, value: header.value) }
        call.body = .bytes(body)

        let (status, responseHeaders, bytes) = try await exchange(call, timeout: timeout)
        guard (200..<300).contains(status) else {
            let message = Self.errorMessage(bytes)
            throw status >= 500 ? .serverError(status: status, message: message) : .rejected(status: status, message: message)
        }
        do {
            let response = try InferenceResponse(json: bytes)
            let passed = responseHeaders.filter { $0.name.lowercased().hasPrefix("x-") }.map { (name: $0.name.lowercased(), value: $0.value) }
            return InferenceReply(response: response.protobuf(), headers: passed)
        } catch {
            throw .invalid("the server's answer is not an OIP response: \(error)")
        }
    }

    func isReady(timeout: Duration) async -> Bool {
        let call = HTTPClientRequest(url: "\(address)/v2/health/ready")
        guard let (status, _, _) = try? await exchange(call, timeout: timeout) else { return false }
        return status == 200
    }

    /// The HTTP client is shared by all REST endpoints and shut down by the gateway.
    func shutdown() {}

    private func exchange(
        _ call: HTTPClientRequest,
        timeout: Duration
    ) async throws(InferenceCallError) -> (Int, HTTPHeaders, [UInt8]) {
        do {
            let response = try await client.execute(call, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return (Int(response.status.code), response.headers, Array(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw .timedOut(timeout)
        } catch let error as NIOTooManyBytesError {
            throw .invalid("the server's answer is larger than \(maxResponseBytes) bytes: \(error)")
        } catch {
            throw .unreachable("\(address): \(error)")
        }
    }

    /// The text of an OIP error answer (`{"error": "…"}`), or its body (whole: a traceback's last line is the
    /// reason ``ServerErrorText`` keeps).
    static func errorMessage(_ body: [UInt8]) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let error = object["error"] as? String {
            return error
        }
        let text = String(decoding: body, as: UTF8.self)
        return text.isEmpty ? "(no message)" : text
    }
}
