public import Foundation

/// One run of a job type against a subject.
public struct Job: Sendable, Hashable, Codable {
  /// The job's id (a lower-case UUID).
  public var id: String
  /// The project (tenant) the job belongs to.
  public var project: String
  /// The name of the job type whose steps the job runs.
  public var jobType: String
  /// What the job works on.
  public var subject: String
  /// The subject version the job was submitted against.
  public var subjectVersion: Int64
  /// The job's status.
  public var status: JobStatus
  /// Progress over all steps, 0 to 100.
  public var progress: Int
  /// The steps, in order.
  public var steps: [Step]
  /// Who submitted the job.
  public var submitter: String
  /// When the job was submitted.
  public var createTime: Date
  /// When the current attempt first started running.
  public var startTime: Date?
  /// When the job last reached FINISHED, ERROR or DISCARDED.
  public var endTime: Date?
  /// When the job last changed.
  public var updateTime: Date
  /// Time spent pending in the current attempt, not counting the pending spell in progress.
  public var waitMillis: Int64
  /// Time spent running in the current attempt, not counting the running spell in progress.
  public var durationMillis: Int64
  /// Since when the job has been pending (set while it is pending).
  public var queuedTime: Date?
  /// Since when the job has been running (set while it is running).
  public var runningSince: Date?
  /// 1 for the first attempt; each restart adds one.
  public var attempt: Int
  /// The error that stopped the job, or the reason it was discarded.
  public var errorMessage: String?
  /// Why the server itself put the job in its status, e.g. "subject sales_model
  /// deleted" for a job discarded because its subject went away; `nil` for statuses an
  /// operator or a step caused.
  public var statusReason: String?
  /// The revision of the last change to this job.
  public var revision: Int64
  /// The parameters the job was submitted with.
  public var params: [String: String]
  /// How many times the scheduler has started the job. A step runner's writes apply
  /// only while the job is still in the execution that started it, so a runner that
  /// was paused or discarded can never overwrite a later state.
  public var execution: Int64
  /// The job's completion callbacks, newest first, when they were loaded: the job's
  /// detail (`GetJob`) loads them; lists, watches and events leave them `nil`.
  ///
  /// They are not part of the stored job: a delivery attempt is not a change of the
  /// job, so it neither bumps the revision nor appends an event.
  public var callbackDeliveries: [CallbackDelivery]?

  /// Creates a job value.
  public init(
    id: String, project: String, jobType: String, subject: String, subjectVersion: Int64 = 0,
    status: JobStatus = .pending, progress: Int = 0, steps: [Step] = [], submitter: String,
    createTime: Date, startTime: Date? = nil, endTime: Date? = nil, updateTime: Date,
    waitMillis: Int64 = 0, durationMillis: Int64 = 0, queuedTime: Date? = nil, runningSince: Date? = nil,
    attempt: Int = 1, errorMessage: String? = nil, statusReason: String? = nil, revision: Int64 = 0, params: [String: String] = [:], execution: Int64 = 0,
    callbackDeliveries: [CallbackDelivery]? = nil
  ) {
    self.id = id
    self.project = project
    self.jobType = jobType
    self.subject = subject
    self.subjectVersion = subjectVersion
    self.status = status
    self.progress = progress
    self.steps = steps
    self.submitter = submitter
    self.createTime = createTime
    self.startTime = startTime
    self.endTime = endTime
    self.updateTime = updateTime
    self.waitMillis = waitMillis
    self.durationMillis = durationMillis
    self.queuedTime = queuedTime
    self.runningSince = runningSince
    self.attempt = attempt
    self.errorMessage = errorMessage
    self.statusReason = statusReason
    self.revision = revision
    self.params = params
    self.execution = execution
    self.callbackDeliveries = callbackDeliveries
  }

  /// The operations the job's status permits.
  public var allowedActions: [JobAction] { JobTransitions.allowedActions(for: status) }

  /// Time spent pending in this attempt, including a pending spell in progress at `now`.
  public func waitTime(at now: Date) -> Int64 {
    waitMillis + (queuedTime.map { Self.millis(from: $0, to: now) } ?? 0)
  }

  /// Time spent running in this attempt, including a running spell in progress at `now`.
  public func runningTime(at now: Date) -> Int64 {
    durationMillis + (runningSince.map { Self.millis(from: $0, to: now) } ?? 0)
  }

  /// The index of the first step that has not finished, or `nil` when all have.
  public var firstUnfinishedStepIndex: Int? {
    steps.firstIndex { $0.status != .finished }
  }

  /// Recomputes ``progress`` from the steps: each step weighs the same.
  public mutating func recomputeProgress() {
    guard !steps.isEmpty else {
      progress = status == .finished ? 100 : 0
      return
    }
    let total = steps.reduce(0) { $0 + ($1.status == .finished ? 100 : min(max($1.progress, 0), 100)) }
    progress = total / steps.count
  }

  static func millis(from start: Date, to end: Date) -> Int64 {
    max(0, Int64((end.timeIntervalSince(start) * 1000).rounded()))
  }
}
