import Foundation

/// How calls that failed in a way worth retrying (a server error, a timeout) are tried again: up to
/// ``maxAttempts`` in all, waiting exponentially longer between attempts, with jitter so that many requests
/// failing together do not come back together.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included. Default: 4.
    public var maxAttempts: Int = 4
    /// The wait after the first failure. Default: 100 ms.
    public var initialBackoff: Duration = .milliseconds(100)
    /// The longest wait between attempts. Default: 5 s.
    public var maxBackoff: Duration = .seconds(5)
    /// Default: 2.
    public var multiplier: Double = 2
    /// How often one request may find its server gone (the connection refused or broken before the answer)
    /// before it is taken as the cause and fails. Waiting for the server to come back does not count. Default: 10.
    public var maxReconnects: Int = 10

    public init() {}

    /// The wait after failed attempt number `attempt` (1 for the first), ±20 %.
    public func backoff(after attempt: Int) -> Duration {
        let base = initialBackoff * pow(multiplier, Double(max(attempt - 1, 0)))
        return min(base, maxBackoff) * Double.random(in: 0.8...1.2)
    }
}
