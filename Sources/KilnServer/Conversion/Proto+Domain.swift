import Foundation
import KilnCore
import KilnEngine
import KilnProto
import SwiftProtobuf

// Translation between the wire types (Kiln_V1_*) and the domain types. No rules here:
// only shapes, and the field names for INVALID_ARGUMENT messages.

extension Kiln_V1_JobStatus {
  init(_ status: JobStatus) {
    switch status {
    case .pending: self = .pending
    case .running: self = .running
    case .paused: self = .paused
    case .error: self = .error
    case .discarded: self = .discarded
    case .finished: self = .finished
    }
  }

  func domain(field: String) throws(KilnError) -> JobStatus {
    switch self {
    case .pending: return .pending
    case .running: return .running
    case .paused: return .paused
    case .error: return .error
    case .discarded: return .discarded
    case .finished: return .finished
    case .unspecified: throw .invalidArgument(field: field, "status is unspecified")
    case .UNRECOGNIZED(let value): throw .invalidArgument(field: field, "unknown status \(value)")
    }
  }
}

extension Kiln_V1_JobAction {
  init(_ action: JobAction) {
    switch action {
    case .pause: self = .pause
    case .resume: self = .resume
    case .restart: self = .restart
    case .discard: self = .discard
    case .delete: self = .delete
    }
  }

  func domain(field: String) throws(KilnError) -> JobAction {
    switch self {
    case .pause: return .pause
    case .resume: return .resume
    case .restart: return .restart
    case .discard: return .discard
    case .delete: return .delete
    case .unspecified: throw .invalidArgument(field: field, "action is unspecified")
    case .UNRECOGNIZED(let value): throw .invalidArgument(field: field, "unknown action \(value)")
    }
  }
}

extension Google_Protobuf_Duration {
  init(milliseconds: Int64) {
    self.init(seconds: milliseconds / 1000, nanos: Int32((milliseconds % 1000) * 1_000_000))
  }
}

extension Kiln_V1_Step {
  init(_ step: Step, jobID: String, now: Date) {
    self.init()
    id = step.id(jobID: jobID)
    name = step.name
    index = Int32(step.index)
    status = Kiln_V1_JobStatus(step.status)
    progress = Int32(step.progress)
    if let startTime = step.startTime { self.startTime = Google_Protobuf_Timestamp(date: startTime) }
    if let endTime = step.endTime { self.endTime = Google_Protobuf_Timestamp(date: endTime) }
    duration = Google_Protobuf_Duration(milliseconds: step.duration(at: now))
    retries = Int32(step.retries)
    errorMessage = step.errorMessage ?? ""
  }
}

extension Kiln_V1_Job {
  init(_ job: Job, now: Date = Date()) {
    self.init()
    id = job.id
    project = job.project
    jobType = job.jobType
    subject = job.subject
    subjectVersion = job.subjectVersion
    status = Kiln_V1_JobStatus(job.status)
    progress = Int32(job.progress)
    steps = job.steps.map { Kiln_V1_Step($0, jobID: job.id, now: now) }
    submitter = job.submitter
    createTime = Google_Protobuf_Timestamp(date: job.createTime)
    if let startTime = job.startTime { self.startTime = Google_Protobuf_Timestamp(date: startTime) }
    if let endTime = job.endTime { self.endTime = Google_Protobuf_Timestamp(date: endTime) }
    updateTime = Google_Protobuf_Timestamp(date: job.updateTime)
    waitTime = Google_Protobuf_Duration(milliseconds: job.waitTime(at: now))
    duration = Google_Protobuf_Duration(milliseconds: job.runningTime(at: now))
    attempt = Int32(job.attempt)
    errorMessage = job.errorMessage ?? ""
    revision = job.revision
    params = job.params
    allowedActions = job.allowedActions.map(Kiln_V1_JobAction.init)
  }
}

extension Kiln_V1_JobFilter {
  func domain(field: String) throws(KilnError) -> JobFilter {
    var filter = JobFilter()
    for (i, project) in projects.enumerated() where project.isEmpty {
      throw .invalidArgument(field: "\(field).projects[\(i)]", "is empty")
    }
    filter.projects = projects
    var statuses: [JobStatus] = []
    for (i, status) in self.statuses.enumerated() {
      statuses.append(try status.domain(field: "\(field).statuses[\(i)]"))
    }
    filter.statuses = statuses
    for (i, type) in jobTypes.enumerated() where type.isEmpty {
      throw .invalidArgument(field: "\(field).job_types[\(i)]", "is empty")
    }
    filter.jobTypes = jobTypes
    filter.subject = subject.isEmpty ? nil : subject
    filter.key = key.isEmpty ? nil : key
    if hasCreateTimeFrom { filter.createdFrom = createTimeFrom.date }
    if hasCreateTimeTo { filter.createdTo = createTimeTo.date }
    if let from = filter.createdFrom, let to = filter.createdTo, from > to {
      throw .invalidArgument(field: "\(field).create_time_from", "is after create_time_to")
    }
    return filter
  }
}

extension Kiln_V1_JobOrder {
  func domain(field: String) throws(KilnError) -> JobOrder {
    let orderField: JobOrder.Field
    switch self.field {
    case .unspecified, .createTime: orderField = .createTime
    case .updateTime: orderField = .updateTime
    case .duration: orderField = .duration
    case .status: orderField = .status
    case .jobType: orderField = .jobType
    case .project: orderField = .project
    case .subject: orderField = .subject
    case .UNRECOGNIZED(let value): throw .invalidArgument(field: "\(field).field", "unknown order field \(value)")
    }
    return JobOrder(field: orderField, ascending: ascending)
  }
}

extension Kiln_V1_JobType {
  init(_ type: JobType) {
    self.init()
    name = type.name
    description_p = type.description
    steps = type.steps.map { step in
      Kiln_V1_StepType.with {
        $0.name = step.name
        $0.kind = step.kindName
        $0.maxRetries = Int32(step.maxRetries)
      }
    }
    params = type.params.map { param in
      Kiln_V1_JobTypeParam.with {
        $0.name = param.name
        $0.required = param.required
        $0.defaultValue = param.defaultValue ?? ""
        $0.description_p = param.description
      }
    }
  }
}

extension Kiln_V1_BatchJobsResponse {
  init(_ outcome: JobEngine.BatchOutcome, now: Date = Date()) {
    self.init()
    results = outcome.items.map { item in
      Kiln_V1_BatchJobResult.with {
        $0.id = item.id
        $0.ok = item.ok
        if let job = item.job { $0.job = Kiln_V1_Job(job, now: now) }
        if let error = item.error {
          $0.error = Kiln_V1_BatchJobError.with {
            $0.code = Int32(RPCErrorCodeNumber.of(error.code))
            $0.message = error.message
          }
        }
      }
    }
    succeeded = Int32(outcome.succeeded)
    failed = Int32(outcome.failed)
  }
}

/// The numeric gRPC status code of a Kiln error code, for messages that carry one.
enum RPCErrorCodeNumber {
  static func of(_ code: KilnError.Code) -> Int {
    switch code {
    case .invalidArgument: 3
    case .notFound: 5
    case .alreadyExists: 6
    case .permissionDenied: 7
    case .resourceExhausted: 8
    case .failedPrecondition: 9
    case .aborted: 10
    case .outOfRange: 11
    case .unavailable: 14
    case .unauthenticated: 16
    case .cancelled: 1
    case .deadlineExceeded: 4
    default: 13
    }
  }
}

extension Kiln_V1_WatchJobsResponse {
  init(_ message: WatchMessage, now: Date = Date()) {
    self.init()
    switch message.kind {
    case .snapshot: kind = .snapshot
    case .snapshotEnd: kind = .snapshotEnd
    case .change(.created): kind = .created
    case .change(.updated): kind = .updated
    case .change(.deleted): kind = .deleted
    case .heartbeat: kind = .heartbeat
    }
    revision = message.revision
    if let job = message.job { self.job = Kiln_V1_Job(job, now: now) }
    time = Google_Protobuf_Timestamp(date: message.time)
  }
}
