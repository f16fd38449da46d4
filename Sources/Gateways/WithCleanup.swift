/// Runs `body`, then `cleanup` whether `body` returned or threw, and returns or rethrows what `body` did: the
/// `defer` of a service's `run()` whose clean-up awaits (closing clients, letting waiters go), which `defer`
/// cannot. Both run on the caller's actor.
func withCleanup<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> T,
    cleanup: () async -> Void
) async throws -> T {
    let result: Result<T, any Error>
    do {
        result = .success(try await body())
    } catch {
        result = .failure(error)
    }
    await cleanup()
    return try result.get()
}
