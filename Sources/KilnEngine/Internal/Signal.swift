import Synchronization

/// A one-way signal between tasks: ``fire()`` wakes whoever waits, or the next waiter.
///
/// A level-triggered signal (``wait()``) stays fired once fired; an edge-triggered one
/// (``waitAndReset()``) is consumed by the wait it ends. Waits also end when the
/// waiting task is cancelled.
package final class Signal: Sendable {
  private struct State {
    var fired = false
    var waiter: CheckedContinuation<Void, Never>?
  }

  private let state = Mutex(State())

  package init() {}

  /// Whether the signal has fired (and was not consumed since).
  package var isFired: Bool { state.withLock { $0.fired } }

  package func fire() {
    let waiter = state.withLock { state in
      state.fired = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
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
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state in
          if state.fired || Task.isCancelled { return true }
          state.waiter = continuation
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { state in
        defer { state.waiter = nil }
        return state.waiter
      }
      waiter?.resume()
    }
    if consuming { state.withLock { $0.fired = false } }
  }
}
