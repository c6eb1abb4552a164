public import Foundation
public import KilnCore
public import KilnStore
import PostgresNIO
import Synchronization

extension PostgresJobStore {
  public func setCallbackTrigger(_ trigger: @escaping CallbackTrigger) {
    callbackTrigger.withLock { $0 = CallbackTriggerBox(decide: trigger) }
  }

  /// The columns ``delivery(from:)`` reads, in its order.
  static let deliveryColumns = """
    id, job_id, url, job_status, revision, create_time, attempts, last_attempt_time, last_result,
    last_status_code, delivered, next_attempt_time, payload, origin
    """

  public func callbackDeliveries(jobID: String, limit: Int) async throws -> [CallbackDelivery] {
    try await read { tx in
      var rows: [CallbackDelivery] = []
      for try await row in try await tx.query(
        PostgresQuery(
          unsafeSQL: "SELECT \(Self.deliveryColumns) FROM callback_delivery WHERE job_id = $1 ORDER BY id DESC LIMIT $2",
          binds: Self.bindings(jobID, Int64(limit))))
      {
        rows.append(try Self.delivery(from: row).delivery)
      }
      return rows
    }
  }

  public func dueCallbacks(at now: Date, excludingIDs: Set<Int64>, excludingOrigins: Set<String>, limit: Int)
    async throws -> [DueCallback]
  {
    try await read { tx in
      var query = SQLBuilder(
        """
        SELECT \(Self.deliveryColumns) FROM callback_delivery
        WHERE next_attempt_time IS NOT NULL AND next_attempt_time <= 
        """)
      query.append(query.bind(JobCoding.millis(now)))
      if !excludingIDs.isEmpty { query.append(" AND NOT (id = ANY(\(query.bind(excludingIDs.sorted()))))") }
      if !excludingOrigins.isEmpty {
        query.append(" AND NOT (origin = ANY(\(query.bind(excludingOrigins.sorted()))))")
      }
      query.append(" ORDER BY next_attempt_time, id LIMIT \(query.bind(Int64(limit)))")
      var due: [DueCallback] = []
      for try await row in try await tx.query(query.query) {
        let (delivery, payload, origin) = try Self.delivery(from: row)
        due.append(DueCallback(delivery: delivery, payload: payload, origin: origin))
      }
      return due
    }
  }

  public func nextCallbackDue(after now: Date) async throws -> Date? {
    try await read { tx in
      try await tx.value(
        """
        SELECT next_attempt_time FROM callback_delivery
        WHERE next_attempt_time IS NOT NULL AND next_attempt_time > \(JobCoding.millis(now))
        ORDER BY next_attempt_time LIMIT 1
        """, as: Int64.self
      ).map(JobCoding.date(millis:))
    }
  }

  public func recordCallbackAttempt(id: Int64, _ attempt: CallbackAttempt) async throws {
    try await write { tx in
      try await tx.execute(
        """
        UPDATE callback_delivery SET attempts = attempts + 1, last_attempt_time = \(JobCoding.millis(attempt.time)),
          last_result = \(attempt.result), last_status_code = \(attempt.statusCode.map(Int64.init)),
          delivered = \(attempt.delivered), next_attempt_time = \(attempt.nextAttemptTime.map(JobCoding.millis))
        WHERE id = \(id)
        """)
      if attempt.nextAttemptTime == nil {
        // Nobody can see a settled delivery of a deleted job any more.
        try await tx.execute(
          """
          DELETE FROM callback_delivery WHERE id = \(id)
            AND NOT EXISTS (SELECT 1 FROM job WHERE job.id = callback_delivery.job_id)
          """)
      }
    }
  }

  /// Queues a callback in the transaction of the change that triggers it; it is due at once.
  static func queueCallback(_ tx: SQLConnection, _ request: CallbackRequest, job: Job, time: Date) async throws {
    try await tx.execute(
      """
      INSERT INTO callback_delivery (job_id, url, origin, job_status, revision, payload, create_time, next_attempt_time)
      VALUES (\(job.id), \(request.url), \(CallbackURL.origin(of: request.url)), \(job.status.rawValue), \(job.revision),
        \(request.payload), \(JobCoding.millis(time)), \(JobCoding.millis(time)))
      """)
  }

  /// With a job's deletion, forgets its settled deliveries (see the SQLite store).
  static func forgetSettledCallbacks(_ tx: SQLConnection, jobID: String) async throws {
    try await tx.execute("DELETE FROM callback_delivery WHERE job_id = \(jobID) AND next_attempt_time IS NULL")
  }

  static func delivery(from row: PostgresRow) throws -> (delivery: CallbackDelivery, payload: Data, origin: String) {
    let (id, jobID, url, status, revision, created, attempts, lastAttempt, lastResult, lastCode, delivered, next, payload, origin) =
      try row.decode(
        (Int64, String, String, String, Int64, Int64, Int64, Int64?, String?, Int64?, Bool, Int64?, Data, String).self)
    let delivery = CallbackDelivery(
      id: id, jobID: jobID, url: url, jobStatus: JobStatus(rawValue: status) ?? .finished, revision: revision,
      createTime: JobCoding.date(millis: created), attempts: Int(attempts),
      lastAttemptTime: lastAttempt.map(JobCoding.date(millis:)), lastResult: lastResult,
      lastStatusCode: lastCode.map(Int.init), delivered: delivered,
      nextAttemptTime: next.map(JobCoding.date(millis:)))
    return (delivery, payload, origin)
  }
}
