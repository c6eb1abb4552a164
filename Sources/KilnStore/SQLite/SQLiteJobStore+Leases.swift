public import Foundation
public import KilnCore
import GRDB

extension SQLiteJobStore {
  public func renewLeases(owner: String, until: Date) async throws -> Set<String> {
    try await writer.write { db in
      try db.execute(
        sql: "UPDATE job SET lease_expiry = ? WHERE status = 'RUNNING' AND lease_owner = ?",
        arguments: [JobCoding.millis(until), owner])
      return Set(
        try String.fetchAll(
          db, sql: "SELECT id FROM job WHERE status = 'RUNNING' AND lease_owner = ?", arguments: [owner]))
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
