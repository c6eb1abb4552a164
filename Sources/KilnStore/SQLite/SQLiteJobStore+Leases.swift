public import Foundation
public import KilnCore
import GRDB

extension SQLiteJobStore {
  public func renewLeases(owner: String, jobIDs: Set<String>, until: Date) async throws -> Set<String> {
    guard !jobIDs.isEmpty else { return [] }
    return try await writer.write { db in
      var held = Set<String>()
      // SQLite limits the number of bound parameters; renew in chunks.
      let ids = jobIDs.sorted()
      for start in stride(from: 0, to: ids.count, by: 500) {
        let chunk = Array(ids[start..<min(start + 500, ids.count)])
        let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
        var arguments: StatementArguments = [JobCoding.millis(until), owner]
        _ = arguments.append(contentsOf: StatementArguments(chunk))
        try db.execute(
          sql: "UPDATE job SET lease_expiry = ? WHERE status = 'RUNNING' AND lease_owner = ? AND id IN (\(marks))",
          arguments: arguments)
        var select: StatementArguments = [owner]
        _ = select.append(contentsOf: StatementArguments(chunk))
        held.formUnion(
          try String.fetchAll(
            db, sql: "SELECT id FROM job WHERE status = 'RUNNING' AND lease_owner = ? AND id IN (\(marks))",
            arguments: select))
      }
      return held
    }
  }

  public func requeueRunningJobs(
    heldBy owner: String?, leaseExpiredBefore expiredBefore: Date?, now: Date,
    prepare: @escaping @Sendable (inout Job) -> Bool
  ) async throws -> [Job] {
    try await notifyingCommit { db in
      let bodies = try String.fetchAll(
        db,
        sql: """
          SELECT body FROM job WHERE status = 'RUNNING'
            AND ((? AND (lease_owner IS NULL OR lease_expiry IS NULL OR lease_expiry < ?)) OR lease_owner = ?)
          ORDER BY queued_time, id
          """, arguments: [expiredBefore != nil, expiredBefore.map(JobCoding.millis) ?? 0, owner])
      var requeued: [Job] = []
      for body in bodies {
        var job = try JobCoding.decodeJob(body)
        let previousStatus = job.status
        guard prepare(&job) else { continue }
        job.revision = try Self.nextRevision(db)
        job.updateTime = now
        try Self.writeJob(db, job, insert: false)
        try db.execute(sql: "UPDATE job SET lease_owner = NULL, lease_expiry = NULL WHERE id = ?", arguments: [job.id])
        try self.appendEvent(db, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        requeued.append(job)
      }
      return requeued
    }
  }
}
