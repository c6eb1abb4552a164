import Synchronization

/// Lets an operation stop one job's runner from outside it.
///
/// The runner awaits ``waitForStop()`` beside the running step; ``stop()`` resumes it,
/// and the runner then cancels the step (which stops its process group).
final class RunControl: Sendable {
  private struct State {
    var stopped = false
    var waiter: CheckedContinuation<Void, Never>?
  }

  /// The job execution this runner owns.
  let execution: Int64
  private let state = Mutex(State())

  init(execution: Int64) {
    self.execution = execution
  }

  var isStopped: Bool { state.withLock { $0.stopped } }

  func stop() {
    let waiter = state.withLock { state in
      state.stopped = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  /// Returns once ``stop()`` is called (at once if it was already), or when the
  /// calling task is cancelled.
  func waitForStop() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state in
          if state.stopped || Task.isCancelled { return true }
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
  }
}
