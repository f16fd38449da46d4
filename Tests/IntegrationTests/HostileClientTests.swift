import AsyncHTTPClient
import Dataflow
import Dispatch
import Foundation
import NIOCore
import StreamKit
import Testing
@testable import Gateways

#if canImport(Glibc)
import Glibc
#endif

/// Clients that are slow or hostile on purpose cannot keep the gateway from others: a body sent a byte at a
/// time, a client that never reads its answers, a thousand connections opened and left idle.
@Suite(.enabled(if: TestBroker.shouldRun))
struct HostileClientTests {
    /// A gateway whose limits are short enough to watch them act.
    static func gateway() async throws -> (GatewayClient, Task<Void, any Error>, port: Int) {
        let fixture = try await GatewayFixture.shared.value
        let (client, running) = try await fixture.extraGateway {
            $0.httpLimits.bodyTimeout = .seconds(2)
            $0.httpLimits.idleTimeout = .seconds(3)
        }
        return (client, running, Int(client.http.split(separator: ":").last!)!)
    }

    /// Each request on a connection of its own: a kept-alive one may be the one the short idle timeout is closing
    /// (a request sent on it as the server closes it is reset; clients retry those, this one must not need to).
    static let oneUse: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.maximumUsesPerConnection = 1
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    static func good(_ client: GatewayClient) async throws -> Int {
        var request = HTTPClientRequest(url: client.http + "/v2/pipelines/adder/infer")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try SumRequests.request(1).json()))
        let response = try await oneUse.execute(request, timeout: .seconds(120))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    @Test func aBodySentByteByByteGets408AndOthersAreServedMeanwhile() async throws {
        let (client, running, port) = try await Self.gateway()
        defer { running.cancel() }
        let slow = try await RawConnection.open(port: port)
        defer { slow.close() }
        try slow.send("POST /v2/pipelines/adder/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        let trickle = Task.detached {
            for _ in 0..<1000 {
                guard (try? slow.send("{")) != nil, !Task.isCancelled else { return }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { trickle.cancel() }
        for _ in 0..<5 { #expect(try await Self.good(client) == 200, "a good request while a body trickles in") }
        let answer = try await slow.receive(until: { $0.contains("\r\n\r\n") }, within: .seconds(60))
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("did not arrive within"), "\(answer)")
        #expect(answer.lowercased().contains("connection: close"), "the client is told to stop sending: \(answer)")
        #expect(try await Self.good(client) == 200)
    }

    @Test func aClientThatNeverReadsItsAnswersHoldsNoWorker() async throws {
        let (client, running, port) = try await Self.gateway()
        defer { running.cancel() }
        let deaf = try await RawConnection.open(port: port)
        // Pipelined requests whose answers are never read: they fill the socket buffers, then the server's writes
        // to this connection wait.
        let request = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
        for _ in 0..<2_000 { guard (try? deaf.send(request)) != nil else { break } }
        for _ in 0..<5 { #expect(try await Self.good(client) == 200, "a good request while a client does not read") }
        deaf.close()
    }

    @Test func aThousandIdleConnectionsDoNotKeepOthersOutAndAreClosed() async throws {
        let (client, running, port) = try await Self.gateway()
        defer { running.cancel() }
        var idle: [RawConnection] = []
        for _ in 0..<1_000 { idle.append(try await RawConnection.open(port: port)) }
        defer { for connection in idle { connection.close() } }
        for _ in 0..<5 { #expect(try await Self.good(client) == 200, "a good request beside a thousand idle connections") }
        // The idle timeout closes them: the first and the last see the end of the stream.
        for connection in [idle[0], idle[999]] {
            let closed = try await connection.receiveEnd(within: .seconds(60))
            #expect(closed, "an idle connection is closed by the server")
        }
    }
}

/// A plain TCP connection to 127.0.0.1, for clients that do not behave; its blocking calls run on a queue of its own.
final class RawConnection: Sendable {
    private let socket: Int32
    private static let io = BlockingExecutor(label: "test.raw-connection")

    /// Connects on a blocking thread (a connect may wait while the server's backlog is full).
    static func open(port: Int) async throws -> RawConnection {
        try await io.run { try RawConnection(port: port) }
    }

    private init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = POSIXError(.init(rawValue: errno) ?? .EIO)
            Glibc.close(socket)
            throw error
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends `text`; throws when the send buffer stays full or the connection is closed.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            sent += written
        }
    }

    /// What the server sent until `enough` holds for it, the connection ends, or `within` passes.
    func receive(until enough: @escaping @Sendable (String) -> Bool, within: Duration) async throws -> String {
        let socket = self.socket
        return await Self.io.run {
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + within
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline, !enough(String(decoding: received, as: UTF8.self)) {
                let count = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
                if count == 0 { break }
                if count > 0 { received += buffer[..<count] }
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

    /// Whether the server closes the connection within `within`.
    func receiveEnd(within: Duration) async throws -> Bool {
        let socket = self.socket
        return await Self.io.run {
            let deadline = ContinuousClock.now + within
            var byte: UInt8 = 0
            while ContinuousClock.now < deadline {
                let count = Glibc.recv(socket, &byte, 1, 0)
                if count == 0 { return true }
                if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { return true }
            }
            return false
        }
    }

    func close() { Glibc.close(socket) }
}
