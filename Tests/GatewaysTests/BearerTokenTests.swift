import Testing
@testable import Gateways

/// The token check of the control API and the inference API (REST and gRPC).
struct BearerTokenTests {
    let token = BearerToken("s3cret-token")

    @Test func onlyTheExactHeaderIsAccepted() {
        #expect(token.matches("Bearer s3cret-token"))
        for wrong in [nil, "", "Bearer ", "Bearer s3cret-toke", "Bearer s3cret-token ", "Bearer s3cret-tokeN", "bearer s3cret-token",
                      "s3cret-token", "Bearer s3cret-token-and-more", "Basic s3cret-token"] {
            #expect(!token.matches(wrong), "\(wrong ?? "nil")")
        }
    }

    @Test func oneOfSeveralMetadataValuesMayCarryIt() {
        #expect(token.isCarried(by: ["Bearer other", "Bearer s3cret-token"]))
        #expect(!token.isCarried(by: ["Bearer other"]))
        #expect(!token.isCarried(by: [String]()))
    }

    @Test func aTokenOfMultiByteCharactersIsComparedByItsBytes() {
        let unicode = BearerToken("clé-ünïcode")
        #expect(unicode.matches("Bearer clé-ünïcode"))
        #expect(!unicode.matches("Bearer cle-unicode"))
    }
}
