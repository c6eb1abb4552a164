package import Foundation
package import KilnCore
package import KilnProto
package import SwiftProtobuf

// The one mapping between the domain's job values and the wire's, both ways, shared by
// the server and the SDK. No rules here: only shapes, and the field names for
// INVALID_ARGUMENT messages. A value from the wire that this build does not know is an
// error that says so, never a silent guess: INVALID_ARGUMENT naming the field in a
// request the server reads, INTERNAL ("upgrade the client") in a reply the SDK reads.

// MARK: - What the server reads from requests and writes into replies

extension Kiln_V1_JobStatus {
  /// The domain status; `unspecified` and unknown values are INVALID_ARGUMENT naming `field`.
  ///
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
  package func domain(field: String) throws(KilnError) -> JobAction {
    guard let action = domain else {
      throw .invalidArgument(field: field, self == .unspecified ? "action is unspecified" : "unknown action \(rawValue)")
    }
    return action
  }
}

extension Google_Protobuf_Duration {
  /// A duration of `milliseconds`.
  package init(milliseconds: Int64) {
    self.init(seconds: milliseconds / 1000, nanos: Int32((milliseconds % 1000) * 1_000_000))
  }
}

extension Kiln_V1_Step {
  /// The wire form of a step of job `jobID`; its duration is measured at `now`.
  package init(_ step: Step, jobID: String, now: Date) {
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
  /// The wire form of a job; its wait time and duration are measured at `now`.
  package init(_ job: Job, now: Date = Date()) {
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
  /// The wire form of a callback delivery.
  package init(_ delivery: CallbackDelivery) {
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

// MARK: - What the SDK reads from replies and writes into requests

extension JobStatus {
  /// The status a reply carries; an unknown one is INTERNAL naming its value.
  package init(wire: Kiln_V1_JobStatus) throws(KilnError) {
    guard let status = wire.domain else {
      throw KilnError(code: .internalError, message: "the server sent an unknown job status \(wire.rawValue); upgrade the client")
    }
    self = status
  }
}

extension Google_Protobuf_Duration {
  /// The duration in whole milliseconds.
  package var milliseconds: Int64 { seconds * 1000 + Int64(nanos) / 1_000_000 }
}

extension Step {
  /// The step a reply carries.
  package init(wire: Kiln_V1_Step) throws(KilnError) {
    self.init(
      name: wire.name, index: Int(wire.index), status: try JobStatus(wire: wire.status), progress: Int(wire.progress),
      startTime: wire.hasStartTime ? wire.startTime.date : nil, endTime: wire.hasEndTime ? wire.endTime.date : nil,
      retries: Int(wire.retries), errorMessage: wire.errorMessage.isEmpty ? nil : wire.errorMessage)
  }
}

extension Job {
  /// A job as the server reported it. Wait time and duration are the server's figures
  /// at the time of the report.
  package init(wire: Kiln_V1_Job) throws(KilnError) {
    var steps: [Step] = []
    for step in wire.steps { steps.append(try Step(wire: step)) }
    self.init(
      id: wire.id, project: wire.project, jobType: wire.jobType, subject: wire.subject,
      subjectVersion: wire.subjectVersion, status: try JobStatus(wire: wire.status), progress: Int(wire.progress),
      steps: steps, submitter: wire.submitter, createTime: wire.createTime.date,
      startTime: wire.hasStartTime ? wire.startTime.date : nil, endTime: wire.hasEndTime ? wire.endTime.date : nil,
      updateTime: wire.updateTime.date, waitMillis: wire.waitTime.milliseconds,
      durationMillis: wire.duration.milliseconds, attempt: Int(wire.attempt),
      errorMessage: wire.errorMessage.isEmpty ? nil : wire.errorMessage,
      statusReason: wire.statusReason.isEmpty ? nil : wire.statusReason, revision: wire.revision, params: wire.params)
    // Only a job's detail carries deliveries; none on the wire reads as "not loaded".
    if !wire.callbackDeliveries.isEmpty {
      var deliveries: [CallbackDelivery] = []
      for delivery in wire.callbackDeliveries { deliveries.append(try CallbackDelivery(wire: delivery, jobID: wire.id)) }
      callbackDeliveries = deliveries
    }
  }
}

extension CallbackDelivery {
  /// A delivery of job `jobID` as a reply carries it.
  package init(wire: Kiln_V1_CallbackDelivery, jobID: String) throws(KilnError) {
    self.init(
      id: wire.id, jobID: jobID, url: wire.url, jobStatus: try JobStatus(wire: wire.jobStatus), revision: wire.revision,
      createTime: wire.createTime.date, attempts: Int(wire.attempts),
      lastAttemptTime: wire.hasLastAttemptTime ? wire.lastAttemptTime.date : nil,
      lastResult: wire.lastResult.isEmpty ? nil : wire.lastResult,
      lastStatusCode: wire.lastStatusCode == 0 ? nil : Int(wire.lastStatusCode), delivered: wire.delivered,
      nextAttemptTime: wire.hasNextAttemptTime ? wire.nextAttemptTime.date : nil)
  }
}

extension JobFilter {
  /// The wire form of the filter, as a request carries it.
  package var wire: Kiln_V1_JobFilter {
    var filter = Kiln_V1_JobFilter()
    filter.projects = projects
    filter.statuses = statuses.map(\.wire)
    filter.jobTypes = jobTypes
    filter.subject = subject ?? ""
    filter.key = key ?? ""
    if let createdFrom { filter.createTimeFrom = Google_Protobuf_Timestamp(date: createdFrom) }
    if let createdTo { filter.createTimeTo = Google_Protobuf_Timestamp(date: createdTo) }
    return filter
  }
}

extension JobOrder {
  /// The wire form of the order, as a request carries it.
  package var wire: Kiln_V1_JobOrder {
    var order = Kiln_V1_JobOrder()
    order.ascending = ascending
    order.field =
      switch field {
      case .createTime: .createTime
      case .updateTime: .updateTime
      case .duration: .duration
      case .status: .status
      case .jobType: .jobType
      case .project: .project
      case .subject: .subject
      }
    return order
  }
}
