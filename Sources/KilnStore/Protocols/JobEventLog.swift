public import Foundation
public import KilnCore

/// The log of job events, each with a revision of one global sequence, that watches
/// replay and follow.
///
/// Revisions are assigned in commit order: once a reader has seen revision `r`, no
/// event with a revision below `r` can appear later, so a watcher that reads
/// ``events(after:limit:)`` from its last revision never skips one.
public protocol JobEventLog: Sendable {
  /// The revision of the latest event (0 before the first).
  func currentRevision() async throws -> Int64

  /// Events after `revision`, in revision order, at most `limit`.
  func events(after revision: Int64, limit: Int) async throws -> [JobEvent]

  /// The latest revision after each commit of this store, for the event feed.
  ///
  /// Only the newest value is kept for a listener that lags: it is a wake-up, and the
  /// listener reads the events themselves with ``events(after:limit:)``.
  func commitNotifications() -> AsyncStream<Int64>

  /// Every job matching `filter` and the revision they are consistent at, read in one
  /// transaction.
  func snapshot(filter: JobFilter) async throws -> (revision: Int64, jobs: [Job])

  /// How many jobs there are in each project and status, and the revision that count
  /// is consistent at, read in one transaction: the start of counts kept up to date
  /// from the events after it.
  func jobCounts() async throws -> (revision: Int64, counts: [JobCount])

  /// The newest revision compaction has removed from the event log (0 if none): a
  /// subscriber can resume after any revision at or above it.
  func compactedThrough() async throws -> Int64

  /// Removes old events: all but the newest `keepLast`, and those committed before
  /// `before`, in small transactions so that writers are never held up for long.
  /// The newest event is always kept.
  ///
  /// - Returns: How many events were removed.
  func compactEvents(keepLast: Int, before: Date, batchSize: Int) async throws -> Int
}

/// How many jobs one project has in one status.
public struct JobCount: Sendable, Hashable {
  /// The project.
  public var project: String
  /// The status.
  public var status: JobStatus
  /// How many of the project's jobs are in it.
  public var count: Int

  /// Creates a count.
  public init(project: String, status: JobStatus, count: Int) {
    self.project = project
    self.status = status
    self.count = count
  }
}
