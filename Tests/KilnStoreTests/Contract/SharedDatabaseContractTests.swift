import Foundation
import KilnCore
import KilnStore
import Testing

/// The rules of ``JobStore`` with several stores on one database, as several kilnd
/// processes (replicas) have: each store has its own connections, so nothing in one
/// process can serialize what the others do; only the database can.
@Suite("Store contract: several stores on one database", .timeLimit(.minutes(3)))
struct SharedDatabaseContractTests {
  @Test(
    "writers on two stores, a reader on a third: every revision once, in order, never a gap that fills later",
    arguments: StoreUnderTest.sharable)
  func revisionsInCommitOrder(_ kind: StoreUnderTest) async throws {
    try await kind.withSharedStores(3) { stores in
      let (writers, reader) = (Array(stores.prefix(2)), stores[2])
      let changesPerTask = 40
      var ids: [String] = []
      for i in 0..<4 { ids.append(try #require(try await writers[0].insert(makeJob(subject: "s\(i)"), idempotency: nil).job).id) }
      let start = try await reader.currentRevision()
      let total = Int64(ids.count * changesPerTask)
      let following = Task { () throws -> [Int64] in
        var seen: [Int64] = []
        var last = start
        while last < start + total {
          let batch = try await reader.events(after: last, limit: 13)
          guard let first = batch.first else {
            try await Task.sleep(for: .milliseconds(2))
            continue
          }
          #expect(first.revision == last + 1, "the batch after \(last) starts at \(first.revision)")
          #expect(batch.map(\.revision) == Array(first.revision..<(first.revision + Int64(batch.count))))
          seen += batch.map(\.revision)
          last = batch.last!.revision
        }
        return seen
      }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (index, id) in ids.enumerated() {
          let store = writers[index % writers.count]
          group.addTask {
            for i in 0..<changesPerTask {
              _ = try await store.mutate(jobID: id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) in
                job.status = i.isMultiple(of: 2) ? .paused : .pending
                return .update(.updated)
              }
            }
          }
        }
        try await group.waitForAll()
      }
      #expect(try await following.value == Array((start + 1)...(start + total)))
      for store in stores { #expect(try await store.currentRevision() == start + total) }
    }
  }

  @Test("claimers on three stores never start one job twice nor exceed the limits", arguments: StoreUnderTest.sharable)
  func claimsAcrossStores(_ kind: StoreUnderTest) async throws {
    try await kind.withSharedStores(3) { stores in
      let base = Date.kilnNow()
      for i in 0..<60 {
        _ = try await stores[0].insert(
          makeJob(project: ["a", "b", "c"][i % 3], created: base.addingTimeInterval(Double(i))), idempotency: nil)
      }
      let ids = try await withThrowingTaskGroup(of: [String].self) { group in
        for index in 0..<6 {
          let store = stores[index % stores.count]
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
      let running = try await stores[1].listJobs(
        filter: JobFilter(statuses: [.running]), order: JobOrder(), limit: 100, after: nil
      ).jobs
      #expect(Set(running.map(\.id)) == Set(ids))
      #expect(Dictionary(grouping: running, by: \.project).values.allSatisfy { $0.count <= 4 })
    }
  }

  @Test("one request id sent to two stores at once acts once", arguments: StoreUnderTest.sharable)
  func idempotencyAcrossStores(_ kind: StoreUnderTest) async throws {
    try await kind.withSharedStores(2) { stores in
      let key = IdempotencyKey(id: "submit-once", fingerprint: "same")
      let all = try await withThrowingTaskGroup(of: MutationResult.self) { group in
        for index in 0..<12 {
          let store = stores[index % stores.count]
          group.addTask { try await store.insert(makeJob(), idempotency: key) }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      #expect(all.filter { !$0.replayed }.count == 1)
      #expect(Set(all.compactMap(\.job?.id)).count == 1, "every answer names the one job")
      #expect(try await stores[1].currentRevision() == 1)
    }
  }

  @Test("two ADMINs disabling each other through two stores: exactly one is disabled", arguments: StoreUnderTest.sharable)
  func lastAdminAcrossStores(_ kind: StoreUnderTest) async throws {
    try await kind.withSharedStores(2) { stores in
      for name in ["root1", "root2"] { try await stores[0].createUser(User(name: name, isAdmin: true, createTime: .kilnNow())) }
      for _ in 0..<10 {
        let outcomes = await withTaskGroup(of: Bool.self) { group in
          for (index, name) in ["root1", "root2"].enumerated() {
            let store = stores[index]
            group.addTask { (try? await store.setUserDisabled(name, disabled: true)) != nil }
          }
          return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1, "exactly one of the two is disabled")
        for name in ["root1", "root2"] { _ = try await stores[1].setUserDisabled(name, disabled: false) }
      }
    }
  }

  @Test(
    "a commit through one store is announced by the others, once its events can be read there",
    arguments: StoreUnderTest.sharable.filter(\.announcesOtherStoresCommits))
  func announcementsAcrossStores(_ kind: StoreUnderTest) async throws {
    try await kind.withSharedStores(2) { stores in
      let (writer, listener) = (stores[0], stores[1])
      var announced = listener.commitNotifications().makeAsyncIterator()
      // The listener is listening once the first announcement (its current revision)
      // arrives, or once a commit does.
      try await Task.sleep(for: .milliseconds(200))
      let job = try #require(try await writer.insert(makeJob(), idempotency: nil).job)
      var latest: Int64 = 0
      while latest < job.revision, let next = await announced.next() { latest = next }
      #expect(latest == job.revision)
      #expect(try await listener.events(after: job.revision - 1, limit: 1).first?.job.id == job.id)
    }
  }
}
