public import Foundation

/// One completion callback of a job: a JSON POST to a URL, made because the job
/// reached FINISHED, ERROR or DISCARDED, and what became of it.
///
/// Deliveries are at least once: a delivery is written in the same transaction as
/// the status change that triggers it, and retried with exponential backoff until
/// the receiver answers 2xx or the attempts run out. Receivers tell repeats apart by
/// the `Kiln-Delivery` header, the delivery's ``id``.
public struct CallbackDelivery: Sendable, Hashable, Codable {
  /// The delivery's id, unique on this server; sent as the `Kiln-Delivery` header.
  public var id: Int64
  /// The job the callback is about.
  public var jobID: String
  /// Where the callback is posted.
  public var url: String
  /// The status whose arrival triggered the callback.
  public var jobStatus: JobStatus
  /// The job's revision at that change (also in the payload).
  public var revision: Int64
  /// When the callback was triggered.
  public var createTime: Date
  /// How many attempts were made (an attempt cut short by a server shutdown does not count).
  public var attempts: Int
  /// When the last attempt was made.
  public var lastAttemptTime: Date?
  /// What the last attempt got: `HTTP 200`, `HTTP 500`, or why it failed.
  public var lastResult: String?
  /// The HTTP status of the last answer, if there was one.
  public var lastStatusCode: Int?
  /// Whether the receiver accepted the callback (answered 2xx).
  public var delivered: Bool
  /// When the next attempt is due; `nil` once delivered or given up.
  public var nextAttemptTime: Date?

  /// Creates a delivery value.
  public init(
    id: Int64, jobID: String, url: String, jobStatus: JobStatus, revision: Int64, createTime: Date, attempts: Int = 0,
    lastAttemptTime: Date? = nil, lastResult: String? = nil, lastStatusCode: Int? = nil, delivered: Bool = false,
    nextAttemptTime: Date? = nil
  ) {
    self.id = id
    self.jobID = jobID
    self.url = url
    self.jobStatus = jobStatus
    self.revision = revision
    self.createTime = createTime
    self.attempts = attempts
    self.lastAttemptTime = lastAttemptTime
    self.lastResult = lastResult
    self.lastStatusCode = lastStatusCode
    self.delivered = delivered
    self.nextAttemptTime = nextAttemptTime
  }

  /// Whether no further attempt will be made although the receiver never accepted it.
  public var gaveUp: Bool { !delivered && nextAttemptTime == nil }

  /// The statuses whose arrival triggers a job's callbacks.
  public static let triggeringStatuses: Set<JobStatus> = [.finished, .error, .discarded]
}
