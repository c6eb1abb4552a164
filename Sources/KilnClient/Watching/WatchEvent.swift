public import KilnCore

/// A change seen by a watch, in revision order.
public enum WatchEvent: Sendable, Hashable {
  /// The jobs that matched when the watch started, as of `revision`.
  case snapshot(jobs: [Job], revision: Int64)
  /// A job entered the watched set: it was submitted, or now matches the filter.
  case created(Job, revision: Int64)
  /// A job of the set changed.
  case updated(Job, revision: Int64)
  /// A job left the set: it was deleted, or no longer matches the filter.
  case deleted(Job, revision: Int64)
  /// The watch was away longer than the server's event log reaches back, so it took
  /// a fresh snapshot: replace everything you knew with `jobs`. Changes in between
  /// were not seen one by one.
  case resynchronized(jobs: [Job], revision: Int64)
  /// Nothing matching happened up to `revision` (a checkpoint to resume from).
  case heartbeat(revision: Int64)

  /// The revision the watch is consistent at after this event.
  public var revision: Int64 {
    switch self {
    case .snapshot(_, let revision), .created(_, let revision), .updated(_, let revision),
      .deleted(_, let revision), .resynchronized(_, let revision), .heartbeat(let revision):
      revision
    }
  }

  /// The job the event is about, for created, updated and deleted events.
  public var job: Job? {
    switch self {
    case .created(let job, _), .updated(let job, _), .deleted(let job, _): job
    case .snapshot, .resynchronized, .heartbeat: nil
    }
  }
}
