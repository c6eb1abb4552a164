/// The status of a job or of one of its steps: the six statuses of Kylin's job monitor.
public enum JobStatus: String, Sendable, Hashable, Codable, CaseIterable {
  /// Waiting for a free slot; the scheduler starts pending jobs first in, first out.
  case pending = "PENDING"
  /// A step is executing.
  case running = "RUNNING"
  /// Stopped by an operator; resumes at the first unfinished step.
  case paused = "PAUSED"
  /// A step failed after its retries.
  case error = "ERROR"
  /// Stopped for good by an operator or by the system.
  case discarded = "DISCARDED"
  /// Every step succeeded.
  case finished = "FINISHED"

  /// Whether no operation but delete can apply any more.
  public var isFinal: Bool {
    switch self {
    case .discarded, .finished: true
    case .pending, .running, .paused, .error: false
    }
  }

  /// Parses a status name case-insensitively ("running", "RUNNING").
  public init?(name: String) {
    self.init(rawValue: name.uppercased())
  }
}
