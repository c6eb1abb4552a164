package import Logging
import ServiceLifecycle

/// Runs `body` now and then once every `interval` until graceful shutdown: the loop of
/// the housekeeping services. A failed round is logged as `failure` and the next one
/// comes at its time.
package func everyInterval(
  _ interval: Duration, logger: Logger, failure: String, _ body: () async throws -> Void
) async {
  while !Task.isShuttingDownGracefully && !Task.isCancelled {
    do {
      try await body()
    } catch {
      logger.error("\(failure): \(error)")
    }
    _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
  }
}
