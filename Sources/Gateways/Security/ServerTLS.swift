import Foundation
import GRPCNIOTransportHTTP2
import NIOSSL

/// The certificate chain an API offers and its private key, as PEM files: with it the inference API (HTTP and
/// gRPC) and the control API serve TLS only.
public struct ServerTLS: Sendable, Hashable {
    /// The leaf certificate first, then any intermediates.
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// The TLS settings of an HTTP server, once both files are read: a missing or malformed file fails here,
    /// at start, naming it.
    public func configuration() throws(ServerTLSError) -> TLSConfiguration {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificateChain)
        } catch {
            throw ServerTLSError("the certificate file \(certificateChain) cannot be read as PEM certificates: \(error)")
        }
        guard !certificates.isEmpty else { throw ServerTLSError("the certificate file \(certificateChain) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw ServerTLSError("the private key file \(privateKey) cannot be read as a PEM key: \(error)")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// The same for a gRPC server.
    var grpc: HTTP2ServerTransport.Posix.TransportSecurity {
        .tls(certificateChain: [.file(path: certificateChain, format: .pem)], privateKey: .file(path: privateKey, format: .pem))
    }
}

public struct ServerTLSError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
