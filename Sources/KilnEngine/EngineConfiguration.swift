public import Foundation
public import KilnMetrics

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
  /// This engine's name among the kilnd processes sharing its database, stable across
  /// its restarts (kilnd keeps it in its data directory): a restarted replica requeues
  /// the jobs its previous life held at once, without waiting for their leases.
  public var replicaID: String = "local"
  /// How long a claim on a running job lasts unless renewed (renewed every third of
  /// it). Another replica takes the job over once it has run out.
  public var leaseDuration: Duration = .seconds(30)
  /// Whether other processes change this engine's jobs (several replicas on one
  /// database): the engine then follows the event log to stop a step at once when a
  /// job it runs is paused, discarded, restarted or deleted through another replica.
  public var followsOtherReplicas: Bool = false
  /// Where step executions are counted and timed.
  public var metrics = KilnMetrics()

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
