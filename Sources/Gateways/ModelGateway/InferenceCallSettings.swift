/// How the model gateway calls servers: per-call timeout, retries, and how often a down endpoint is checked.
public struct InferenceCallSettings: Sendable, Hashable {
    /// How long one call may take before it counts as failed (and is retried). Default: 30 s.
    public var timeout: Duration = .seconds(30)
    public var retry = RetryPolicy()
    /// How often an unreachable endpoint's readiness is checked. Default: 250 ms.
    public var healthCheckInterval: Duration = .milliseconds(250)
    /// Default: 2 s.
    public var healthCheckTimeout: Duration = .seconds(2)

    public init() {}
}
