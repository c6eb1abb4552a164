import Foundation
import KilnCore
import KilnProto
import KilnWire
import SwiftProtobuf

// Translation between the SDK's values and the wire messages. A value the server
// sends that this client does not know (a newer server) is an internal error that
// says so, never a silent guess.

extension JobStatus {
  init(wire: Kiln_V1_JobStatus) throws(KilnError) {
    guard let status = wire.domain else {
      throw KilnError(code: .internalError, message: "the server sent an unknown job status \(wire.rawValue); upgrade the client")
    }
    self = status
  }
}

extension Google_Protobuf_Duration {
  var milliseconds: Int64 { seconds * 1000 + Int64(nanos) / 1_000_000 }
}

extension Step {
  init(wire: Kiln_V1_Step) throws(KilnError) {
    self.init(
      name: wire.name, index: Int(wire.index), status: try JobStatus(wire: wire.status), progress: Int(wire.progress),
      startTime: wire.hasStartTime ? wire.startTime.date : nil, endTime: wire.hasEndTime ? wire.endTime.date : nil,
      retries: Int(wire.retries), errorMessage: wire.errorMessage.isEmpty ? nil : wire.errorMessage)
  }
}

extension Job {
  /// A job as the server reported it. Wait time and duration are the server's figures
  /// at the time of the report.
  init(wire: Kiln_V1_Job) throws(KilnError) {
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
  init(wire: Kiln_V1_CallbackDelivery, jobID: String) throws(KilnError) {
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
  var wire: Kiln_V1_JobFilter {
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
  var wire: Kiln_V1_JobOrder {
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
