import Foundation
import KilnCore
import KilnStore
import Testing

/// Rule 2 of ``JobStore`` (revisions in commit order, announced once readable), and
/// snapshots and compaction, for every store.
@Suite("Store contract: the event log", .timeLimit(.minutes(3)))
struct EventLogContractTests {
  @Test("compaction keeps the newest events by count and by age, and records how far it went", arguments: StoreUnderTest.all)
  func compaction(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
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
  }

  @Test("a snapshot is the matching jobs with the revision they are consistent at", arguments: StoreUnderTest.all)
  func snapshot(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let a = try #require(try await store.insert(makeJob(project: "a"), idempotency: nil).job)
      _ = try await store.insert(makeJob(project: "b"), idempotency: nil)
      let (revision, jobs) = try await store.snapshot(filter: JobFilter(projects: ["a"]))
      #expect(revision == 2)
      #expect(jobs.map(\.id) == [a.id])
      var one = JobFilter()
      one.ids = [a.id]
      #expect(try await store.snapshot(filter: one).jobs.map(\.id) == [a.id])
    }
  }

  @Test("job counts are by project and status, consistent with the revision they are read at", arguments: StoreUnderTest.all)
  func jobCounts(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      #expect(try await store.jobCounts().counts.isEmpty)
      let a = try #require(try await store.insert(makeJob(project: "a"), idempotency: nil).job)
      _ = try await store.insert(makeJob(project: "a"), idempotency: nil)
      _ = try await store.insert(makeJob(project: "b"), idempotency: nil)
      _ = try await store.mutate(jobID: a.id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
        try job.apply(.pause, at: .kilnNow())
        return .update(.updated)
      }
      let (revision, counts) = try await store.jobCounts()
      #expect(revision == 4)
      #expect(
        Set(counts) == [
          JobCount(project: "a", status: .paused, count: 1), JobCount(project: "a", status: .pending, count: 1),
          JobCount(project: "b", status: .pending, count: 1),
        ])
      _ = try await store.mutate(jobID: a.id, idempotency: nil, now: .kilnNow()) { _ throws(KilnError) in .delete }
      #expect(try await store.jobCounts().counts.filter { $0.project == "a" } == [JobCount(project: "a", status: .pending, count: 1)])
    }
  }

  @Test("every commit is announced with the latest revision, and events carry the previous status", arguments: StoreUnderTest.all)
  func notifications(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
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

  @Test(
    "with concurrent writers, a reader following events(after:) sees every revision once, in order, never a gap that fills later",
    arguments: StoreUnderTest.all)
  func noGapsUnderConcurrentWriters(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let writers = 4
      let changesPerWriter = 60
      var ids: [String] = []
      for i in 0..<writers { ids.append(try #require(try await store.insert(makeJob(subject: "s\(i)"), idempotency: nil).job).id) }
      let start = try await store.currentRevision()
      let total = Int64(writers * changesPerWriter)
      let commits = store.commitNotifications()
      // The reader: follows the log as a watcher does, woken by commit notifications
      // and by polling, and checks every batch continues the last one exactly.
      let reader = Task { () throws -> [Int64] in
        var seen: [Int64] = []
        var last = start
        var wakeUps = commits.makeAsyncIterator()
        while last < start + total {
          let batch = try await store.events(after: last, limit: 17)
          if let first = batch.first {
            #expect(first.revision == last + 1, "the batch after \(last) starts at \(first.revision)")
            #expect(batch.map(\.revision) == Array(first.revision..<(first.revision + Int64(batch.count))))
            for event in batch { #expect(event.job.revision == event.revision) }
            seen += batch.map(\.revision)
            last = batch.last!.revision
          } else if let announced = await wakeUps.next() {
            // Announced means readable: the log reaches at least that far now.
            let reached = try await store.events(after: announced - 1, limit: 1).first?.revision
            #expect(announced <= start || reached == announced, "revision \(announced) was announced before it could be read")
          }
        }
        return seen
      }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for id in ids {
          group.addTask {
            for i in 0..<changesPerWriter {
              _ = try await store.mutate(jobID: id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
                job.status = i.isMultiple(of: 2) ? .paused : .pending
                return .update(.updated)
              }
            }
          }
        }
        try await group.waitForAll()
      }
      let seen = try await reader.value
      #expect(seen == Array((start + 1)...(start + total)))
      #expect(try await store.currentRevision() == start + total)
    }
  }
}
