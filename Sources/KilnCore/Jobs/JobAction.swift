/// An operator's operation on a job.
public enum JobAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// Stop the running step and hold the job; finished steps keep their results.
  case pause = "PAUSE"
  /// Put a paused or failed job back in the queue; it continues at its first unfinished step.
  case resume = "RESUME"
  /// Abandon every intermediate result and run the job again from its first step.
  case restart = "RESTART"
  /// Stop the job for good.
  case discard = "DISCARD"
  /// Remove a finished or discarded job's record.
  case delete = "DELETE"

  /// Parses an action name case-insensitively ("pause", "PAUSE").
  public init?(name: String) {
    self.init(rawValue: name.uppercased())
  }

  /// The verb in lower case, as messages and the shell use it.
  public var verb: String { rawValue.lowercased() }
}
