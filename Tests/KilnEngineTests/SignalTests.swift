import KilnEngine
import Synchronization
import Testing

@Suite("Signal", .timeLimit(.minutes(1)))
struct SignalTests {
  @Test("every waiter returns when the signal fires, and a cancelled waiter leaves the others waiting")
  func manyWaiters() async throws {
    let signal = Signal()
    let returned = LockedCounter()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<5 {
        group.addTask {
          await signal.wait()
          returned.add()
        }
      }
      let cancelled = Task { await signal.wait() }
      while signal.waiterCount < 6 { await Task.yield() }
      cancelled.cancel()
      await cancelled.value
      #expect(returned.value == 0, "cancelling one wait resumed no other")
      signal.fire()
      await group.waitForAll()
    }
    #expect(returned.value == 5)
    await signal.wait()  // Level-triggered: stays fired.
  }
}

/// A count shared with child tasks.
final class LockedCounter: Sendable {
  private let mutex = Mutex(0)
  func add() { mutex.withLock { $0 += 1 } }
  var value: Int { mutex.withLock { $0 } }
}
