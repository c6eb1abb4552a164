public import Foundation

/// One stage of a job.
public struct Step: Sendable, Hashable, Codable {
  /// The step's name from its job type.
  public var name: String
  /// Position in the job, from 0.
  public var index: Int
  /// The step's status (the same six statuses as a job's).
  public var status: JobStatus
  /// Progress of the step, 0 to 100.
  public var progress: Int
  /// When the step's last execution started.
  public var startTime: Date?
  /// When the step's last execution ended.
  public var endTime: Date?
  /// How many times the step was retried in this attempt.
  public var retries: Int
  /// The error of the step's last failed execution.
  public var errorMessage: String?

  /// Creates a step value.
  public init(
    name: String, index: Int, status: JobStatus = .pending, progress: Int = 0, startTime: Date? = nil,
    endTime: Date? = nil, retries: Int = 0, errorMessage: String? = nil
  ) {
    self.name = name
    self.index = index
    self.status = status
    self.progress = progress
    self.startTime = startTime
    self.endTime = endTime
    self.retries = retries
    self.errorMessage = errorMessage
  }

  /// The step's id, unique across jobs: `<job id>-<index>`.
  public func id(jobID: String) -> String { "\(jobID)-\(index)" }

  /// Running time of the step's last execution, live at `now` while it runs.
  public func duration(at now: Date) -> Int64 {
    guard let startTime else { return 0 }
    return Job.millis(from: startTime, to: endTime ?? (status == .running ? now : startTime))
  }

  /// Puts the step back to its initial state (what a restart does).
  public mutating func reset() {
    status = .pending
    progress = 0
    startTime = nil
    endTime = nil
    retries = 0
    errorMessage = nil
  }
}
