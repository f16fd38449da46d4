import Hummingbird
import NIOCore

/// Why a request body could not be read.
enum RequestBodyFailure: Error {
    /// More than the limit (413).
    case tooLarge(limit: Int)
    /// Not whole within ``HTTPLimits/bodyTimeout`` (408).
    case timedOut(Duration)
    /// The connection failed while reading (400).
    case unreadable(String)

    var status: Int {
        switch self {
        case .tooLarge: 413
        case .timedOut: 408
        case .unreadable: 400
        }
    }

    var message: String {
        switch self {
        case .tooLarge(let limit): "the request body is larger than \(limit) bytes"
        case .timedOut(let timeout): "the request body did not arrive within \(timeout)"
        case .unreadable(let reason): "the request body could not be read: \(reason)"
        }
    }

    /// `response` saying `Connection: close` when the client may still be sending the body (408, 413): the rest
    /// is read and dropped without holding a worker, and the client is told not to send more on this connection.
    func closing(_ response: Response) -> Response {
        if case .unreadable = self { return response }
        var response = response
        response.headers[.connection] = "close"
        return response
    }
}

extension Request {
    /// The whole body, up to `maxBytes`, within `limits`' body timeout.
    func collectBody(upTo maxBytes: Int, limits: HTTPLimits) async throws(RequestBodyFailure) -> ByteBuffer {
        let body = self.body
        let outcome: Result<ByteBuffer, RequestBodyFailure> = await withTaskGroup(of: Result<ByteBuffer, RequestBodyFailure>?.self) { group in
            group.addTask {
                do {
                    return .success(try await body.collect(upTo: maxBytes))
                } catch is NIOTooManyBytesError {
                    return .failure(.tooLarge(limit: maxBytes))
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failure(.unreadable("\(error)"))
                }
            }
            group.addTask {
                guard (try? await Task.sleep(for: limits.bodyTimeout)) != nil else { return nil }
                return .failure(.timedOut(limits.bodyTimeout))
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(.unreadable("cancelled"))
        }
        return try outcome.get()
    }
}
