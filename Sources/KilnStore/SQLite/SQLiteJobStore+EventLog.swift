public import Foundation
public import KilnCore
import GRDB

extension SQLiteJobStore {
  public func snapshot(filter: JobFilter) async throws -> (revision: Int64, jobs: [Job]) {
    try await writer.read { db in
      let (whereSQL, arguments) = Self.whereClause(for: filter)
      let jobs = try String.fetchAll(db, sql: "SELECT body FROM job \(whereSQL) ORDER BY create_time, id", arguments: arguments)
        .map(JobCoding.decodeJob)
      return (try Self.latestRevision(db), jobs)
    }
  }

  public func jobCounts() async throws -> (revision: Int64, counts: [JobCount]) {
    try await writer.read { db in
      let counts = try Row.fetchAll(
        db, sql: "SELECT project, status, n FROM job_count WHERE n > 0 ORDER BY project, status"
      ).map { row in
        JobCount(project: row["project"], status: try JobCoding.status(row["status"]), count: row["n"])
      }
      return (try Self.latestRevision(db), counts)
    }
  }

  public func compactedThrough() async throws -> Int64 {
    try await writer.read { db in try Self.compactedThrough(db) }
  }

  static func compactedThrough(_ db: Database) throws -> Int64 {
    guard let data = try Data.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'compacted_through'") else {
      return 0
    }
    return Int64(String(decoding: data, as: UTF8.self)) ?? 0
  }

  public func compactEvents(keepLast: Int, before: Date, batchSize: Int) async throws -> Int {
    var removed = 0
    while true {
      let count = try await writer.write { db -> Int in
        let latest = try Self.latestRevision(db)
        let byCount = latest - Int64(max(keepLast, 1))
        let byAge =
          try Int64.fetchOne(
            db, sql: "SELECT MAX(revision) FROM job_event WHERE time < ?", arguments: [JobCoding.millis(before)]) ?? 0
        // Everything at or below `limit` goes, but never the newest event.
        let limit = min(max(byCount, byAge), latest - 1)
        guard limit > 0 else { return 0 }
        let ids = try Int64.fetchAll(
          db, sql: "SELECT revision FROM job_event WHERE revision <= ? ORDER BY revision LIMIT ?",
          arguments: [limit, batchSize])
        guard let last = ids.last else { return 0 }
        try db.execute(sql: "DELETE FROM job_event WHERE revision <= ?", arguments: [last])
        let through = max(last, try Self.compactedThrough(db))
        try db.execute(
          sql: "INSERT INTO setting (name, value) VALUES ('compacted_through', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
          arguments: [Data(String(through).utf8)])
        return ids.count
      }
      removed += count
      if count < batchSize { return removed }
    }
  }
}

extension SQLiteJobStore {
  public func expireResponses(before: Date, batchSize: Int) async throws -> Int {
    var removed = 0
    while true {
      let count = try await writer.write { db -> Int in
        try db.execute(
          sql: """
            DELETE FROM request WHERE id IN
              (SELECT id FROM request WHERE create_time < ? ORDER BY create_time LIMIT ?)
            """, arguments: [JobCoding.millis(before), batchSize])
        return db.changesCount
      }
      removed += count
      if count < batchSize { return removed }
    }
  }
}
