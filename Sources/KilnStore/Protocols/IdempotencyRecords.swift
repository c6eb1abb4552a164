public import Foundation
public import KilnCore

/// The stored answers to requests that carried a request id, so that a repeat of the
/// request returns the first answer instead of acting twice.
///
/// A job change made with an ``IdempotencyKey`` writes its record in the change's own
/// transaction (see ``JobRecordStore``): a change and its record are never separated,
/// and of concurrent requests with one key exactly one acts.
public protocol IdempotencyRecords: Sendable {
  /// The stored answer to an earlier request with this key, if any.
  /// - Throws: ``KilnError`` (invalid argument) when the key was used for other content.
  func storedResponse(for key: IdempotencyKey) async throws -> Data?

  /// Stores the answer to a request so that a repeat returns it.
  func storeResponse(_ response: Data, for key: IdempotencyKey, now: Date) async throws

  /// Forgets the answers to requests made before `before`: a repeat of one of those
  /// acts again. In small transactions, like event compaction.
  ///
  /// - Returns: How many answers were forgotten.
  func expireResponses(before: Date, batchSize: Int) async throws -> Int
}
