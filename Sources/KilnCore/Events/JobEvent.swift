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
  /// The job's status before the change (`nil` for a created event). Only the status
  /// of a job can change among the fields a filter looks at, so this is enough to
  /// tell whether the job matched a filter before the change.
  public var previousStatus: JobStatus?

  /// Creates an event value.
  public init(revision: Int64, kind: Kind, job: Job, time: Date, previousStatus: JobStatus?) {
    self.revision = revision
    self.kind = kind
    self.job = job
    self.time = time
    self.previousStatus = previousStatus
  }
}

/// What an event means to a watcher of a filtered set of jobs.
public enum WatchChange: String, Sendable, Hashable, Codable {
  /// The job entered the set (submitted, or now matching).
  case created = "CREATED"
  /// A job of the set changed.
  case updated = "UPDATED"
  /// The job left the set (deleted, or no longer matching).
  case deleted = "DELETED"
}

extension JobFilter {
  /// What `event` means to a watcher with this filter, or `nil` if it does not concern it.
  ///
  /// Like a Kubernetes watch with a field selector: a job that starts matching is
  /// `created` for the watcher, one that stops matching is `deleted`.
  /// - Parameter includeProgress: Whether progress-only changes are wanted.
  public func watchChange(for event: JobEvent, includeProgress: Bool) -> WatchChange? {
    let matchesNow = event.kind != .deleted && matches(event.job)
    var before = event.job
    let matchedBefore: Bool
    if let previousStatus = event.previousStatus, event.kind != .created {
      before.status = previousStatus
      matchedBefore = matches(before)
    } else {
      matchedBefore = false
    }
    switch (matchedBefore, matchesNow) {
    case (false, true): return .created
    case (true, false): return .deleted
    case (true, true): return event.kind == .progress && !includeProgress ? nil : .updated
    case (false, false): return nil
    }
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
