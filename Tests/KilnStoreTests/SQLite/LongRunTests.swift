import Foundation
import Synchronization
import KilnCore
import KilnStore
import Testing

/// A process that runs for months writes millions of events: whatever a write does
/// once per event must not accumulate.
@Suite("Long runs of the store", .timeLimit(.minutes(5)))
struct LongRunTests {
  /// How many events the long run writes: 25,000 by default (twice the ≈12,160 at which
  /// kilnd used to die; ≈25 s in a debug build), `KILN_LONG_RUN_EVENTS=200000` for the
  /// full run (≈200 s in a debug build).
  static let events = ProcessInfo.processInfo.environment["KILN_LONG_RUN_EVENTS"].flatMap(Int.init) ?? 25_000

  /// kilnd died with a stack overflow at ≈12,160 events: the callback rule, kept in a
  /// `Mutex`, gained a reabstraction thunk at every event. Many events through the path
  /// that consults the rule, then the store still writes, reads and triggers.
  @Test("tens of thousands of events through the callback rule, and the store still serves")
  func manyEvents() async throws {
    let store = try await testStore()
    let finishedSeen = LongRunCounter()
    store.setCallbackTrigger { job, previous in
      if job.status == .finished, previous != .finished { finishedSeen.add() }
      return []
    }
    let job = makeJob()
    _ = try await store.insert(job, idempotency: nil)
    let total = Self.events
    for i in 0..<total - 1 {
      let status: JobStatus = i.isMultiple(of: 2) ? .paused : .pending
      _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) {
        (job: inout Job) throws(KilnError) -> JobChange in
        job.status = status
        return .update(.updated)
      }
    }
    #expect(try await store.currentRevision() >= Int64(total))
    _ = try await store.mutate(jobID: job.id, idempotency: nil, now: .kilnNow()) {
      (job: inout Job) throws(KilnError) -> JobChange in
      job.status = .finished
      return .update(.updated)
    }
    #expect(finishedSeen.value == 1)
    #expect(try await store.job(id: job.id)?.status == .finished)
  }
}

/// A counter the callback rule (a `@Sendable` closure) can bump.
final class LongRunCounter: Sendable {
  private let count = Mutex(0)
  func add() { count.withLock { $0 += 1 } }
  var value: Int { count.withLock { $0 } }
}
