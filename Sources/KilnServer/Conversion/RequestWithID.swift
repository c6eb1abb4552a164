import KilnProto
import SwiftProtobuf

/// A mutating request: it carries an idempotency key.
protocol RequestWithID: SwiftProtobuf.Message {
  var requestID: String { get set }
}

/// An operation request that may carry the revision the caller expects the job at.
protocol ExpectingRevision {
  var expectedRevision: Int64 { get }
  var hasExpectedRevision: Bool { get }
}

extension ExpectingRevision {
  /// The expected revision, or `nil` when the request did not set one.
  var expectedRevisionIfSet: Int64? { hasExpectedRevision ? expectedRevision : nil }
}

extension Kiln_V1_SubmitJobRequest: RequestWithID {}
extension Kiln_V1_BatchJobsRequest: RequestWithID {}
extension Kiln_V1_PauseJobRequest: RequestWithID, ExpectingRevision {}
extension Kiln_V1_ResumeJobRequest: RequestWithID, ExpectingRevision {}
extension Kiln_V1_RestartJobRequest: RequestWithID, ExpectingRevision {}
extension Kiln_V1_DiscardJobRequest: RequestWithID, ExpectingRevision {}
extension Kiln_V1_DeleteJobRequest: RequestWithID, ExpectingRevision {}
