/// Lets an operation stop one job's runner from outside it.
///
/// The runner awaits ``waitForStop()`` beside the running step; ``stop()`` ends that
/// wait, and the runner then cancels the step (which stops its process group).
final class RunControl: Sendable {
  /// The job execution this runner owns.
  let execution: Int64
  /// The revision of the claim that started it: events up to it are older than the run.
  let claimRevision: Int64
  private let stopped = Signal()

  init(execution: Int64, claimRevision: Int64) {
    self.execution = execution
    self.claimRevision = claimRevision
  }

  var isStopped: Bool { stopped.isFired }

  func stop() { stopped.fire() }

  /// Returns once ``stop()`` is called (at once if it was already), or when the
  /// calling task is cancelled.
  func waitForStop() async { await stopped.wait() }
}
