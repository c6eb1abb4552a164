public import Foundation
public import KilnCore
public import KilnStore
import PostgresNIO

extension PostgresJobStore {
  public func renewLeases(owner: String, jobIDs: Set<String>, until: Date) async throws -> Set<String> {
    guard !jobIDs.isEmpty else { return [] }
    // No revision lock: a renewal is no job change. The row locks it takes order it with
    // a concurrent requeue (which rechecks the lease once it holds the row).
    return try await write { tx in
      Set(
        try await tx.rows(
          """
          UPDATE job SET lease_expiry = \(JobCoding.millis(until))
          WHERE status = 'RUNNING' AND lease_owner = \(owner) AND id = ANY(\(jobIDs.sorted())) RETURNING id
          """, as: String.self))
    }
  }

  public func requeueRunningJobs(
    heldBy owner: String?, leaseExpiredBefore expiredBefore: Date?, now: Date,
    prepare: @escaping @Sendable (inout Job) -> Bool
  ) async throws -> [Job] {
    try await jobWrite { tx, revisions in
      // FOR UPDATE: a renewal that commits first is seen (the condition is checked again
      // on the row as it now is), so a lease renewed in time is never taken.
      let bodies = try await tx.rows(
        """
        SELECT body FROM job WHERE status = 'RUNNING'
          AND ((\(expiredBefore != nil) AND (lease_owner IS NULL OR lease_expiry IS NULL
              OR lease_expiry < \(expiredBefore.map(JobCoding.millis) ?? 0)))
            OR lease_owner = \(owner))
        ORDER BY queued_time, id FOR UPDATE
        """, as: String.self)
      var requeued: [Job] = []
      for body in bodies {
        var job = try JobCoding.decodeJob(body)
        let previousStatus = job.status
        guard prepare(&job) else { continue }
        job.revision = revisions.next()
        job.updateTime = now
        try await Self.writeJob(tx, job, insert: false)
        try await tx.execute("UPDATE job SET lease_owner = NULL, lease_expiry = NULL WHERE id = \(job.id)")
        try await self.appendEvent(tx, kind: .updated, job: job, time: now, previousStatus: previousStatus)
        requeued.append(job)
      }
      return requeued
    }
  }
}
