import Synchronization

/// Tells listeners the latest committed revision after each write.
///
/// Each listener gets its own stream that keeps only the newest value, so a slow
/// listener sees one wake-up for many commits and never holds a backlog.
public final class CommitNotifier: Sendable {
  private let listeners = Mutex<[Int: AsyncStream<Int64>.Continuation]>([:])
  private let nextID = Atomic<Int>(0)

  /// Creates a notifier with no listeners.
  public init() {}

  /// A stream of the latest revision after each commit, until the caller stops iterating.
  public func subscribe() -> AsyncStream<Int64> {
    let id = nextID.add(1, ordering: .relaxed).newValue
    let (stream, continuation) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
    continuation.onTermination = { [weak self] _ in
      _ = self?.listeners.withLock { $0.removeValue(forKey: id) }
    }
    listeners.withLock { $0[id] = continuation }
    return stream
  }

  /// Tells every listener that `revision` is committed.
  public func publish(_ revision: Int64) {
    let current = listeners.withLock { Array($0.values) }
    for continuation in current { continuation.yield(revision) }
  }
}
