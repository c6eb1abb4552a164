public import Foundation
public import KilnCore
public import KilnStore
public import Logging
public import ServiceLifecycle
import Synchronization

/// Owns every state transition of every job: operators' actions, the scheduler's
/// starts, the step runners' progress and results.
///
/// Each transition is one store transaction that checks the transition table,
/// writes the job and appends an event. Run the engine as a `Service`: ``run()``
/// recovers jobs interrupted by a crash, then schedules pending jobs until shutdown.
public final class JobEngine: Service, Sendable {
  /// The store the engine writes through.
  public let store: any JobStore
  /// The job types the engine runs.
  public let catalog: JobTypeCatalog
  /// How the engine schedules and runs jobs.
  public let configuration: EngineConfiguration
  /// Where the steps' logs are written.
  public let stepLogs: StepLogDirectory
  let logger: Logger
  let wakeSignal = WakeSignal()
  /// The runners of jobs running in this process, by job id.
  let activeRuns = Mutex<[String: RunControl]>([:])
  /// Whether this engine has already killed what a previous server left running.
  let leftoversKilled = LockedValue(false)

  /// Creates an engine. Nothing runs until ``run()``.
  ///
  /// The engine queues no completion callbacks itself: whoever assembles the server
  /// installs the callback rule in `store` (KilnCallbacks' `CallbackRule`).
  public init(store: any JobStore, catalog: JobTypeCatalog, configuration: EngineConfiguration, logger: Logger) {
    self.store = store
    self.catalog = catalog
    self.configuration = configuration
    self.stepLogs = StepLogDirectory(root: configuration.logsDirectory)
    self.logger = logger
  }

  /// A caller's request to create a job.
  public struct Submission: Sendable, Hashable {
    /// The project the job belongs to.
    public var project: String
    /// The job type to run.
    public var jobType: String
    /// What the job works on.
    public var subject: String
    /// The job's parameters.
    public var params: [String: String]

    /// Creates a submission.
    public init(project: String, jobType: String, subject: String, params: [String: String] = [:]) {
      self.project = project
      self.jobType = jobType
      self.subject = subject
      self.params = params
    }
  }

  /// Creates a PENDING job; the scheduler starts it when a slot is free.
  ///
  /// - Parameters:
  ///   - submission: What to run.
  ///   - caller: Who asks: an OPERATOR of the project or an ADMIN; recorded as the submitter.
  ///   - idempotency: Makes a repeated submission return the first job instead of a second one.
  /// The job records the version of its subject at the time of the insert.
  ///
  /// - Throws: ``KilnError``: invalid argument naming the field that is missing or wrong;
  ///   not found (the project does not exist, or the caller holds no role in it; or the
  ///   project has no subject of that name); permission denied (the caller only views
  ///   the project).
  public func submit(_ submission: Submission, caller: Caller, idempotency: IdempotencyKey? = nil)
    async throws -> Job
  {
    try Names.checkProject(submission.project, field: "project")
    try caller.checkOperate(submission.project, notFound: .projectNotFound(submission.project))
    guard !submission.jobType.isEmpty else { throw KilnError.invalidArgument(field: "job_type", "is empty") }
    guard let type = catalog.type(named: submission.jobType) else {
      let known = catalog.types.map(\.name).joined(separator: ", ")
      throw KilnError.invalidArgument(field: "job_type", "unknown job type \(submission.jobType); known: \(known)")
    }
    try Names.checkSubject(submission.subject, field: "subject")
    let params = try type.resolveParams(submission.params)
    let now = Date.kilnNow()
    let job = Job(
      id: UUID().uuidString.lowercased(), project: submission.project, jobType: type.name,
      subject: submission.subject, status: .pending, progress: 0,
      steps: type.steps.enumerated().map { Step(name: $1.name, index: $0) }, submitter: caller.name,
      createTime: now, updateTime: now, queuedTime: now, attempt: 1, params: params)
    let result = try await store.insert(job, idempotency: idempotency)
    guard let stored = result.job else { throw KilnError(code: .internalError, message: "submission lost") }
    if !result.replayed {
      logger.info("job submitted", metadata: ["job": "\(stored.id)", "type": "\(stored.jobType)", "project": "\(stored.project)"])
      wakeSignal.wake()
    }
    return stored
  }

  /// The job with this id.
  /// - Parameter withCallbacks: Also read its completion callbacks (the newest 100), for
  ///   the job's detail only.
  /// - Throws: ``KilnError`` (not found, also when the caller may not see its project).
  public func job(id: String, caller: Caller, withCallbacks: Bool = false) async throws -> Job {
    try InputLimits.checkID(id, field: "id")
    let found = withCallbacks ? try await store.jobDetail(id: id, callbackLimit: 100) : try await store.job(id: id)
    guard let job = found, caller.canView(job.project) else { throw KilnError.jobNotFound(id) }
    return job
  }

  /// One page of the jobs that match `filter` among those the caller may see.
  public func listJobs(
    filter: JobFilter, order: JobOrder, pageSize: Int, after cursor: JobPageCursor?, caller: Caller
  ) async throws -> JobPage {
    try await store.listJobs(filter: caller.scope(filter).normalized, order: order, limit: pageSize, after: cursor)
  }

  /// Applies an operator's action to one job, in one transaction.
  ///
  /// Pause, discard and restart of a running job then stop its running step's
  /// process group and free its slot.
  /// - Parameters:
  ///   - expectedRevision: If set, the action is refused with ``KilnError/Code/aborted``
  ///     unless the job is at exactly this revision.
  /// - Returns: The job after the action; `nil` after a delete.
  /// - Throws: ``KilnError``: not found (also when the caller may not see the job's
  ///   project), permission denied (the caller only views it), failed precondition (the
  ///   status does not allow the action), aborted (revision mismatch).
  @discardableResult
  public func perform(
    _ action: JobAction, jobID: String, expectedRevision: Int64? = nil, idempotency: IdempotencyKey? = nil,
    caller: Caller
  ) async throws -> Job? {
    try InputLimits.checkID(jobID, field: "id")
    let now = Date.kilnNow()
    let result = try await store.mutate(jobID: jobID, idempotency: idempotency, now: now) {
      (job: inout Job) throws(KilnError) -> JobChange in
      try caller.checkOperate(job.project, notFound: .jobNotFound(job.id))
      if let expectedRevision, job.revision != expectedRevision {
        throw KilnError.revisionMismatch(jobID: job.id, expected: expectedRevision, actual: job.revision)
      }
      try job.apply(action, at: now)
      return action == .delete ? .delete : .update(.updated)
    }
    // A replayed answer skips the checks of the mutation closure: it must not show a
    // job the caller can no longer see (a role revoked since the first request).
    if result.replayed, let job = result.job, !caller.canView(job.project) { throw KilnError.jobNotFound(jobID) }
    if !result.replayed {
      logger.info("job \(action.verb)", metadata: ["job": "\(jobID)"])
      switch action {
      case .pause, .discard, .restart, .delete:
        stopRunner(jobID: jobID)
      case .resume:
        break
      }
      if action == .restart || action == .delete {
        await stepLogs.removeLogs(jobID: jobID, keepingAttempt: result.job?.attempt)
      }
      wakeSignal.wake()
    }
    return result.job
  }

  /// The configured job types.
  public var jobTypes: [JobType] { catalog.types }

  /// The mark this server's step processes carry: its logs directory, one per data directory.
  var stepOwner: String { configuration.logsDirectory.standardizedFileURL.resolvingSymlinksInPath().path }

  func stopRunner(jobID: String) {
    let control = activeRuns.withLock { $0[jobID] }
    control?.stop()
  }
}
