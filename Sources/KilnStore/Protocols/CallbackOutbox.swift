public import Foundation
public import KilnCore

/// The completion callbacks job changes queue, and the record of their delivery.
///
/// Deliveries are queued in the transaction of the change that triggers them (an
/// outbox), so a change and its callbacks are never separated.
public protocol CallbackOutbox: Sendable {
  /// Installs the rule that decides which callbacks a job change triggers. The store
  /// queues them in the change's own transaction, so a change and its callbacks are
  /// never separated. Without a rule, no callbacks are queued.
  func setCallbackTrigger(_ trigger: @escaping CallbackTrigger)

  /// A job's callback deliveries, newest first, at most `limit`.
  func callbackDeliveries(jobID: String, limit: Int) async throws -> [CallbackDelivery]

  /// Deliveries due at `now`, the longest due first, at most `limit`, leaving out the
  /// ids given (attempts in flight) and the origins given (receivers at their limit).
  func dueCallbacks(at now: Date, excludingIDs: Set<Int64>, excludingOrigins: Set<String>, limit: Int) async throws
    -> [DueCallback]

  /// When the earliest delivery due after `now` is due, if any is queued.
  func nextCallbackDue(after now: Date) async throws -> Date?

  /// Records an attempt of delivery `id`. A delivery that is settled (delivered or
  /// given up) and whose job was deleted is forgotten.
  func recordCallbackAttempt(id: Int64, _ attempt: CallbackAttempt) async throws
}
