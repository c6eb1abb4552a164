import Foundation
import KilnCore
import KilnStore
import Testing

/// ``JobLeases``: claims carry a lease, renewals keep it, and requeues take only what
/// has run out or belongs to the restarted replica.
@Suite("Store contract: job leases", .timeLimit(.minutes(3)))
struct JobLeaseContractTests {
  /// Claims the next pending job (`running` are running already) for `owner`.
  func claim(_ store: any ContractStore, owner: String, expiry: Date, running: Int = 0) async throws -> [Job] {
    try await store.claimPendingJobs(
      maxRunning: running + 1, maxRunningPerProject: 100, excluding: [], now: .kilnNow(),
      lease: JobLease(owner: owner, expiry: expiry)
    ) { job in job.move(to: .running, at: .kilnNow()) }
  }

  @Test("a claim's lease is renewed by its owner, kept across the runner's writes, and gone once the job leaves RUNNING", arguments: StoreUnderTest.all)
  func renewal(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let job = try #require(try await store.insert(makeJob(), idempotency: nil).job)
      let claimed = try await claim(store, owner: "a", expiry: Date().addingTimeInterval(30))
      #expect(claimed.map(\.id) == [job.id])
      #expect(try await store.renewLeases(owner: "a", jobIDs: [job.id], until: Date().addingTimeInterval(30)) == [job.id])
      #expect(try await store.renewLeases(owner: "b", jobIDs: [job.id], until: Date().addingTimeInterval(30)).isEmpty)
      // A runner's write (a step's progress) keeps the lease.
      _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
        job.steps[0].progress = 50
        return .update(.progress)
      }
      #expect(try await store.renewLeases(owner: "a", jobIDs: [job.id], until: Date().addingTimeInterval(30)) == [job.id])
      try await move(store, job.id, to: .paused)
      #expect(try await store.renewLeases(owner: "a", jobIDs: [job.id], until: Date().addingTimeInterval(30)).isEmpty)
    }
  }

  @Test("a requeue takes run-out leases and the restarted owner's, never another's live lease", arguments: StoreUnderTest.all)
  func requeue(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let base = Date.kilnNow()
      var ids: [String] = []
      for i in 0..<3 {
        ids.append(try #require(try await store.insert(makeJob(created: base.addingTimeInterval(Double(i))), idempotency: nil).job).id)
      }
      _ = try await claim(store, owner: "dead", expiry: Date().addingTimeInterval(-1))
      _ = try await claim(store, owner: "alive", expiry: Date().addingTimeInterval(60), running: 1)
      _ = try await claim(store, owner: "restarted", expiry: Date().addingTimeInterval(60), running: 2)
      let before = try await store.currentRevision()
      let requeued = try await store.requeueRunningJobs(heldBy: "restarted", leaseExpiredBefore: .kilnNow(), now: .kilnNow()) { job in
        job.move(to: .pending, at: .kilnNow())
        return true
      }
      #expect(Set(requeued.map(\.id)) == [ids[0], ids[2]])
      #expect(requeued.allSatisfy { $0.status == .pending })
      let events = try await store.events(after: before, limit: 10)
      #expect(events.count == 2, "one event each")
      #expect(Set(events.map(\.job.id)) == [ids[0], ids[2]])
      #expect(try await store.job(id: ids[1])?.status == .running)
      #expect(try await store.renewLeases(owner: "alive", jobIDs: Set(ids), until: Date().addingTimeInterval(60)) == [ids[1]])
      #expect(try await store.renewLeases(owner: "dead", jobIDs: Set(ids), until: Date().addingTimeInterval(60)).isEmpty, "a taken job stays taken")
      // A closure that declines writes nothing.
      let declined = try await store.requeueRunningJobs(heldBy: "alive", leaseExpiredBefore: .kilnNow(), now: .kilnNow()) { _ in false }
      #expect(declined.isEmpty)
      #expect(try await store.job(id: ids[1])?.status == .running)
      // Without an expiry, only the named owner's jobs; events carry the write's time.
      _ = try await claim(store, owner: "dead", expiry: Date().addingTimeInterval(-1), running: 1)
      let writeTime = Date.kilnNow()
      let ownOnly = try await store.requeueRunningJobs(heldBy: "alive", leaseExpiredBefore: nil, now: writeTime) { job in
        job.move(to: .pending, at: writeTime)
        return true
      }
      #expect(ownOnly.map(\.id) == [ids[1]], "the run-out lease of another stays")
      let last = try #require(try await store.events(after: try await store.currentRevision() - 1, limit: 1).first)
      #expect(abs(last.time.timeIntervalSince(writeTime)) < 1)
    }
  }
}
