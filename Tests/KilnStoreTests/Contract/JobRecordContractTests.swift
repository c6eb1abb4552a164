import Foundation
import KilnCore
import KilnStore
import Testing

/// Rule 1 (one transaction per change) and rule 4 (exclusive claims) of ``JobStore``,
/// for every store.
@Suite("Store contract: job records", .timeLimit(.minutes(3)))
struct JobRecordContractTests {
  @Test("a mutation that throws leaves no trace: no change, no event, no idempotency record", arguments: StoreUnderTest.all)
  func atomicTransition(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
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
  }

  @Test("an unknown job is NOT_FOUND naming it, and nothing is written", arguments: StoreUnderTest.all)
  func unknownJob(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let error = await #expect(throws: KilnError.self) {
        _ = try await store.mutate(jobID: "no-such-job", idempotency: nil, now: .kilnNow()) { (_: inout Job) throws(KilnError) in
          .delete
        }
      }
      #expect(error?.code == .notFound)
      let message = error?.message ?? ""
      #expect(message.contains("no-such-job"), "\(message)")
      let revision = try await store.currentRevision()
      #expect(revision == 0, "nothing was written")
    }
  }

  @Test("a closure that writes nothing appends no event and keeps the revision", arguments: StoreUnderTest.all)
  func noChange(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let job = try #require(try await store.insert(makeJob(), idempotency: nil).job)
      let result = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) { (_: inout Job) throws(KilnError) in
        .none
      }
      #expect(result.job == job)
      #expect(try await store.currentRevision() == 1)
    }
  }

  @Test("revisions strictly increase across jobs, and each event carries the job as written", arguments: StoreUnderTest.all)
  func revisionsIncrease(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
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
  }

  @Test("claiming is FIFO within the global and per-project limits", arguments: StoreUnderTest.all)
  func claimLimits(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let base = Date.kilnNow()
      var ids: [String] = []
      for (i, project) in ["a", "a", "a", "b", "c"].enumerated() {
        let job = makeJob(project: project, created: base.addingTimeInterval(Double(i)))
        ids.append(try #require(try await store.insert(job, idempotency: nil).job).id)
      }
      let claimed = try await store.claimPendingJobs(maxRunning: 3, maxRunningPerProject: 2, excluding: [], now: .kilnNow(), lease: testLease) {
        job in job.move(to: .running, at: .kilnNow())
      }
      #expect(claimed.map(\.id) == [ids[0], ids[1], ids[3]])
      let more = try await store.claimPendingJobs(maxRunning: 3, maxRunningPerProject: 2, excluding: [], now: .kilnNow(), lease: testLease) {
        job in job.move(to: .running, at: .kilnNow())
      }
      #expect(more.isEmpty)
      #expect(try await store.jobIDs(inStatus: .running).count == 3)
      // An excluded job is passed over, and the next in line starts instead.
      try await move(store, ids[0], to: .paused)
      try await move(store, ids[0], to: .pending)
      try await move(store, ids[1], to: .finished)
      let next = try await store.claimPendingJobs(maxRunning: 3, maxRunningPerProject: 2, excluding: [ids[0]], now: .kilnNow(), lease: testLease) {
        job in job.move(to: .running, at: .kilnNow())
      }
      #expect(next.map(\.id) == [ids[2], ids[4]])
    }
  }

  @Test("concurrent claimers never start one job twice nor exceed the limits", arguments: StoreUnderTest.all)
  func concurrentClaims(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let base = Date.kilnNow()
      for i in 0..<60 {
        _ = try await store.insert(makeJob(project: ["a", "b", "c"][i % 3], created: base.addingTimeInterval(Double(i))), idempotency: nil)
      }
      let ids = try await withThrowingTaskGroup(of: [String].self) { group in
        for _ in 0..<6 {
          group.addTask {
            var claimed: [String] = []
            for _ in 0..<10 {
              let jobs = try await store.claimPendingJobs(maxRunning: 9, maxRunningPerProject: 4, excluding: [], now: .kilnNow(), lease: testLease) {
                job in job.move(to: .running, at: .kilnNow())
              }
              claimed += jobs.map(\.id)
            }
            return claimed
          }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      #expect(ids.count == Set(ids).count, "no job handed out twice")
      #expect(ids.count == 9, "the global limit is reached and kept")
      let running = try await store.listJobs(filter: JobFilter(statuses: [.running]), order: JobOrder(), limit: 100, after: nil).jobs
      #expect(Set(running.map(\.id)) == Set(ids))
      #expect(Dictionary(grouping: running, by: \.project).values.allSatisfy { $0.count <= 4 })
    }
  }

  @Test("retention deletes only old ended jobs, oldest first, each with a deleted event", arguments: StoreUnderTest.all)
  func retentionDeletes(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      var ids: [String] = []
      for status in [JobStatus.finished, .discarded, .running, .finished] {
        let id = try #require(try await store.insert(makeJob(), idempotency: nil).job).id
        try await move(store, id, to: status)
        ids.append(id)
      }
      let cutoff = Date.kilnNow().addingTimeInterval(1)
      let before = try await store.currentRevision()
      let first = try await store.deleteJobs(statuses: [.finished, .discarded], updatedBefore: cutoff, limit: 2, now: .kilnNow())
      #expect(first == [ids[0], ids[1]])
      let rest = try await store.deleteJobs(statuses: [.finished, .discarded], updatedBefore: cutoff, limit: 2, now: .kilnNow())
      #expect(rest == [ids[3]])
      #expect(try await store.deleteJobs(statuses: [.finished], updatedBefore: .distantPast, limit: 10, now: .kilnNow()).isEmpty)
      let events = try await store.events(after: before, limit: 10)
      #expect(events.map(\.kind) == [.deleted, .deleted, .deleted])
      #expect(events.map(\.job.id) == [ids[0], ids[1], ids[3]])
      #expect(try await store.existingJobIDs(among: ids + ["never"]) == [ids[2]])
    }
  }
}
