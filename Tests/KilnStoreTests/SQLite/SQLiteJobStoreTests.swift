import Foundation
import KilnCore
import KilnStore
import Testing

/// What only the SQLite store does; what every store does is in `Contract/`.
@Suite("The SQLite store", .timeLimit(.minutes(3)))
struct SQLiteJobStoreTests {
  @Test("a new file is created in WAL mode and migrated; reopening keeps the data")
  func migrationsOnNewFile() async throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("kiln.sqlite").path
    let job = makeJob()
    do {
      let store = try await testStore(path: path)
      #expect(
        try await store.appliedMigrations() == [
          "v1-jobs-events-requests", "v2-projects-users-tokens-audit", "v3-retention-callbacks", "v4-subjects", "v5-job-leases",
          "v6-job-counts",
        ])
      _ = try await store.insert(job, idempotency: nil)
      // WAL mode: writes go to the write-ahead log while the database is open.
      #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
    let reopened = try await testStore(path: path)
    #expect(try await reopened.job(id: job.id)?.id == job.id)
    #expect(try await reopened.currentRevision() == 1)
  }
}
