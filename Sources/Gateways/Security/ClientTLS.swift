import AsyncHTTPClient
import GRPCNIOTransportHTTP2
import NIOSSL
import Synchronization

/// Which servers a client of our APIs trusts over TLS (`https://` URLs, `grpcs://` addresses): those the
/// system trusts, or those whose certificate chains to one in a PEM file (a private CA, a self-signed
/// certificate).
public struct ClientTLS: Sendable, Hashable {
    /// A PEM file of trusted certificates; `nil` for the system's.
    public var trustedCertificates: String?

    public init(trustedCertificates: String? = nil) {
        self.trustedCertificates = trustedCertificates
    }

    public static let system = ClientTLS()

    private static let clients = Mutex<[ClientTLS: HTTPClient]>([:])

    /// The HTTP client of the CLI's calls with these trust roots, made once per process: a server that does not
    /// listen is reported at once, not retried until the call's deadline.
    public var httpClient: HTTPClient {
        Self.clients.withLock { clients in
            if let client = clients[self] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.timeout.connect = .seconds(5)
            if let trustedCertificates {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(trustedCertificates)
                configuration.tlsConfiguration = tls
            }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[self] = client
            return client
        }
    }

    var grpc: HTTP2ClientTransport.Posix.TransportSecurity {
        .tls { configuration in
            if let trustedCertificates { configuration.trustRoots = .certificates([.file(path: trustedCertificates, format: .pem)]) }
        }
    }
}
