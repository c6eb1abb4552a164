import Foundation
import KilnCore
import KilnStore
import Testing

@Suite("The event log: snapshots, compaction, commit notifications", .timeLimit(.minutes(3)))
struct EventLogTests {
  @Test("compaction keeps the newest events by count and by age, and records how far it went")
  func compaction() async throws {
    let store = try await testStore()
    for i in 0..<25 { _ = try await store.insert(makeJob(subject: "s\(i)"), idempotency: nil) }
    #expect(try await store.compactedThrough() == 0)
    let removed = try await store.compactEvents(keepLast: 10, before: .distantPast, batchSize: 4)
    #expect(removed == 15)
    #expect(try await store.compactedThrough() == 15)
    #expect(try await store.events(after: 0, limit: 100).map(\.revision) == Array(16...25))
    // By age: everything older than now goes, but never the newest event.
    let byAge = try await store.compactEvents(keepLast: 1000, before: .distantFuture, batchSize: 1000)
    #expect(byAge == 9)
    #expect(try await store.events(after: 0, limit: 100).map(\.revision) == [25])
    #expect(try await store.compactedThrough() == 24)
    // New events keep their own revisions; nothing is reused.
    _ = try await store.insert(makeJob(), idempotency: nil)
    #expect(try await store.currentRevision() == 26)
  }

  @Test("a snapshot is the matching jobs with the revision they are consistent at")
  func snapshot() async throws {
    let store = try await testStore()
    let a = try #require(try await store.insert(makeJob(project: "a"), idempotency: nil).job)
    _ = try await store.insert(makeJob(project: "b"), idempotency: nil)
    let (revision, jobs) = try await store.snapshot(filter: JobFilter(projects: ["a"]))
    #expect(revision == 2)
    #expect(jobs.map(\.id) == [a.id])
    var one = JobFilter()
    one.ids = [a.id]
    #expect(try await store.snapshot(filter: one).jobs.map(\.id) == [a.id])
  }

  @Test("every commit is announced with the latest revision, and events carry the previous status")
  func notifications() async throws {
    let store = try await testStore()
    let commits = store.commitNotifications()
    let job = try #require(try await store.insert(makeJob(), idempotency: nil).job)
    var iterator = commits.makeAsyncIterator()
    #expect(await iterator.next() == 1)
    _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
      try job.apply(.pause, at: .kilnNow())
      return .update(.updated)
    }
    #expect(await iterator.next() == 2)
    let events = try await store.events(after: 0, limit: 10)
    #expect(events.map(\.previousStatus) == [nil, .pending])
  }
}
