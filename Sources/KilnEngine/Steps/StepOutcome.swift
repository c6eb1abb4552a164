/// How one execution of a step ended.
enum StepOutcome: Sendable, Equatable {
  /// The step did its work.
  case succeeded
  /// The step failed; the message says why.
  case failed(String)
  /// The step was stopped from outside (pause, discard, restart, shutdown).
  case stopped
}

/// What a step needs to know to run.
struct StepContext: Sendable {
  var jobID: String
  var project: String
  var subject: String
  var attempt: Int
  var stepName: String
  var stepIndex: Int
  var params: [String: String]
  /// How many times this step has already run and failed in this attempt.
  var priorFailures: Int
  var log: StepLogFile
  /// The mark every process of this server's steps carries (see ``StepProcessSweeper``).
  var stepOwner: String
  /// Reports progress, 0 to 100. Cheap: the runner coalesces what it writes.
  var reportProgress: @Sendable (Int) -> Void
}
