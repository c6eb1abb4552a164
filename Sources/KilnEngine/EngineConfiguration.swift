public import Foundation

/// How the engine schedules and runs jobs.
public struct EngineConfiguration: Sendable {
  /// The most jobs running at once over all projects.
  public var maxRunningJobs: Int
  /// The most jobs running at once in one project.
  public var maxRunningJobsPerProject: Int
  /// Where step logs are written: `<logsDirectory>/<job id>/<attempt>/<step index>.log`.
  public var logsDirectory: URL
  /// How long a stopped `exec` step's process group gets between SIGTERM and SIGKILL.
  public var stopGracePeriod: Duration
  /// The shortest interval between two progress events of one job (progress coalescing).
  public var progressInterval: Duration
  /// The most jobs one batch may act on.
  public var maxBatchSize: Int

  /// Creates a configuration.
  public init(
    maxRunningJobs: Int = 8, maxRunningJobsPerProject: Int = 4, logsDirectory: URL,
    stopGracePeriod: Duration = .seconds(5), progressInterval: Duration = .milliseconds(500),
    maxBatchSize: Int = 10_000
  ) {
    self.maxRunningJobs = maxRunningJobs
    self.maxRunningJobsPerProject = maxRunningJobsPerProject
    self.logsDirectory = logsDirectory
    self.stopGracePeriod = stopGracePeriod
    self.progressInterval = progressInterval
    self.maxBatchSize = maxBatchSize
  }
}
