public import Foundation
public import KilnCore
import GRDB
import Synchronization

/// Holds a ``CallbackTrigger`` so that storing it in a `Mutex` never re-abstracts it
/// (see ``SQLiteJobStore/callbackTrigger``).
package struct CallbackTriggerBox: Sendable {
  /// The rule.
  package let decide: CallbackTrigger
  /// Holds `decide`.
  package init(decide: @escaping CallbackTrigger) { self.decide = decide }
}

extension SQLiteJobStore {
  public func setCallbackTrigger(_ trigger: @escaping CallbackTrigger) {
    callbackTrigger.withLock { $0 = CallbackTriggerBox(decide: trigger) }
  }

  public func callbackDeliveries(jobID: String, limit: Int) async throws -> [CallbackDelivery] {
    try await writer.read { db in try Self.fetchCallbackDeliveries(db, jobID: jobID, limit: limit) }
  }

  static func fetchCallbackDeliveries(_ db: Database, jobID: String, limit: Int) throws -> [CallbackDelivery] {
    try Row.fetchAll(
      db.cachedStatement(sql: "SELECT * FROM callback_delivery WHERE job_id = ? ORDER BY id DESC LIMIT ?"),
      arguments: [jobID, limit]
    ).map(Self.delivery(from:))
  }

  public func dueCallbacks(at now: Date, excludingIDs: Set<Int64>, excludingOrigins: Set<String>, limit: Int)
    async throws -> [DueCallback]
  {
    try await writer.read { db in
      var sql = "SELECT * FROM callback_delivery WHERE next_attempt_time IS NOT NULL AND next_attempt_time <= ?"
      var arguments: StatementArguments = [JobCoding.millis(now)]
      if !excludingIDs.isEmpty {
        sql += " AND id NOT IN (\(Array(repeating: "?", count: excludingIDs.count).joined(separator: ", ")))"
        _ = arguments.append(contentsOf: StatementArguments(Array(excludingIDs)))
      }
      if !excludingOrigins.isEmpty {
        sql += " AND origin NOT IN (\(Array(repeating: "?", count: excludingOrigins.count).joined(separator: ", ")))"
        _ = arguments.append(contentsOf: StatementArguments(Array(excludingOrigins)))
      }
      sql += " ORDER BY next_attempt_time, id LIMIT ?"
      _ = arguments.append(contentsOf: [limit])
      return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        DueCallback(delivery: try Self.delivery(from: row), payload: row["payload"], origin: row["origin"])
      }
    }
  }

  public func nextCallbackDue(after now: Date) async throws -> Date? {
    try await writer.read { db in
      try Int64.fetchOne(
        db,
        sql: """
          SELECT next_attempt_time FROM callback_delivery
          WHERE next_attempt_time IS NOT NULL AND next_attempt_time > ? ORDER BY next_attempt_time LIMIT 1
          """,
        arguments: [JobCoding.millis(now)]
      ).map(JobCoding.date(millis:))
    }
  }

  public func recordCallbackAttempt(id: Int64, _ attempt: CallbackAttempt) async throws {
    try await writer.write { db in
      try db.execute(
        sql: """
          UPDATE callback_delivery SET attempts = attempts + 1, last_attempt_time = ?, last_result = ?,
            last_status_code = ?, delivered = ?, next_attempt_time = ?
          WHERE id = ?
          """,
        arguments: [
          JobCoding.millis(attempt.time), attempt.result, attempt.statusCode, attempt.delivered,
          attempt.nextAttemptTime.map(JobCoding.millis), id,
        ])
      if attempt.nextAttemptTime == nil {
        // Nobody can see a settled delivery of a deleted job any more.
        try db.execute(
          sql: """
            DELETE FROM callback_delivery WHERE id = ?
              AND NOT EXISTS (SELECT 1 FROM job WHERE job.id = callback_delivery.job_id)
            """, arguments: [id])
      }
    }
  }

  /// Queues a callback in the transaction of the change that triggers it; it is due at once.
  static func queueCallback(_ db: Database, _ request: CallbackRequest, job: Job, time: Date) throws {
    try db.execute(
      sql: """
        INSERT INTO callback_delivery (job_id, url, origin, job_status, revision, payload, create_time, next_attempt_time)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        job.id, request.url, CallbackURL.origin(of: request.url), job.status.rawValue, job.revision, request.payload,
        JobCoding.millis(time), JobCoding.millis(time),
      ])
  }

  /// With a job's deletion, forgets its settled deliveries; those still to be delivered
  /// stay queued (their payload does not need the job) and are forgotten once settled.
  static func forgetSettledCallbacks(_ db: Database, jobID: String) throws {
    try db.execute(
      sql: "DELETE FROM callback_delivery WHERE job_id = ? AND next_attempt_time IS NULL", arguments: [jobID])
  }

  static func delivery(from row: Row) throws -> CallbackDelivery {
    CallbackDelivery(
      id: row["id"], jobID: row["job_id"], url: row["url"],
      jobStatus: JobStatus(rawValue: row["job_status"]) ?? .finished, revision: row["revision"],
      createTime: JobCoding.date(millis: row["create_time"]), attempts: row["attempts"],
      lastAttemptTime: (row["last_attempt_time"] as Int64?).map(JobCoding.date(millis:)),
      lastResult: row["last_result"], lastStatusCode: row["last_status_code"], delivered: row["delivered"],
      nextAttemptTime: (row["next_attempt_time"] as Int64?).map(JobCoding.date(millis:)))
  }
}
