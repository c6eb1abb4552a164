package import KilnProto
package import SwiftProtobuf

/// A mutating request: it carries the request id the server deduplicates by.
package protocol RequestWithID: SwiftProtobuf.Message {
  /// The caller's idempotency key; empty when the caller gave none.
  var requestID: String { get set }
}

/// The requests of the single-job operations (pause, resume, restart, discard, delete),
/// which share their fields: the server reads them, the SDK builds them, with one body each.
package protocol JobOperationRequest: RequestWithID {
  /// The job's id.
  var id: String { get set }
  /// The revision the caller expects the job at.
  var expectedRevision: Int64 { get set }
  /// Whether the caller set ``expectedRevision``.
  var hasExpectedRevision: Bool { get }
}

extension JobOperationRequest {
  /// The expected revision, or `nil` when the request did not set one.
  package var expectedRevisionIfSet: Int64? { hasExpectedRevision ? expectedRevision : nil }
}

extension Kiln_V1_SubmitJobRequest: RequestWithID {}
extension Kiln_V1_BatchJobsRequest: RequestWithID {}
extension Kiln_V1_PauseJobRequest: JobOperationRequest {}
extension Kiln_V1_ResumeJobRequest: JobOperationRequest {}
extension Kiln_V1_RestartJobRequest: JobOperationRequest {}
extension Kiln_V1_DiscardJobRequest: JobOperationRequest {}
extension Kiln_V1_DeleteJobRequest: JobOperationRequest {}
