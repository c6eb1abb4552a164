public import Foundation
public import KilnCore

/// What a mutation closure decided to write.
public enum JobChange: Sendable {
  /// Write the job and append an event of this kind.
  case update(JobEvent.Kind)
  /// Delete the job and append a deleted event.
  case delete
  /// Write nothing (for example: a step runner that no longer owns the job).
  case none
}

/// The outcome of a mutation.
public struct MutationResult: Sendable {
  /// The job after the mutation; `nil` when it was deleted.
  public var job: Job?
  /// True when the result is the stored answer to an earlier request with the same id.
  public var replayed: Bool

  /// Creates a result.
  public init(job: Job?, replayed: Bool) {
    self.job = job
    self.replayed = replayed
  }
}

/// Where jobs live: inserting, reading, listing, changing, claiming and deleting them.
///
/// Every write method is one transaction that writes the job together with its event
/// in the log (see ``JobEventLog``), its idempotency record (see ``IdempotencyRecords``)
/// and the callbacks it triggers (see ``CallbackOutbox``). The rules every
/// implementation keeps are listed on ``JobStore``.
public protocol JobRecordStore: Sendable {
  /// Inserts a new job and its created event.
  ///
  /// - Parameters:
  ///   - job: The job to insert; its revision is assigned by the store.
  ///   - idempotency: If set and already used with the same fingerprint, nothing is
  ///     inserted and the first result is returned.
  /// - Returns: The stored job.
  /// - Throws: ``KilnError`` (invalid argument) when the idempotency key was used for other content.
  func insert(_ job: Job, idempotency: IdempotencyKey?) async throws -> MutationResult

  /// The job with this id, if any.
  func job(id: String) async throws -> Job?

  /// One page of the jobs that match `filter`, in `order`, after `cursor`.
  func listJobs(filter: JobFilter, order: JobOrder, limit: Int, after cursor: JobPageCursor?) async throws -> JobPage

  /// The ids of jobs that match `filter`, oldest first, at most `limit`.
  func jobIDs(matching filter: JobFilter, limit: Int) async throws -> [String]

  /// Reads a job, lets `body` change it, and writes the change with its event, in one transaction.
  ///
  /// The store sets the job's update time to `now` and its revision to the new event's.
  /// - Throws: ``KilnError`` (not found) for an unknown id, whatever `body` throws
  ///   (and then nothing is written), or (invalid argument) for a reused idempotency key.
  func mutate(
    jobID: String, idempotency: IdempotencyKey?, now: Date,
    _ body: @escaping @Sendable (inout Job) throws(KilnError) -> JobChange
  ) async throws -> MutationResult

  /// Starts pending jobs, first in first out, while the running counts stay within limits.
  ///
  /// - Parameters:
  ///   - maxRunning: The most jobs running at once over all projects.
  ///   - maxRunningPerProject: The most jobs running at once in one project.
  ///   - excluding: Jobs not to start now (their previous run is still stopping).
  ///   - lease: The claimer's lease on each job it starts (see ``JobLeases``).
  ///   - prepare: Applied to each job moved to RUNNING, inside the same transaction.
  /// - Returns: The jobs now RUNNING, in the order they were queued.
  func claimPendingJobs(
    maxRunning: Int, maxRunningPerProject: Int, excluding: Set<String>, now: Date, lease: JobLease,
    prepare: @escaping @Sendable (inout Job) -> Void
  ) async throws -> [Job]

  /// The ids of every job in `status`.
  func jobIDs(inStatus status: JobStatus) async throws -> [String]

  /// Deletes up to `limit` jobs whose status is one of `statuses` and whose last change
  /// is older than `updatedBefore`, oldest first, in one transaction, with a deleted
  /// event each. Their step logs are the caller's to remove, after this returns.
  ///
  /// - Returns: The ids of the deleted jobs; fewer than `limit` when no more qualify.
  func deleteJobs(statuses: Set<JobStatus>, updatedBefore: Date, limit: Int, now: Date) async throws -> [String]

  /// Which of `ids` name jobs that exist.
  func existingJobIDs(among ids: [String]) async throws -> Set<String>
}
