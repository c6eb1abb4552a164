import Foundation
import KilnCore
import KilnStore
import Testing

/// Callbacks are queued in the transaction of the change that triggers them (rule 1 of
/// ``JobStore``), for every store.
@Suite("Store contract: the callback outbox", .timeLimit(.minutes(2)))
struct CallbackOutboxContractTests {
  static let url = "http://127.0.0.1:9/hook"

  /// Installs the rule that queues one callback when a job reaches FINISHED or ERROR.
  func installTrigger(_ store: any ContractStore) {
    store.setCallbackTrigger { job, previous in
      guard previous != job.status, job.status == .finished || job.status == .error else { return [] }
      return [CallbackRequest(url: Self.url, payload: Data("\(job.id) \(job.status.rawValue)".utf8))]
    }
  }

  @Test("a delivery is queued with the change that triggers it, and only then; a refused change queues none", arguments: StoreUnderTest.all)
  func queuedWithTheChange(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      installTrigger(store)
      let job = makeJob()
      _ = try await store.insert(job, idempotency: nil)
      try await move(store, job.id, to: .running)
      #expect(try await store.callbackDeliveries(jobID: job.id, limit: 10).isEmpty)
      await #expect(throws: KilnError.self) {
        _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) { (job: inout Job) throws(KilnError) -> JobChange in
          job.move(to: .finished, at: .kilnNow())
          throw KilnError(code: .aborted, message: "refused after the change was made")
        }
      }
      #expect(try await store.callbackDeliveries(jobID: job.id, limit: 10).isEmpty)

      try await move(store, job.id, to: .finished)
      let finished = try #require(try await store.job(id: job.id))
      let deliveries = try await store.callbackDeliveries(jobID: job.id, limit: 10)
      #expect(deliveries.count == 1)
      let delivery = try #require(deliveries.first)
      #expect(delivery.url == Self.url && delivery.jobStatus == .finished && delivery.revision == finished.revision)
      #expect(delivery.attempts == 0 && !delivery.delivered && delivery.nextAttemptTime != nil)
      #expect(finished.callbackDeliveries == nil, "deliveries are not part of the stored job")
      let detail = try #require(try await store.jobDetail(id: job.id, callbackLimit: 10))
      #expect(detail.callbackDeliveries == deliveries && detail.revision == finished.revision)
      #expect(try await store.jobDetail(id: "job-missing", callbackLimit: 10) == nil)

      let due = try await store.dueCallbacks(at: Date(), excludingIDs: [], excludingOrigins: [], limit: 10)
      #expect(due.map(\.delivery.id) == [delivery.id])
      #expect(due.first?.payload == Data("\(job.id) FINISHED".utf8))
      #expect(due.first?.origin == "http://127.0.0.1:9")
      #expect(try await store.dueCallbacks(at: Date(), excludingIDs: [delivery.id], excludingOrigins: [], limit: 10).isEmpty)
      #expect(try await store.dueCallbacks(at: Date(), excludingIDs: [], excludingOrigins: ["http://127.0.0.1:9"], limit: 10).isEmpty)
    }
  }

  @Test("attempts are recorded; a retry is due at its time; settled deliveries go with their job, unsettled ones stay", arguments: StoreUnderTest.all)
  func attemptsAndDeletion(_ kind: StoreUnderTest) async throws {
    try await kind.withStore { store in
      installTrigger(store)
      let first = makeJob()
      let second = makeJob()
      for job in [first, second] {
        _ = try await store.insert(job, idempotency: nil)
        try await move(store, job.id, to: .running)
        try await move(store, job.id, to: .finished)
      }
      let now = Date.kilnNow()
      let retryAt = now.addingTimeInterval(60)
      let firstID = try #require(try await store.callbackDeliveries(jobID: first.id, limit: 1).first?.id)
      let secondID = try #require(try await store.callbackDeliveries(jobID: second.id, limit: 1).first?.id)
      try await store.recordCallbackAttempt(
        id: firstID, CallbackAttempt(time: now, result: "HTTP 500", statusCode: 500, delivered: false, nextAttemptTime: retryAt))
      #expect(try await store.dueCallbacks(at: now, excludingIDs: [], excludingOrigins: [], limit: 10).map(\.delivery.id) == [secondID])
      #expect(try await store.nextCallbackDue(after: now) == retryAt)
      #expect(try await store.dueCallbacks(at: retryAt, excludingIDs: [], excludingOrigins: [], limit: 10).count == 2)

      try await store.recordCallbackAttempt(
        id: secondID, CallbackAttempt(time: now, result: "HTTP 200", statusCode: 200, delivered: true, nextAttemptTime: nil))
      let delivered = try #require(try await store.callbackDeliveries(jobID: second.id, limit: 1).first)
      #expect(delivered.delivered && delivered.attempts == 1 && delivered.lastResult == "HTTP 200" && delivered.nextAttemptTime == nil)
      let retried = try #require(try await store.callbackDeliveries(jobID: first.id, limit: 1).first)
      #expect(!retried.delivered && retried.attempts == 1 && retried.lastStatusCode == 500 && retried.nextAttemptTime == retryAt)

      for job in [first, second] {
        _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) { (_: inout Job) throws(KilnError) -> JobChange in .delete }
      }
      #expect(try await store.callbackDeliveries(jobID: second.id, limit: 10).isEmpty, "settled: forgotten with its job")
      #expect(try await store.callbackDeliveries(jobID: first.id, limit: 10).count == 1, "still to deliver: kept")
      try await store.recordCallbackAttempt(
        id: firstID, CallbackAttempt(time: retryAt, result: "HTTP 200", statusCode: 200, delivered: true, nextAttemptTime: nil))
      #expect(try await store.callbackDeliveries(jobID: first.id, limit: 10).isEmpty, "settled after its job went: forgotten")
    }
  }
}
