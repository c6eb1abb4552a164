import Foundation
import KilnCore
import KilnStore
import Testing

func makeJob(
  id: String = UUID().uuidString.lowercased(), project: String = "p1", type: String = "T", subject: String = "s",
  status: JobStatus = .pending, created: Date = .kilnNow()
) -> Job {
  Job(
    id: id, project: project, jobType: type, subject: subject, status: status,
    steps: [Step(name: "A", index: 0), Step(name: "B", index: 1)], submitter: "tester", createTime: created,
    updateTime: created, queuedTime: status == .pending ? created : nil)
}

func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

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
          "v1-jobs-events-requests", "v2-projects-users-tokens-audit", "v3-retention-callbacks", "v4-subjects",
        ])
      _ = try await store.insert(job, idempotency: nil)
      // WAL mode: writes go to the write-ahead log while the database is open.
      #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }
    let reopened = try await testStore(path: path)
    #expect(try await reopened.job(id: job.id)?.id == job.id)
    #expect(try await reopened.currentRevision() == 1)
  }

  @Test("a mutation that throws leaves no trace: no change, no event")
  func atomicTransition() async throws {
    let store = try await testStore()
    let job = try #require(try await store.insert(makeJob(), idempotency: nil).job)
    let revision = try await store.currentRevision()
    await #expect(throws: KilnError.self) {
      _ = try await store.mutate(jobID: job.id, idempotency: IdempotencyKey(id: "r1", fingerprint: "f"), now: .kilnNow()) {
        (job: inout Job) throws(KilnError) -> JobChange in
        job.status = .running
        job.subject = "changed"
        throw KilnError(code: .failedPrecondition, message: "refused half-way")
      }
    }
    #expect(try await store.job(id: job.id) == job)
    #expect(try await store.currentRevision() == revision)
    #expect(try await store.storedResponse(for: IdempotencyKey(id: "r1", fingerprint: "f")) == nil)
  }

  @Test("revisions strictly increase across jobs, and each event carries the job as written")
  func revisionsIncrease() async throws {
    let store = try await testStore()
    var ids: [String] = []
    for i in 0..<5 { ids.append(try #require(try await store.insert(makeJob(subject: "s\(i)"), idempotency: nil).job).id) }
    for id in ids {
      _ = try await store.mutate(jobID: id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
        try job.apply(.pause, at: .kilnNow())
        return .update(.updated)
      }
    }
    _ = try await store.mutate(jobID: ids[0], idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
      try job.apply(.discard, at: .kilnNow())
      return .update(.updated)
    }
    _ = try await store.mutate(jobID: ids[0], idempotency: nil, now: .kilnNow()) { (_: inout Job) throws(KilnError) in .delete }
    let events = try await store.events(after: 0, limit: 100)
    #expect(events.map(\.revision) == Array(1...12))
    #expect(events.map(\.kind).filter { $0 == .created }.count == 5)
    #expect(events.last?.kind == .deleted)
    for event in events where event.kind != .deleted {
      #expect(event.job.revision == event.revision)
    }
    #expect(try await store.currentRevision() == 12)
    #expect(try await store.job(id: ids[0]) == nil)
    #expect(try await store.job(id: ids[1])?.revision == 7)
  }

  @Test("the same request id returns the first answer; with other content it is refused")
  func idempotency() async throws {
    let store = try await testStore()
    let key = IdempotencyKey(id: "req-1", fingerprint: "A")
    let first = try await store.insert(makeJob(), idempotency: key)
    let second = try await store.insert(makeJob(), idempotency: key)
    #expect(second.replayed)
    #expect(second.job == first.job)
    #expect(try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 10, after: nil).totalCount == 1)
    let error = await #expect(throws: KilnError.self) {
      _ = try await store.insert(makeJob(), idempotency: IdempotencyKey(id: "req-1", fingerprint: "B"))
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.contains("request_id") == true)
  }

  @Test("idempotency answers expire by age; a repeat after that acts again")
  func expiringResponses() async throws {
    let store = try await testStore()
    let key = IdempotencyKey(id: "old", fingerprint: "A")
    _ = try await store.insert(makeJob(), idempotency: key)
    #expect(try await store.expireResponses(before: Date().addingTimeInterval(-60), batchSize: 10) == 0)
    #expect(try await store.storedResponse(for: key) != nil)
    #expect(try await store.expireResponses(before: Date().addingTimeInterval(60), batchSize: 10) == 1)
    #expect(try await store.storedResponse(for: key) == nil)
    #expect(try await store.insert(makeJob(), idempotency: key).replayed == false)
  }

  @Test("claiming is FIFO within the global and per-project limits")
  func claimLimits() async throws {
    let store = try await testStore()
    let base = Date.kilnNow()
    var ids: [String] = []
    for (i, project) in ["a", "a", "a", "b", "c"].enumerated() {
      let job = makeJob(project: project, created: base.addingTimeInterval(Double(i)))
      ids.append(try #require(try await store.insert(job, idempotency: nil).job).id)
    }
    let claimed = try await store.claimPendingJobs(maxRunning: 3, maxRunningPerProject: 2, excluding: [], now: .kilnNow()) { job in
      job.move(to: .running, at: .kilnNow())
    }
    #expect(claimed.map(\.id) == [ids[0], ids[1], ids[3]])
    let more = try await store.claimPendingJobs(maxRunning: 3, maxRunningPerProject: 2, excluding: [], now: .kilnNow()) { job in
      job.move(to: .running, at: .kilnNow())
    }
    #expect(more.isEmpty)
    #expect(try await store.jobIDs(inStatus: .running).count == 3)
  }
}
