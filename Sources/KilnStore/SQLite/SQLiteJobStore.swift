public import Foundation
public import GRDB
public import KilnCore
public import KilnMetrics
import Synchronization

/// The embedded store: SQLite through GRDB, in WAL mode when backed by a file.
///
/// A job is one row: columns for what queries filter and sort by, and the whole
/// job (with its steps) as JSON. Events keep a copy of the job as it was after
/// the change, so a subscriber can replay the log without reading the job table.
public final class SQLiteJobStore: JobStore {
  let writer: any DatabaseWriter
  let commits = CommitNotifier()
  /// Where commit latencies and sizes are recorded.
  let metrics: KilnMetrics
  /// Decides which callbacks a job change triggers; installed by the engine.
  ///
  /// The closure is kept inside a struct: a bare function value stored in a generic
  /// `Mutex` and read with `withLock { $0 }` was re-abstracted (wrapped in one more
  /// thunk) at every access, so after ≈12,000 events calling it overflowed the stack
  /// and killed kilnd. A struct's stored closure keeps its concrete representation.
  let callbackTrigger = Mutex<CallbackTriggerBox?>(nil)

  /// How hard SQLite works to keep a commit across a power loss.
  public enum Synchronous: String, Sendable {
    /// The WAL is synced at every commit: an acknowledged change survives a power loss.
    case full = "FULL"
    /// The WAL is synced at checkpoints only: a process crash loses nothing, a power
    /// loss can lose the commits since the last checkpoint.
    case normal = "NORMAL"
  }

  /// Opens (creating if needed) the database file at `path` in WAL mode and migrates it.
  ///
  /// - Parameter synchronous: `.full` (the default) makes every acknowledged change
  ///   durable against power loss.
  ///   `metrics` records how long commits take and how many events each writes.
  public convenience init(path: String, synchronous: Synchronous = .full, metrics: KilnMetrics = KilnMetrics()) throws {
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
    }
    try self.init(writer: DatabasePool(path: path, configuration: configuration), metrics: metrics)
  }

  /// A store in memory, for tests.
  public static func inMemory() throws -> SQLiteJobStore {
    try SQLiteJobStore(writer: DatabaseQueue())
  }

  /// Wraps a database and runs the migrations it lacks.
  public init(writer: any DatabaseWriter, metrics: KilnMetrics = KilnMetrics()) throws {
    self.writer = writer
    self.metrics = metrics
    try Self.migrator.migrate(writer)
  }

  /// The names of the migrations applied to this database, in order.
  public func appliedMigrations() async throws -> [String] {
    try await writer.read { db in try Self.migrator.appliedMigrations(db) }
  }

  // MARK: - Jobs

  public func insert(_ job: Job, idempotency: IdempotencyKey?) async throws -> MutationResult {
    try await notifyingCommit { db in
      if let idempotency, let stored = try Self.storedResponse(db, key: idempotency) {
        return MutationResult(job: try JobCoding.decodeOptionalJob(stored), replayed: true)
      }
      guard try Self.projectExists(db, job.project) else {
        throw KilnError.projectNotFound(job.project)
      }
      // Checked here, in the insert's transaction, so that a subject deleted or changed
      // at the same time either comes first (and the job is refused or gets the new
      // version) or after (and discards the job).
      guard let version = try Self.subjectVersion(db, project: job.project, name: job.subject) else {
        throw KilnError.subjectNotFound(job.subject, project: job.project)
      }
      var job = job
      job.subjectVersion = version
      job.revision = try Self.nextRevision(db)
      job.updateTime = job.createTime
      try Self.writeJob(db, job, insert: true)
      try self.appendEvent(db, kind: .created, job: job, time: job.updateTime, previousStatus: nil)
      if let idempotency { try Self.saveResponse(db, key: idempotency, response: try JobCoding.encodeOptionalJob(job), now: job.createTime) }
      return MutationResult(job: job, replayed: false)
    }
  }

  public func job(id: String) async throws -> Job? {
    try await writer.read { db in try Self.fetchJob(db, id: id) }
  }

  /// One read: each read is a hop to one of GRDB's reader queues and back.
  public func jobDetail(id: String, callbackLimit: Int) async throws -> Job? {
    try await writer.read { db in
      guard var job = try Self.fetchJob(db, id: id) else { return nil }
      job.callbackDeliveries = try Self.fetchCallbackDeliveries(db, jobID: id, limit: callbackLimit)
      return job
    }
  }

  public func mutate(
    jobID: String, idempotency: IdempotencyKey?, now: Date,
    _ body: @escaping @Sendable (inout Job) throws(KilnError) -> JobChange
  ) async throws -> MutationResult {
    try await notifyingCommit { db in
      if let idempotency, let stored = try Self.storedResponse(db, key: idempotency) {
        return MutationResult(job: try JobCoding.decodeOptionalJob(stored), replayed: true)
      }
      guard var job = try Self.fetchJob(db, id: jobID) else { throw KilnError.jobNotFound(jobID) }
      let previousStatus = job.status
      let change = try body(&job)
      var result: Job?
      switch change {
      case .none:
        return MutationResult(job: job, replayed: false)
      case .update(let kind):
        job.revision = try Self.nextRevision(db)
        job.updateTime = now
        try Self.writeJob(db, job, insert: false)
        try self.appendEvent(db, kind: kind, job: job, time: now, previousStatus: previousStatus)
        result = job
      case .delete:
        try self.deleteJob(db, job, previousStatus: previousStatus, now: now)
        result = nil
      }
      if let idempotency {
        try Self.saveResponse(db, key: idempotency, response: try JobCoding.encodeOptionalJob(result), now: now)
      }
      return MutationResult(job: result, replayed: false)
    }
  }

  public func claimPendingJobs(
    maxRunning: Int, maxRunningPerProject: Int, excluding: Set<String>, now: Date, lease: JobLease,
    prepare: @escaping @Sendable (inout Job) -> Void
  ) async throws -> [Job] {
    try await notifyingCommit { db in
      var running = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE status = 'RUNNING'") ?? 0
      guard running < maxRunning else { return [] }
      var perProject: [String: Int] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT project, COUNT(*) AS n FROM job WHERE status = 'RUNNING' GROUP BY project")
      {
        perProject[row["project"]] = row["n"]
      }
      var claimed: [Job] = []
      // Walks the queue in FIFO order (index job_queue); projects at their limit
      // are skipped, so one busy project never blocks the others.
      let cursor = try Row.fetchCursor(
        db, sql: "SELECT body FROM job WHERE status = 'PENDING' ORDER BY queued_time, id")
      var candidates: [Job] = []
      while running < maxRunning, let row = try cursor.next() {
        let job = try JobCoding.decodeJob(row["body"])
        guard !excluding.contains(job.id) else { continue }
        let count = perProject[job.project, default: 0]
        guard count < maxRunningPerProject else { continue }
        perProject[job.project] = count + 1
        running += 1
        candidates.append(job)
      }
      for var job in candidates {
        let previousStatus = job.status
        prepare(&job)
        job.revision = try Self.nextRevision(db)
        job.updateTime = now
        try Self.writeJob(db, job, insert: false)
        try db.execute(
          sql: "UPDATE job SET lease_owner = ?, lease_expiry = ? WHERE id = ?",
          arguments: [lease.owner, JobCoding.millis(lease.expiry), job.id])
        try self.appendEvent(db, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        claimed.append(job)
      }
      return claimed
    }
  }

  public func jobIDs(inStatus status: JobStatus) async throws -> [String] {
    try await writer.read { db in
      try String.fetchAll(db, sql: "SELECT id FROM job WHERE status = ? ORDER BY queued_time, id", arguments: [status.rawValue])
    }
  }

  /// Runs a write transaction, then tells commit listeners the latest revision.
  func notifyingCommit<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    let start = ContinuousClock.now
    let (result, before, revision) = try await writer.write { db in
      let before = try Self.latestRevision(db)
      return (try body(db), before, try Self.latestRevision(db))
    }
    metrics.storeCommitted(duration: ContinuousClock.now - start, events: revision - before)
    commits.publish(revision)
    return result
  }

  public func commitNotifications() -> AsyncStream<Int64> {
    commits.subscribe()
  }

  // MARK: - Idempotency

  public func storedResponse(for key: IdempotencyKey) async throws -> Data? {
    try await writer.read { db in try Self.storedResponse(db, key: key) }
  }

  public func storeResponse(_ response: Data, for key: IdempotencyKey, now: Date) async throws {
    try await writer.write { db in
      if try Self.storedResponse(db, key: key) != nil { return }
      try Self.saveResponse(db, key: key, response: response, now: now)
    }
  }

  // MARK: - Events

  public func currentRevision() async throws -> Int64 {
    try await writer.read { db in try Self.latestRevision(db) }
  }

  public func events(after revision: Int64, limit: Int) async throws -> [JobEvent] {
    try await writer.read { db in
      try Row.fetchAll(
        db.cachedStatement(
          sql: """
            SELECT revision, kind, previous_status, time, body FROM job_event
            WHERE revision > ? ORDER BY revision LIMIT ?
            """),
        arguments: [revision, limit]
      ).map { row in
        JobEvent(
          revision: row["revision"], kind: JobEvent.Kind(rawValue: row["kind"]) ?? .updated,
          job: try JobCoding.decodeJob(row["body"]), time: JobCoding.date(millis: row["time"]),
          previousStatus: (row["previous_status"] as String?).flatMap(JobStatus.init(rawValue:)))
      }
    }
  }

  // MARK: - Settings

  public func secret(named name: String) async throws -> Data {
    try await writer.write { db in
      if let existing = try Data.fetchOne(db, sql: "SELECT value FROM setting WHERE name = ?", arguments: [name]) {
        return existing
      }
      var generator = SystemRandomNumberGenerator()
      let secret = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
      try db.execute(sql: "INSERT INTO setting (name, value) VALUES (?, ?)", arguments: [name, secret])
      return secret
    }
  }

  // MARK: - Rows

  static func fetchJob(_ db: Database, id: String) throws -> Job? {
    guard let body = try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM job WHERE id = ?"), arguments: [id]) else {
      return nil
    }
    return try JobCoding.decodeJob(body)
  }

  static func writeJob(_ db: Database, _ job: Job, insert: Bool) throws {
    if insert {
      let arguments: StatementArguments = [
        job.id, job.project, job.jobType, job.subject, job.status.rawValue, JobCoding.statusRank(job.status),
        JobCoding.millis(job.createTime), JobCoding.millis(job.updateTime), job.durationMillis,
        job.queuedTime.map(JobCoding.millis), job.revision, try JobCoding.encodeJob(job),
      ]
      try db.cachedStatement(
        sql: """
          INSERT INTO job (id, project, job_type, subject, status, status_rank, create_time, update_time,
            duration_ms, queued_time, revision, body)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """
      ).execute(arguments: arguments)
    } else {
      // An UPDATE, not a REPLACE: the row's lease columns stay as they are.
      try db.cachedStatement(
        sql: """
          UPDATE job SET project = ?, job_type = ?, subject = ?, status = ?, status_rank = ?, create_time = ?,
            update_time = ?, duration_ms = ?, queued_time = ?, revision = ?, body = ?
          WHERE id = ?
          """
      ).execute(
        arguments: [
          job.project, job.jobType, job.subject, job.status.rawValue, JobCoding.statusRank(job.status),
          JobCoding.millis(job.createTime), JobCoding.millis(job.updateTime), job.durationMillis,
          job.queuedTime.map(JobCoding.millis), job.revision, try JobCoding.encodeJob(job), job.id,
        ])
    }
  }

  static func latestRevision(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'job_event'")) ?? 0
  }

  static func nextRevision(_ db: Database) throws -> Int64 {
    try latestRevision(db) + 1
  }

  /// Appends an event for a job change, and in the same transaction queues the
  /// completion callbacks the change triggers (see ``setCallbackTrigger(_:)``).
  ///
  /// Every write of a job goes through here, so no change can skip its callbacks.
  /// Deletes a job's row and appends its deleted event (the job as it was, at the new revision).
  func deleteJob(_ db: Database, _ job: Job, previousStatus: JobStatus, now: Date) throws {
    var job = job
    job.revision = try Self.nextRevision(db)
    job.updateTime = now
    try db.cachedStatement(sql: "DELETE FROM job WHERE id = ?").execute(arguments: [job.id])
    try appendEvent(db, kind: .deleted, job: job, time: now, previousStatus: previousStatus)
  }

  func appendEvent(_ db: Database, kind: JobEvent.Kind, job: Job, time: Date, previousStatus: JobStatus?) throws {
    try db.cachedStatement(
      sql: """
        INSERT INTO job_event (revision, job_id, project, kind, previous_status, time, body)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """
    ).execute(
      arguments: [
        job.revision, job.id, job.project, kind.rawValue, previousStatus?.rawValue, JobCoding.millis(time),
        try JobCoding.encodeJob(job),
      ])
    if kind == .deleted {
      try Self.forgetSettledCallbacks(db, jobID: job.id)
    } else if let trigger = callbackTrigger.withLock({ $0 }) {
      for request in trigger.decide(job, previousStatus) {
        try Self.queueCallback(db, request, job: job, time: time)
      }
    }
  }

  static func storedResponse(_ db: Database, key: IdempotencyKey) throws -> Data? {
    guard let row = try Row.fetchOne(
      db.cachedStatement(sql: "SELECT fingerprint, response FROM request WHERE id = ?"), arguments: [key.id])
    else { return nil }
    let fingerprint: String = row["fingerprint"]
    guard fingerprint == key.fingerprint else {
      throw KilnError.invalidArgument(field: "request_id", "\(key.id) was already used for a different request")
    }
    return row["response"]
  }

  static func saveResponse(_ db: Database, key: IdempotencyKey, response: Data, now: Date) throws {
    try db.execute(
      sql: "INSERT INTO request (id, fingerprint, response, create_time) VALUES (?, ?, ?, ?)",
      arguments: [key.id, key.fingerprint, response, JobCoding.millis(now)])
  }
}
