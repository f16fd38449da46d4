import Foundation
import Testing
@testable import Gateways

/// A certificate or key that cannot be used stops an API at start, naming the file.
@Suite struct ServerTLSTests {
    @Test func filesThatAreMissingOrNotPEMAreNamed() throws {
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("not-pem-\(UUID().uuidString.prefix(8)).pem").path
        try "hello".write(toFile: notPEM, atomically: true, encoding: .utf8)
        for (certificate, key, named) in [("/nonexistent/cert.pem", notPEM, "/nonexistent/cert.pem"), (notPEM, notPEM, notPEM)] {
            let error = #expect(throws: ServerTLSError.self) { try ServerTLS(certificateChain: certificate, privateKey: key).configuration() }
            #expect(error?.description.contains("certificate file \(named)") == true, "\(error?.description ?? "")")
        }
    }
}
