import Gateways
import Testing

struct RetryPolicyTests {
    @Test func backoffGrowsExponentiallyUpToTheMaximumWithJitter() {
        var policy = RetryPolicy()
        policy.initialBackoff = .milliseconds(100)
        policy.maxBackoff = .seconds(1)
        for _ in 0..<20 {
            #expect((.milliseconds(80)...(.milliseconds(120))).contains(policy.backoff(after: 1)))
            #expect((.milliseconds(320)...(.milliseconds(480))).contains(policy.backoff(after: 3)))
            #expect((.milliseconds(800)...(.milliseconds(1200))).contains(policy.backoff(after: 10)))
        }
    }
}
