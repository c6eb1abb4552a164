import NIOPosix

/// Runs blocking work (file reads and deletes, `/proc` scans) on NIO's thread pool,
/// so that it never holds one of the few threads of Swift's concurrency pool, which
/// every RPC handler and watcher shares.
package enum BlockingIO {
  /// Runs `work` on `NIOThreadPool.singleton` and returns its result.
  package static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    do {
      return try await NIOThreadPool.singleton.runIfActive(work)
    } catch {
      // Only a pool that was shut down refuses work; the singleton never is.
      return work()
    }
  }

  /// Runs throwing `work` on `NIOThreadPool.singleton` and returns its result.
  package static func runThrowing<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(work)
  }
}
