public import Foundation
public import KilnStore
public import Logging
public import ServiceLifecycle

/// Keeps the event log to a window: the newest `keepEvents` events, none older than
/// `keepFor`. Removes old events in small transactions so writers are never held up
/// for long. A watch that asks for a revision compacted away is told so (OUT_OF_RANGE)
/// and takes a fresh snapshot.
public struct EventLogCompactor: Service {
  let store: any JobStore
  /// The most events kept.
  public let keepEvents: Int
  /// The longest time an event is kept.
  public let keepFor: Duration
  /// Time between two compactions.
  public let interval: Duration
  let logger: Logger

  /// Creates a compactor.
  public init(store: any JobStore, keepEvents: Int, keepFor: Duration, interval: Duration, logger: Logger) {
    self.store = store
    self.keepEvents = keepEvents
    self.keepFor = keepFor
    self.interval = interval
    self.logger = logger
  }

  /// Compacts once.
  /// - Returns: How many events were removed.
  @discardableResult
  public func compact(now: Date = Date()) async throws -> Int {
    let seconds = Double(keepFor.components.seconds) + Double(keepFor.components.attoseconds) / 1e18
    let removed = try await store.compactEvents(
      keepLast: keepEvents, before: now.addingTimeInterval(-seconds), batchSize: 1000)
    if removed > 0 { logger.info("compacted the event log", metadata: ["removed": "\(removed)"]) }
    return removed
  }

  /// Compacts at every interval until graceful shutdown.
  public func run() async throws {
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      do {
        try await compact()
      } catch {
        logger.error("cannot compact the event log: \(error)")
      }
      let interval = self.interval
      _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
  }
}
