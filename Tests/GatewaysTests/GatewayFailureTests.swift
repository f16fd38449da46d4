import GRPCCore
import Testing
@testable import Gateways

struct GatewayFailureTests {
    @Test(arguments: [
        (400, RPCError.Code.invalidArgument), (404, .notFound), (413, .resourceExhausted), (422, .invalidArgument),
        (429, .resourceExhausted), (499, .cancelled), (500, .internalError), (502, .unavailable), (503, .unavailable),
        (504, .deadlineExceeded),
    ])
    func eachHTTPStatusHasTheMatchingGRPCCode(_ status: Int, _ code: RPCError.Code) {
        #expect(GatewayFailure(status: status, message: "").grpcCode == code)
    }
}
