import Foundation
import KilnCore
import KilnStore
import Testing

/// Rule 3 of ``JobStore``: idempotency records are written in the change's own
/// transaction, for every store.
@Suite("Store contract: idempotency records", .timeLimit(.minutes(3)))
struct IdempotencyContractTests {
  @Test("the same request id returns the first answer; with other content it is refused", arguments: StoreUnderTest.all)
  func idempotency(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
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
  }

  @Test("a repeated mutation returns the first answer and changes nothing more", arguments: StoreUnderTest.all)
  func repeatedMutation(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let job = try #require(try await store.insert(makeJob(), idempotency: nil).job)
      let key = IdempotencyKey(id: "pause-1", fingerprint: "pause")
      let pause: @Sendable (inout Job) throws(KilnError) -> JobChange = { job throws(KilnError) in
        try job.apply(.pause, at: .kilnNow())
        return .update(.updated)
      }
      let first = try await store.mutate(jobID: job.id, idempotency: key, now: .kilnNow(), pause)
      let revision = try await store.currentRevision()
      // Applied again, pause would be refused (the job is PAUSED): the stored answer comes back instead.
      let again = try await store.mutate(jobID: job.id, idempotency: key, now: .kilnNow(), pause)
      #expect(again.replayed && again.job == first.job)
      #expect(try await store.currentRevision() == revision)
    }
  }

  @Test("of concurrent requests with one id exactly one acts; the others get its answer", arguments: StoreUnderTest.all)
  func concurrentRepeats(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let key = IdempotencyKey(id: "submit-once", fingerprint: "same")
      let all = try await withThrowingTaskGroup(of: MutationResult.self) { group in
        for _ in 0..<12 {
          group.addTask { try await store.insert(makeJob(), idempotency: key) }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      #expect(all.filter { !$0.replayed }.count == 1)
      #expect(Set(all.compactMap(\.job?.id)).count == 1, "every answer names the one job")
      #expect(try await store.listJobs(filter: JobFilter(), order: JobOrder(), limit: 100, after: nil).totalCount == 1)
      #expect(try await store.currentRevision() == 1)
    }
  }

  @Test("answers expire by age; a repeat after that acts again", arguments: StoreUnderTest.all)
  func expiringResponses(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let key = IdempotencyKey(id: "old", fingerprint: "A")
      _ = try await store.insert(makeJob(), idempotency: key)
      #expect(try await store.expireResponses(before: Date().addingTimeInterval(-60), batchSize: 10) == 0)
      #expect(try await store.storedResponse(for: key) != nil)
      #expect(try await store.expireResponses(before: Date().addingTimeInterval(60), batchSize: 10) == 1)
      #expect(try await store.storedResponse(for: key) == nil)
      #expect(try await store.insert(makeJob(), idempotency: key).replayed == false)
    }
  }

  @Test("a stored answer is returned as stored, and a key used for other content is refused", arguments: StoreUnderTest.all)
  func storedResponses(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      let key = IdempotencyKey(id: "batch-1", fingerprint: "X")
      #expect(try await store.storedResponse(for: key) == nil)
      try await store.storeResponse(Data([1, 2, 3]), for: key, now: .kilnNow())
      #expect(try await store.storedResponse(for: key) == Data([1, 2, 3]))
      let error = await #expect(throws: KilnError.self) {
        _ = try await store.storedResponse(for: IdempotencyKey(id: "batch-1", fingerprint: "Y"))
      }
      #expect(error?.code == .invalidArgument)
    }
  }
}
