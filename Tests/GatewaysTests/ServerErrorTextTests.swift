import Testing

@testable import Gateways

/// A model server's traceback stays in the log; the client gets the exception's own line.
@Suite struct ServerErrorTextTests {
    static let traceback = """
        Traceback (most recent call last):
          File "/venv/site-packages/starlette/middleware/errors.py", line 165, in __call__
            await self.app(scope, receive, _send)
          File "/venv/site-packages/sklearn/utils/validation.py", line 2926, in _check_n_features
            raise ValueError(
        ValueError: X has 3 features, but LogisticRegression is expecting 4 features as input.

        """

    @Test func aTracebackComesDownToItsException() {
        let text = ServerErrorText(Self.traceback)
        #expect(text.reason == "ValueError: X has 3 features, but LogisticRegression is expecting 4 features as input.")
        #expect(text.details?.contains("starlette/middleware/errors.py") == true)
    }

    @Test func chainedExceptionsGiveTheLastAndTextBeforeTheTracebackStays() {
        let chained = "model failed:\n" + Self.traceback
            + "\nDuring handling of the above exception, another exception occurred:\n\n"
            + "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n    g()\nRuntimeError: wrapped\nsecond line\n"
        #expect(ServerErrorText(chained).reason == "model failed: RuntimeError: wrapped second line")
    }

    @Test func aPlainMessageIsKeptAsItIs() {
        let text = ServerErrorText("input INPUT is missing; the request has ['x']")
        #expect(text.reason == "input INPUT is missing; the request has ['x']")
        #expect(text.details == nil)
        #expect(ServerErrorText("  ").reason == "(no message)")
    }

    @Test func aVeryLongMessageIsCut() {
        let text = ServerErrorText(String(repeating: "a", count: 5_000))
        #expect(text.reason.count == ServerErrorText.maximumReasonLength + 1)
        #expect(text.details?.count == 5_000)
    }
}
