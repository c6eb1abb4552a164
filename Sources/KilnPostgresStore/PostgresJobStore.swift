public import Foundation
public import KilnCore
public import KilnMetrics
public import KilnStore
public import Logging
public import PostgresNIO
import Synchronization

/// The store on PostgreSQL (postgres-nio), for several kilnd replicas sharing one database.
///
/// The schema mirrors the SQLite store's (a job is one row: columns for what queries
/// filter and sort by, and the whole job as the same JSON), so both pass one contract
/// suite (`Tests/KilnStoreTests/Contract`).
///
/// **Revisions in commit order.** PostgreSQL sequences are handed out in call order, not
/// commit order: a reader could see revision 11 committed while 10 is still open, and
/// skip 10 for ever. Every transaction that writes events therefore first locks the one
/// row of `revision_counter` (`SELECT … FOR UPDATE`), numbers its events from it, and
/// writes the counter back before it commits. The row lock is held to the commit, so
/// the transaction with revision `r + 1` starts numbering only after the one with `r`
/// is visible, and a rollback gives its numbers back: no reader can see a gap.
/// It serializes the writers of job changes, as SQLite's single writer does.
///
/// **Commit notifications across replicas.** Each such transaction also sends
/// `NOTIFY kiln_commit` with its last revision, which PostgreSQL delivers only after the
/// commit; every store listens, so watchers on one replica see the changes another
/// made. A listener that reconnects announces the current revision, so a notification
/// lost while it was away costs a watcher nothing.
public final class PostgresJobStore: JobStore, AccessStore {
  let client: PostgresClient
  let logger: Logger
  let commits = CommitNotifier()
  /// Where commit latencies and sizes are recorded.
  let metrics: KilnMetrics
  /// Decides which callbacks a job change triggers (see the SQLite store's note on why
  /// it is kept in a box).
  let callbackTrigger = Mutex<CallbackTriggerBox?>(nil)
  /// The connection pool's run loop and the commit listener, ended by ``close()``.
  let tasks = Mutex<[Task<Void, Never>]>([])

  /// The channel commits are announced on.
  static let commitChannel = "kiln_commit"

  /// Connects to the database `url` names (see ``PostgresURL``), creating or migrating
  /// its tables.
  ///
  /// - Throws: ``KilnError`` (invalid argument) for a URL that cannot be read; the
  ///   connection's error when the database cannot be reached or migrated.
  public convenience init(url: String, metrics: KilnMetrics = KilnMetrics(), logger: Logger) async throws {
    try await self.init(configuration: PostgresURL.configuration(from: url), metrics: metrics, logger: logger)
  }

  /// Connects with a configuration, creating or migrating the tables; `metrics`
  /// records how long commits take and how many events each writes.
  public init(
    configuration: PostgresClient.Configuration, metrics: KilnMetrics = KilnMetrics(), logger: Logger
  ) async throws {
    self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
    self.metrics = metrics
    self.logger = logger
    let client = self.client
    // Started immediately (run() marks the pool running before its first suspension), so
    // the migration's first lease does not find it "not yet run" and warn (#14).
    tasks.withLock { $0.append(Task.immediate { await client.run() }) }
    do {
      try await migrate()
    } catch {
      await close()
      throw error
    }
    startListening()
  }

  /// Stops listening, gives up the advisory locks it holds and closes every
  /// connection; returns once they are closed. The store cannot be used afterwards.
  public func close() async {
    let running = tasks.withLock { tasks in
      defer { tasks.removeAll() }
      return tasks
    }
    // The pool's run loop last: the others need a connection to end cleanly.
    for task in running.dropFirst() {
      task.cancel()
      await task.value
    }
    for task in running.prefix(1) {
      task.cancel()
      await task.value
    }
  }

  deinit {
    for task in tasks.withLock({ $0 }) { task.cancel() }
  }

  // MARK: - Jobs

  public func insert(_ job: Job, idempotency: IdempotencyKey?) async throws -> MutationResult {
    try await jobWrite { tx, revisions in
      if let idempotency, let stored = try await Self.storedResponse(tx, key: idempotency) {
        return MutationResult(job: try JobCoding.decodeOptionalJob(stored), replayed: true)
      }
      guard try await Self.projectExists(tx, job.project) else { throw KilnError.projectNotFound(job.project) }
      // Checked in the insert's transaction (see the SQLite store).
      guard let version = try await Self.subjectVersion(tx, project: job.project, name: job.subject) else {
        throw KilnError.subjectNotFound(job.subject, project: job.project)
      }
      var job = job
      job.subjectVersion = version
      job.revision = revisions.next()
      job.updateTime = job.createTime
      try await Self.writeJob(tx, job, insert: true)
      try await self.appendEvent(tx, kind: .created, job: job, time: job.updateTime, previousStatus: nil)
      if let idempotency {
        try await Self.saveResponse(tx, key: idempotency, response: try JobCoding.encodeOptionalJob(job), now: job.createTime)
      }
      return MutationResult(job: job, replayed: false)
    }
  }

  public func job(id: String) async throws -> Job? {
    try await read { tx in try await Self.fetchJob(tx, id: id) }
  }

  public func mutate(
    jobID: String, idempotency: IdempotencyKey?, now: Date,
    _ body: @escaping @Sendable (inout Job) throws(KilnError) -> JobChange
  ) async throws -> MutationResult {
    try await jobWrite { tx, revisions in
      if let idempotency, let stored = try await Self.storedResponse(tx, key: idempotency) {
        return MutationResult(job: try JobCoding.decodeOptionalJob(stored), replayed: true)
      }
      guard var job = try await Self.fetchJob(tx, id: jobID) else { throw KilnError.jobNotFound(jobID) }
      let previousStatus = job.status
      var result: Job?
      switch try body(&job) {
      case .none:
        return MutationResult(job: job, replayed: false)
      case .update(let kind):
        job.revision = revisions.next()
        job.updateTime = now
        try await Self.writeJob(tx, job, insert: false)
        try await self.appendEvent(tx, kind: kind, job: job, time: now, previousStatus: previousStatus)
        result = job
      case .delete:
        try await self.deleteJob(tx, job, revision: revisions.next(), previousStatus: previousStatus, now: now)
        result = nil
      }
      if let idempotency {
        try await Self.saveResponse(tx, key: idempotency, response: try JobCoding.encodeOptionalJob(result), now: now)
      }
      return MutationResult(job: result, replayed: false)
    }
  }

  public func claimPendingJobs(
    maxRunning: Int, maxRunningPerProject: Int, excluding: Set<String>, now: Date, lease: JobLease,
    prepare: @escaping @Sendable (inout Job) -> Void
  ) async throws -> [Job] {
    // Without the lock first: most wake-ups (after every change, on every replica) find
    // nothing to start, and must not queue behind the writers for it. A job made
    // PENDING after this read announces its commit, which wakes the scheduler again.
    guard maxRunning > 0,
      try await read({ tx in
        try await tx.value("SELECT 1::BIGINT FROM job WHERE status = 'PENDING' LIMIT 1", as: Int64.self) != nil
      })
    else { return [] }
    // The revision lock every job write takes makes the counts below exact: no other
    // claim or status change can commit between counting and claiming, on any replica.
    return try await jobWrite { tx, revisions in
      var running = try await tx.value("SELECT COUNT(*) FROM job WHERE status = 'RUNNING'", as: Int64.self) ?? 0
      guard running < maxRunning else { return [] }
      var perProject: [String: Int64] = [:]
      for try await (project, count) in try await tx.query(
        "SELECT project, COUNT(*) FROM job WHERE status = 'RUNNING' GROUP BY project"
      ).decode((String, Int64).self) {
        perProject[project] = count
      }
      var candidates: [Job] = []
      // The queue in FIFO order (index job_queue), read in pages so that a long queue
      // whose first jobs are all at their project's limit is not read whole.
      var after: (Int64, String)?
      scan: while running < maxRunning {
        let page: [(String, Int64, String)]
        if let (time, id) = after {
          page = try await tx.rows(
            """
            SELECT body, queued_time, id FROM job WHERE status = 'PENDING' AND (queued_time, id) > (\(time), \(id))
            ORDER BY queued_time, id LIMIT 200
            """, as: (String, Int64, String).self)
        } else {
          page = try await tx.rows(
            "SELECT body, queued_time, id FROM job WHERE status = 'PENDING' ORDER BY queued_time, id LIMIT 200",
            as: (String, Int64, String).self)
        }
        for (body, time, id) in page {
          after = (time, id)
          guard running < maxRunning else { break scan }
          guard !excluding.contains(id) else { continue }
          let job = try JobCoding.decodeJob(body)
          let count = perProject[job.project, default: 0]
          guard count < maxRunningPerProject else { continue }
          perProject[job.project] = count + 1
          running += 1
          candidates.append(job)
        }
        if page.count < 200 { break }
      }
      var claimed: [Job] = []
      for var job in candidates {
        let previousStatus = job.status
        prepare(&job)
        job.revision = revisions.next()
        job.updateTime = now
        try await Self.writeJob(tx, job, insert: false)
        try await tx.execute(
          "UPDATE job SET lease_owner = \(lease.owner), lease_expiry = \(JobCoding.millis(lease.expiry)) WHERE id = \(job.id)")
        try await self.appendEvent(tx, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        claimed.append(job)
      }
      return claimed
    }
  }

  public func jobIDs(inStatus status: JobStatus) async throws -> [String] {
    try await read { tx in
      try await tx.rows(
        "SELECT id FROM job WHERE status = \(status.rawValue) ORDER BY queued_time, id", as: String.self)
    }
  }

  public func commitNotifications() -> AsyncStream<Int64> {
    commits.subscribe()
  }

  // MARK: - Idempotency

  public func storedResponse(for key: IdempotencyKey) async throws -> Data? {
    try await read { tx in try await Self.storedResponse(tx, key: key) }
  }

  public func storeResponse(_ response: Data, for key: IdempotencyKey, now: Date) async throws {
    try await write { tx in
      try await tx.execute(
        """
        INSERT INTO request (id, fingerprint, response, create_time)
        VALUES (\(key.id), \(key.fingerprint), \(response), \(JobCoding.millis(now))) ON CONFLICT (id) DO NOTHING
        """)
    }
  }

  // MARK: - Events

  public func currentRevision() async throws -> Int64 {
    try await read { tx in try await Self.latestRevision(tx) }
  }

  public func events(after revision: Int64, limit: Int) async throws -> [JobEvent] {
    try await read { tx in
      try await tx.rows(
        """
        SELECT revision, kind, previous_status, time, body FROM job_event
        WHERE revision > \(revision) ORDER BY revision LIMIT \(Int64(limit))
        """, as: (Int64, String, String?, Int64, String).self
      ).map { revision, kind, previousStatus, time, body in
        JobEvent(
          revision: revision, kind: JobEvent.Kind(rawValue: kind) ?? .updated, job: try JobCoding.decodeJob(body),
          time: JobCoding.date(millis: time), previousStatus: previousStatus.flatMap(JobStatus.init(rawValue:)))
      }
    }
  }

  // MARK: - Settings

  public func secret(named name: String) async throws -> Data {
    var generator = SystemRandomNumberGenerator()
    let candidate = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    return try await write { tx in
      // Two replicas starting at once agree on the first one written.
      try await tx.execute("INSERT INTO setting (name, value) VALUES (\(name), \(candidate)) ON CONFLICT (name) DO NOTHING")
      guard let secret = try await tx.value("SELECT value FROM setting WHERE name = \(name)", as: Data.self) else {
        throw KilnError(code: .internalError, message: "setting \(name) vanished while it was written")
      }
      return secret
    }
  }

  // MARK: - Rows

  static func fetchJob(_ tx: SQLConnection, id: String) async throws -> Job? {
    try await tx.value("SELECT body FROM job WHERE id = \(id)", as: String.self).map(JobCoding.decodeJob)
  }

  static func writeJob(_ tx: SQLConnection, _ job: Job, insert: Bool) async throws {
    let body = try JobCoding.encodeJob(job)
    let rank = Int64(JobCoding.statusRank(job.status))
    let queued = job.queuedTime.map(JobCoding.millis)
    if insert {
      try await tx.execute(
        """
        INSERT INTO job (id, project, job_type, subject, status, status_rank, create_time, update_time,
          duration_ms, queued_time, revision, body)
        VALUES (\(job.id), \(job.project), \(job.jobType), \(job.subject), \(job.status.rawValue), \(rank),
          \(JobCoding.millis(job.createTime)), \(JobCoding.millis(job.updateTime)), \(job.durationMillis),
          \(queued), \(job.revision), \(body))
        """)
    } else {
      try await tx.execute(
        """
        UPDATE job SET project = \(job.project), job_type = \(job.jobType), subject = \(job.subject),
          status = \(job.status.rawValue), status_rank = \(rank), create_time = \(JobCoding.millis(job.createTime)),
          update_time = \(JobCoding.millis(job.updateTime)), duration_ms = \(job.durationMillis),
          queued_time = \(queued), revision = \(job.revision), body = \(body)
        WHERE id = \(job.id)
        """)
    }
  }

  static func latestRevision(_ tx: SQLConnection) async throws -> Int64 {
    try await tx.value("SELECT value FROM revision_counter", as: Int64.self) ?? 0
  }

  /// Deletes a job's row and appends its deleted event (the job as it was, at `revision`).
  func deleteJob(_ tx: SQLConnection, _ job: Job, revision: Int64, previousStatus: JobStatus, now: Date) async throws {
    var job = job
    job.revision = revision
    job.updateTime = now
    try await tx.execute("DELETE FROM job WHERE id = \(job.id)")
    try await appendEvent(tx, kind: .deleted, job: job, time: now, previousStatus: previousStatus)
  }

  /// Appends an event for a job change and, in the same transaction, queues the
  /// completion callbacks the change triggers. Every write of a job goes through here.
  func appendEvent(_ tx: SQLConnection, kind: JobEvent.Kind, job: Job, time: Date, previousStatus: JobStatus?)
    async throws
  {
    try await tx.execute(
      """
      INSERT INTO job_event (revision, job_id, project, kind, previous_status, time, body)
      VALUES (\(job.revision), \(job.id), \(job.project), \(kind.rawValue), \(previousStatus?.rawValue),
        \(JobCoding.millis(time)), \(try JobCoding.encodeJob(job)))
      """)
    if kind == .deleted {
      try await Self.forgetSettledCallbacks(tx, jobID: job.id)
    } else if let trigger = callbackTrigger.withLock({ $0 }) {
      for request in trigger.decide(job, previousStatus) {
        try await Self.queueCallback(tx, request, job: job, time: time)
      }
    }
  }

  static func storedResponse(_ tx: SQLConnection, key: IdempotencyKey) async throws -> Data? {
    guard
      let (fingerprint, response) = try await tx.first(
        "SELECT fingerprint, response FROM request WHERE id = \(key.id)", as: (String, Data).self)
    else { return nil }
    guard fingerprint == key.fingerprint else {
      throw KilnError.invalidArgument(field: "request_id", "\(key.id) was already used for a different request")
    }
    return response
  }

  static func saveResponse(_ tx: SQLConnection, key: IdempotencyKey, response: Data, now: Date) async throws {
    try await tx.execute(
      """
      INSERT INTO request (id, fingerprint, response, create_time)
      VALUES (\(key.id), \(key.fingerprint), \(response), \(JobCoding.millis(now)))
      """)
  }

  static func projectExists(_ tx: SQLConnection, _ name: String) async throws -> Bool {
    try await tx.value("SELECT 1::BIGINT FROM project WHERE name = \(name)", as: Int64.self) != nil
  }

  static func subjectVersion(_ tx: SQLConnection, project: String, name: String) async throws -> Int64? {
    try await tx.value("SELECT version FROM subject WHERE project = \(project) AND name = \(name)", as: Int64.self)
  }
}
