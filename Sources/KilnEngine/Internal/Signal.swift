import Synchronization

/// A one-way signal between tasks: ``fire()`` wakes whoever waits, or the next waiter.
///
/// A level-triggered signal (``wait()``) stays fired once fired; an edge-triggered one
/// (``waitAndReset()``) is consumed by the wait it ends. Waits also end when the
/// waiting task is cancelled.
package final class Signal: Sendable {
  private struct State {
    var fired = false
    /// Every task waiting, by a number of its own: a cancelled wait resumes only itself.
    /// (One continuation used to be kept: with two health watchers the first was never
    /// resumed, and graceful shutdown waited for it forever.)
    var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextID: UInt64 = 0
  }

  private let state = Mutex(State())

  package init() {}

  /// Whether the signal has fired (and was not consumed since).
  package var isFired: Bool { state.withLock { $0.fired } }

  /// How many tasks are waiting now (for tests).
  package var waiterCount: Int { state.withLock { $0.waiters.count } }

  /// Fires the signal: every waiting task returns.
  package func fire() {
    let waiters = state.withLock { state in
      state.fired = true
      defer { state.waiters = [:] }
      return state.waiters.values
    }
    for waiter in waiters { waiter.resume() }
  }

  /// Returns once the signal has fired, or when the task is cancelled.
  package func wait() async {
    await wait(consuming: false)
  }

  /// Returns once the signal has fired since the last such wait, or when the task is
  /// cancelled; either way the signal is reset.
  package func waitAndReset() async {
    await wait(consuming: true)
  }

  private func wait(consuming: Bool) async {
    let id = state.withLock { state in
      defer { state.nextID += 1 }
      return state.nextID
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state in
          if state.fired || Task.isCancelled { return true }
          state.waiters[id] = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
      waiter?.resume()
    }
    if consuming { state.withLock { $0.fired = false } }
  }
}
