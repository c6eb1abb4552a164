public import Foundation
public import KilnCore
import GRDB

extension SQLiteJobStore {
  public func deleteJobs(statuses: Set<JobStatus>, updatedBefore: Date, limit: Int, now: Date) async throws -> [String] {
    guard !statuses.isEmpty, limit > 0 else { return [] }
    return try await notifyingCommit { db in
      var arguments = StatementArguments(statuses.map(\.rawValue).sorted())
      _ = arguments.append(contentsOf: [JobCoding.millis(updatedBefore), limit])
      // Index job_status_update: one range per status.
      let bodies = try String.fetchAll(
        db,
        sql: """
          SELECT body FROM job
          WHERE status IN (\(Array(repeating: "?", count: statuses.count).joined(separator: ", "))) AND update_time < ?
          ORDER BY update_time, id LIMIT ?
          """, arguments: arguments)
      var deleted: [String] = []
      for body in bodies {
        let job = try JobCoding.decodeJob(body)
        try self.deleteJob(db, job, previousStatus: job.status, now: now)
        deleted.append(job.id)
      }
      return deleted
    }
  }

  public func existingJobIDs(among ids: [String]) async throws -> Set<String> {
    guard !ids.isEmpty else { return [] }
    return try await writer.read { db in
      var found = Set<String>()
      // SQLite limits the number of bound parameters; ask in chunks.
      for start in stride(from: 0, to: ids.count, by: 500) {
        let chunk = Array(ids[start..<min(start + 500, ids.count)])
        let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
        found.formUnion(
          try String.fetchAll(db, sql: "SELECT id FROM job WHERE id IN (\(placeholders))", arguments: StatementArguments(chunk)))
      }
      return found
    }
  }
}
