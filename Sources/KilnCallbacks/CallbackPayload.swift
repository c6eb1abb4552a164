public import Foundation
public import KilnCore

/// The JSON body of a completion callback: what a receiver learns about the job.
///
/// Field names are snake_case, times are ISO 8601 (UTC, milliseconds). A receiver may
/// see one delivery more than once (at least once): the `Kiln-Delivery` header names
/// the delivery, and `revision` orders the changes of one job.
public struct CallbackPayload: Sendable, Hashable, Codable {
  /// Always `job.ended`: the job reached FINISHED, ERROR or DISCARDED.
  public var event: String
  /// The job's id.
  public var jobID: String
  /// The job's project.
  public var project: String
  /// The job's type.
  public var jobType: String
  /// What the job worked on.
  public var subject: String
  /// FINISHED, ERROR or DISCARDED.
  public var status: String
  /// The status before this change.
  public var previousStatus: String?
  /// The error that stopped the job, or why it was discarded.
  public var errorMessage: String?
  /// Why the server itself ended the job, e.g. "subject sales_model deleted".
  public var statusReason: String?
  /// 1 for the first attempt; each restart adds one.
  public var attempt: Int
  /// Who submitted the job.
  public var submitter: String
  /// When the job was submitted.
  public var createTime: Date
  /// When the current attempt first ran.
  public var startTime: Date?
  /// When the job reached this status.
  public var endTime: Date?
  /// Time spent running in this attempt, in milliseconds.
  public var durationMs: Int64
  /// Time spent pending in this attempt, in milliseconds.
  public var waitMs: Int64
  /// The job's revision after this change.
  public var revision: Int64

  enum CodingKeys: String, CodingKey {
    case event, project, subject, status, attempt, submitter, revision
    case jobID = "job_id"
    case jobType = "job_type"
    case previousStatus = "previous_status"
    case errorMessage = "error_message"
    case statusReason = "status_reason"
    case createTime = "create_time"
    case startTime = "start_time"
    case endTime = "end_time"
    case durationMs = "duration_ms"
    case waitMs = "wait_ms"
  }

  /// The payload for `job` after a change from `previousStatus`.
  public init(job: Job, previousStatus: JobStatus?) {
    event = "job.ended"
    jobID = job.id
    project = job.project
    jobType = job.jobType
    subject = job.subject
    status = job.status.rawValue
    self.previousStatus = previousStatus?.rawValue
    errorMessage = job.errorMessage
    statusReason = job.statusReason
    attempt = job.attempt
    submitter = job.submitter
    createTime = job.createTime
    startTime = job.startTime
    endTime = job.endTime
    durationMs = job.durationMillis
    waitMs = job.waitMillis
    revision = job.revision
  }

  /// The JSON encoding receivers get.
  public func encoded() throws -> Data {
    try Self.encoder.encode(self)
  }

  /// Reads a payload (for receivers written in Swift, and tests).
  public static func decode(_ data: Data) throws -> CallbackPayload {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .custom { decoder in
      let text = try decoder.singleValueContainer().decode(String.self)
      guard let date = Self.formatter.date(from: text) else {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not ISO 8601: \(text)"))
      }
      return date
    }
    return try decoder.decode(CallbackPayload.self, from: data)
  }

  // ISO8601DateFormatter is thread-safe; it is only read here.
  nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
  }()

  private static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.dateEncodingStrategy = .custom { date, encoder in
      var container = encoder.singleValueContainer()
      try container.encode(Self.formatter.string(from: date))
    }
    return encoder
  }()
}
