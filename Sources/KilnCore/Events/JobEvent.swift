public import Foundation

/// A change to a job, as written to the event log in the same transaction as the change.
///
/// Revisions are global and strictly increasing across all jobs, like etcd's.
public struct JobEvent: Sendable, Hashable, Codable {
  /// What happened to the job.
  public enum Kind: String, Sendable, Hashable, Codable {
    /// The job was submitted.
    case created = "CREATED"
    /// The job's status or a step changed.
    case updated = "UPDATED"
    /// Only progress changed (coalesced; subscribers may leave these out).
    case progress = "PROGRESS"
    /// The job was deleted; ``JobEvent/job`` is its last state.
    case deleted = "DELETED"
  }

  /// The event's revision.
  public var revision: Int64
  /// What happened.
  public var kind: Kind
  /// The job after the change (before it, for a delete).
  public var job: Job
  /// When the change was committed.
  public var time: Date

  /// Creates an event value.
  public init(revision: Int64, kind: Kind, job: Job, time: Date) {
    self.revision = revision
    self.kind = kind
    self.job = job
    self.time = time
  }
}

/// The key that makes a mutating request idempotent: repeating a request with the
/// same id returns the first result instead of acting twice.
public struct IdempotencyKey: Sendable, Hashable {
  /// The caller's request id (scoped by the caller's identity).
  public var id: String
  /// A digest of the request's content; the same id with other content is refused.
  public var fingerprint: String

  /// Creates a key.
  public init(id: String, fingerprint: String) {
    self.id = id
    self.fingerprint = fingerprint
  }
}
