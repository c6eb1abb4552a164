public import Foundation
public import KilnCore

/// A completion callback that a job change triggers: where to post, and what.
public struct CallbackRequest: Sendable, Hashable {
  /// Where the callback is posted.
  public var url: String
  /// The JSON body, fixed when the change commits: a later change or the job's
  /// deletion does not alter what the receiver is told.
  public var payload: Data

  /// Creates a request.
  public init(url: String, payload: Data) {
    self.url = url
    self.payload = payload
  }
}

/// Decides, inside the write transaction of a job change, which callbacks the change
/// triggers. It runs under the store's write lock: it must be quick and do no I/O.
///
/// - Parameters:
///   - job: The job after the change (its revision and update time are the change's).
///   - previousStatus: The job's status before the change; `nil` for a submission.
/// - Returns: The callbacks to queue with the change; usually none.
public typealias CallbackTrigger = @Sendable (_ job: Job, _ previousStatus: JobStatus?) -> [CallbackRequest]

/// A queued delivery whose next attempt is due, with what to send.
public struct DueCallback: Sendable, Hashable {
  /// The delivery as the job's detail shows it.
  public var delivery: CallbackDelivery
  /// The JSON body to post.
  public var payload: Data
  /// The URL's origin (``CallbackURL/origin(of:)``), for per-receiver limits.
  public var origin: String

  /// Creates a value.
  public init(delivery: CallbackDelivery, payload: Data, origin: String) {
    self.delivery = delivery
    self.payload = payload
    self.origin = origin
  }
}

/// The outcome of one delivery attempt, as it is recorded.
public struct CallbackAttempt: Sendable, Hashable {
  /// When the attempt was made.
  public var time: Date
  /// `HTTP 200`, `HTTP 500`, or why the attempt failed.
  public var result: String
  /// The HTTP status of the answer, if there was one.
  public var statusCode: Int?
  /// Whether the receiver accepted the callback.
  public var delivered: Bool
  /// When to try again; `nil` when delivered or given up.
  public var nextAttemptTime: Date?

  /// Creates a value.
  public init(time: Date, result: String, statusCode: Int?, delivered: Bool, nextAttemptTime: Date?) {
    self.time = time
    self.result = result
    self.statusCode = statusCode
    self.delivered = delivered
    self.nextAttemptTime = nextAttemptTime
  }
}
