public import Foundation
public import KilnEngine
public import KilnStore
public import Logging
public import ServiceLifecycle

/// Keeps the event log to a window: the newest `keepEvents` events, none older than
/// `keepFor`. Removes old events in small transactions so writers are never held up
/// for long. A watch that asks for a revision compacted away is told so (OUT_OF_RANGE)
/// and takes a fresh snapshot. Also forgets idempotency answers older than
/// `keepRequestsFor` (a retry that late acts again, as with Stripe's 24 hours).
public struct EventLogCompactor: Service {
  let store: any JobEventLog & IdempotencyRecords
  /// The most events kept.
  public let keepEvents: Int
  /// The longest time an event is kept.
  public let keepFor: Duration
  /// Time between two compactions.
  public let interval: Duration
  /// How long the answer to a mutating request is kept for retries.
  public let keepRequestsFor: Duration
  let logger: Logger

  /// Creates a compactor.
  public init(
    store: any JobEventLog & IdempotencyRecords, keepEvents: Int, keepFor: Duration, interval: Duration,
    keepRequestsFor: Duration = .seconds(24 * 3600), logger: Logger
  ) {
    self.store = store
    self.keepEvents = keepEvents
    self.keepFor = keepFor
    self.interval = interval
    self.keepRequestsFor = keepRequestsFor
    self.logger = logger
  }

  /// Compacts once.
  /// - Returns: How many events were removed.
  @discardableResult
  public func compact(now: Date = Date()) async throws -> Int {
    let removed = try await store.compactEvents(
      keepLast: keepEvents, before: now.addingTimeInterval(-keepFor.timeInterval), batchSize: 1000)
    if removed > 0 { logger.info("compacted the event log", metadata: ["removed": "\(removed)"]) }
    let forgotten = try await store.expireResponses(
      before: now.addingTimeInterval(-keepRequestsFor.timeInterval), batchSize: 1000)
    if forgotten > 0 { logger.info("forgot old request answers", metadata: ["removed": "\(forgotten)"]) }
    return removed
  }

  /// Compacts at every interval until graceful shutdown.
  public func run() async throws {
    await everyInterval(interval, logger: logger, failure: "cannot compact the event log") { try await compact() }
  }
}
