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

/// Where jobs, their events and idempotency records live.
///
/// The store holds no business rules: the engine passes them in as closures that
/// run inside the store's write transaction. Each write method is one transaction
/// that writes the job and appends an event with the next global revision, so a
/// change and its event are never separated, and a refused change leaves no trace.
public protocol JobStore: Sendable {
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
  ///   - prepare: Applied to each job moved to RUNNING, inside the same transaction.
  /// - Returns: The jobs now RUNNING, in the order they were queued.
  func claimPendingJobs(
    maxRunning: Int, maxRunningPerProject: Int, excluding: Set<String>, now: Date,
    prepare: @escaping @Sendable (inout Job) -> Void
  ) async throws -> [Job]

  /// The ids of every job in `status`.
  func jobIDs(inStatus status: JobStatus) async throws -> [String]

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

  /// The revision of the latest event (0 before the first).
  func currentRevision() async throws -> Int64

  /// Events after `revision`, in revision order, at most `limit`.
  func events(after revision: Int64, limit: Int) async throws -> [JobEvent]

  /// A random secret of 32 bytes that survives restarts, created on first use.
  func secret(named name: String) async throws -> Data

  /// The latest revision after each commit of this store, for the event feed.
  ///
  /// Only the newest value is kept for a listener that lags: it is a wake-up, and the
  /// listener reads the events themselves with ``events(after:limit:)``.
  func commitNotifications() -> AsyncStream<Int64>

  /// Every job matching `filter` and the revision they are consistent at, read in one
  /// transaction.
  func snapshot(filter: JobFilter) async throws -> (revision: Int64, jobs: [Job])

  /// The newest revision compaction has removed from the event log (0 if none): a
  /// subscriber can resume after any revision at or above it.
  func compactedThrough() async throws -> Int64

  /// Removes old events: all but the newest `keepLast`, and those committed before
  /// `before`, in small transactions so that writers are never held up for long.
  /// The newest event is always kept.
  ///
  /// - Returns: How many events were removed.
  func compactEvents(keepLast: Int, before: Date, batchSize: Int) async throws -> Int

  // MARK: - Retention

  /// Deletes up to `limit` jobs whose status is one of `statuses` and whose last change
  /// is older than `updatedBefore`, oldest first, in one transaction, with a deleted
  /// event each. Their step logs are the caller's to remove, after this returns.
  ///
  /// - Returns: The ids of the deleted jobs; fewer than `limit` when no more qualify.
  func deleteJobs(statuses: Set<JobStatus>, updatedBefore: Date, limit: Int, now: Date) async throws -> [String]

  /// Which of `ids` name jobs that exist.
  func existingJobIDs(among ids: [String]) async throws -> Set<String>

  // MARK: - Completion callbacks

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

  // MARK: - Subjects

  /// Whether a project of this name exists.
  func projectExists(_ name: String) async throws -> Bool

  /// Adds a subject.
  /// - Throws: ``KilnError``: not found (the project); already exists.
  func createSubject(_ subject: Subject) async throws

  /// The subject of this name in the project, if any.
  func subject(project: String, name: String) async throws -> Subject?

  /// The subjects of the projects named in `projects` (every project when `nil`), by
  /// project then name.
  func subjects(inProjects projects: Set<String>?) async throws -> [Subject]

  /// Changes or deletes a subject and, in the same transaction, discards every job on it
  /// that has not ended, each with an event (and the callbacks it triggers).
  ///
  /// - Parameters:
  ///   - body: Decides, from the stored subject, what to write: a changed subject, a
  ///     deletion, or nothing; and the reason the jobs on it are discarded (`nil`: keep
  ///     them). Throwing writes nothing.
  ///   - discard: Applied to each PENDING, RUNNING, PAUSED or ERROR job on the subject.
  /// - Returns: The subject after the change (`nil` once deleted) and the jobs discarded.
  /// - Throws: ``KilnError``: not found (the project, or the subject); whatever `body` throws.
  func changeSubject(
    project: String, name: String, now: Date,
    _ body: @escaping @Sendable (inout Subject) throws(KilnError) -> SubjectWrite,
    discard: @escaping @Sendable (inout Job, _ reason: String) -> Void
  ) async throws -> (subject: Subject?, discarded: [Job])
}

/// What a subject change decided to write (see ``JobStore/changeSubject(project:name:now:_:discard:)``).
public enum SubjectWrite: Sendable {
  /// Write the changed subject; discard the jobs on it with the reason, if one is given.
  case update(discardReason: String?)
  /// Delete the subject and discard the jobs on it with the reason.
  case delete(discardReason: String)
}
