import Foundation
package import KilnCore
import KilnEngine
package import KilnProto
import KilnWire
import SwiftProtobuf

// Translation between the wire types (Kiln_V1_*) and the domain types. No rules here:
// only shapes, and the field names for INVALID_ARGUMENT messages.

extension Kiln_V1_JobStatus {
  /// The domain status; `unspecified` and unknown values are INVALID_ARGUMENT naming `field`.
  ///
  /// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in
  /// release builds, where `@testable import` is unavailable) exercises this very conversion.
  package func domain(field: String) throws(KilnError) -> JobStatus {
    guard let status = domain else {
      throw .invalidArgument(field: field, self == .unspecified ? "status is unspecified" : "unknown status \(rawValue)")
    }
    return status
  }
}

extension Kiln_V1_JobAction {
  /// The domain action; `unspecified` and unknown values are INVALID_ARGUMENT naming `field`.
  ///
  /// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in
  /// release builds, where `@testable import` is unavailable) exercises this very conversion.
  package func domain(field: String) throws(KilnError) -> JobAction {
    guard let action = domain else {
      throw .invalidArgument(field: field, self == .unspecified ? "action is unspecified" : "unknown action \(rawValue)")
    }
    return action
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
    status = step.status.wire
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
    status = job.status.wire
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
    statusReason = job.statusReason ?? ""
    revision = job.revision
    params = job.params
    allowedActions = job.allowedActions.map(\.wire)
    callbackDeliveries = (job.callbackDeliveries ?? []).map(Kiln_V1_CallbackDelivery.init)
  }
}

extension Kiln_V1_CallbackDelivery {
  init(_ delivery: CallbackDelivery) {
    self.init()
    id = delivery.id
    url = delivery.url
    jobStatus = delivery.jobStatus.wire
    revision = delivery.revision
    createTime = Google_Protobuf_Timestamp(date: delivery.createTime)
    attempts = Int32(delivery.attempts)
    if let lastAttemptTime = delivery.lastAttemptTime { self.lastAttemptTime = Google_Protobuf_Timestamp(date: lastAttemptTime) }
    lastResult = delivery.lastResult ?? ""
    lastStatusCode = Int32(delivery.lastStatusCode ?? 0)
    delivered = delivery.delivered
    if let nextAttemptTime = delivery.nextAttemptTime { self.nextAttemptTime = Google_Protobuf_Timestamp(date: nextAttemptTime) }
  }
}

extension Kiln_V1_JobFilter {
  /// The domain filter; an empty project or job type, an unknown status, a timestamp outside
  /// years 1–9999 or `create_time_from` after `create_time_to` is INVALID_ARGUMENT naming the field
  /// under `field`.
  ///
  /// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in
  /// release builds, where `@testable import` is unavailable) exercises this very conversion.
  package func domain(field: String) throws(KilnError) -> JobFilter {
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
    if hasCreateTimeFrom { filter.createdFrom = try createTimeFrom.validatedDate(field: "\(field).create_time_from") }
    if hasCreateTimeTo { filter.createdTo = try createTimeTo.validatedDate(field: "\(field).create_time_to") }
    if let from = filter.createdFrom, let to = filter.createdTo, from > to {
      throw .invalidArgument(field: "\(field).create_time_from", "is after create_time_to")
    }
    return filter
  }
}

extension Kiln_V1_JobOrder {
  /// The domain order; an unknown order field is INVALID_ARGUMENT naming `field`.field.
  ///
  /// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in
  /// release builds, where `@testable import` is unavailable) exercises this very conversion.
  package func domain(field: String) throws(KilnError) -> JobOrder {
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
  /// The wire form of a configured job type (ListJobTypes).
  ///
  /// `package`, not internal, so that the fuzz suite (`KilnFuzzing`, run by `kiln-fuzz` in
  /// release builds, where `@testable import` is unavailable) exercises this very conversion.
  package init(_ type: JobType) {
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
    callbackURL = type.callbackURL ?? ""
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
            $0.code = Int32(error.code.grpcStatus)
            $0.message = error.message
          }
        }
      }
    }
    succeeded = Int32(outcome.succeeded)
    failed = Int32(outcome.failed)
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
