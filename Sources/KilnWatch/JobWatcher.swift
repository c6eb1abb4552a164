public import Foundation
public import KilnEngine
public import KilnMetrics
public import KilnCore
import KilnStore

/// One message of a watch stream, in domain terms.
public struct WatchMessage: Sendable, Hashable {
  /// What the message says.
  public enum Kind: Sendable, Hashable {
    /// A job that matched when the watch started.
    case snapshot
    /// The snapshot is complete.
    case snapshotEnd
    /// A change to the watched set.
    case change(WatchChange)
    /// Nothing matching happened up to ``WatchMessage/revision``.
    case heartbeat
  }

  /// What the message says.
  public var kind: Kind
  /// The revision the stream is consistent at after this message.
  public var revision: Int64
  /// The job, for snapshot and change messages.
  public var job: Job?
  /// When the change was committed, or when the message was made.
  public var time: Date
}

/// What a watch asks for.
public struct WatchRequest: Sendable, Hashable {
  /// The jobs to watch.
  public var filter: JobFilter
  /// Resume after this revision instead of starting with a snapshot.
  public var sinceRevision: Int64?
  /// Whether progress-only changes are sent.
  public var includeProgress: Bool
  /// End the watch once a watched job is final or gone (for watching one job).
  public var endWhenFinal: Bool

  /// Creates a request.
  public init(filter: JobFilter, sinceRevision: Int64? = nil, includeProgress: Bool = false, endWhenFinal: Bool = false) {
    self.filter = filter
    self.sinceRevision = sinceRevision
    self.includeProgress = includeProgress
    self.endWhenFinal = endWhenFinal
  }
}

/// Serves watches and log follows from the event hub, the event log and the step logs.
///
/// A watch subscribes to the hub first and only then reads the snapshot or replays the
/// log, so nothing committed in between is missed; events the snapshot or the replay
/// already covered are skipped by revision, so nothing is sent twice.
public struct JobWatcher: Sendable {
  let engine: JobEngine
  let hub: EventHub
  /// How long a watch stays silent before it sends a heartbeat.
  public let heartbeatInterval: Duration
  /// Where open and ended watches are counted.
  let metrics: KilnMetrics

  /// Creates a watcher.
  public init(
    engine: JobEngine, hub: EventHub, heartbeatInterval: Duration = .seconds(5), metrics: KilnMetrics = KilnMetrics()
  ) {
    self.engine = engine
    self.hub = hub
    self.heartbeatInterval = heartbeatInterval
    self.metrics = metrics
  }

  /// Runs one watch or follow, counted in ``KilnMetrics/watchesOpen`` while it runs and
  /// in ``KilnMetrics/watchEnded(reason:)`` when it ends.
  func counted(_ body: () async throws -> Void) async throws {
    metrics.watchOpened()
    defer { metrics.watchClosed() }
    do {
      try await body()
    } catch {
      let overflowed = (error as? KilnError)?.code == .resourceExhausted
      metrics.watchEnded(reason: overflowed ? "overflow" : hub.isClosed ? "shutdown" : "closed")
      throw error
    }
    metrics.watchEnded(reason: "closed")
  }

  /// Streams changes to `send` until the caller is cancelled, the watch ends by itself
  /// (``WatchRequest/endWhenFinal``), or an error ends it.
  ///
  /// - Throws: ``KilnError``: invalid argument (a revision in the future), out of range
  ///   (a compacted revision; `details["kiln-oldest-revision"]`), not found (watching
  ///   one job that does not exist), resource exhausted (the subscriber fell behind;
  ///   `details["kiln-last-revision"]` is where to resume), unavailable (shutdown; the
  ///   same detail).
  public func watch(_ request: WatchRequest, send: @escaping @Sendable (WatchMessage) async throws -> Void) async throws {
    try await counted { try await watchUncounted(request, send: send) }
  }

  private func watchUncounted(
    _ request: WatchRequest, send: @escaping @Sendable (WatchMessage) async throws -> Void
  ) async throws {
    let subscription = try hub.subscribe()
    defer { hub.unsubscribe(subscription) }
    let position = LockedValue<Int64>(0)
    let filter = request.filter.normalized

    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        try await streamEvents(request, filter: filter, subscription: subscription, position: position, send: send)
      }
      // Ends the watch as soon as the subscriber falls behind, even while a write to
      // a client that stopped reading is blocked: the stream task is cancelled.
      // Cancelled, it throws too: returning would end the watch as if by itself, with
      // status OK and no revision to resume after (a watch ended by its deadline did).
      group.addTask {
        await subscription.waitForOverflow()
        try Task.checkCancellation()
        throw Self.overflow(at: position.value)
      }
      // The first to finish decides: the stream ending by itself, or an error.
      do {
        try await group.next()
      } catch is CancellationError {
        // The call was cancelled: the server is shutting down, or the client left (and
        // will not read this). Either way, say where to resume.
        let last = position.value
        throw KilnError(
          code: .unavailable, message: "the watch was cancelled; resume after revision \(last)",
          details: [DetailKey.lastRevision: String(last)])
      }
      group.cancelAll()
    }
  }

  private func streamEvents(
    _ request: WatchRequest, filter: JobFilter, subscription: Subscription, position: LockedValue<Int64>,
    send: @Sendable (WatchMessage) async throws -> Void
  ) async throws {
    let store = engine.store
    var lastSend = ContinuousClock.now
    func emit(_ message: WatchMessage) async throws {
      try await send(message)
      lastSend = .now
      position.withLock { $0 = max($0, message.revision) }
    }
    func isEnd(_ job: Job, _ change: WatchChange?) -> Bool {
      request.endWhenFinal && (job.status.isFinal || change == .deleted)
    }

    if let since = request.sinceRevision {
      let current = try await store.currentRevision()
      guard since >= 0, since <= current else {
        throw KilnError.invalidArgument(
          field: "since_revision", "\(since) is not a revision of this server (the current revision is \(current))")
      }
      position.withLock { $0 = since }
      var cursor = since
      // Replay from the log up to where the subscription starts; the hub has the rest.
      while cursor < subscription.startRevision {
        let compacted = try await store.compactedThrough()
        guard cursor >= compacted else { throw Self.compacted(since: since, through: compacted) }
        let events = try await store.events(after: cursor, limit: 500)
        guard !events.isEmpty else { break }
        for event in events where event.revision <= subscription.startRevision {
          if let change = filter.watchChange(for: event, includeProgress: request.includeProgress) {
            try await emit(WatchMessage(kind: .change(change), revision: event.revision, job: event.job, time: event.time))
            if isEnd(event.job, change) { return }
          }
          cursor = event.revision
        }
        if events.last!.revision >= subscription.startRevision { break }
      }
      position.withLock { $0 = max($0, subscription.startRevision) }
    } else {
      let (revision, jobs) = try await store.snapshot(filter: filter)
      if request.endWhenFinal, jobs.isEmpty, let id = filter.ids.first {
        throw KilnError.jobNotFound(id)
      }
      for job in jobs {
        try await send(WatchMessage(kind: .snapshot, revision: job.revision, job: job, time: job.updateTime))
        lastSend = .now
      }
      try await emit(WatchMessage(kind: .snapshotEnd, revision: revision, job: nil, time: Date()))
      if request.endWhenFinal, jobs.allSatisfy({ $0.status.isFinal }) { return }
    }

    // Live: events from the hub after what the snapshot or the replay covered.
    while true {
      switch hub.next(subscription) {
      case .events(let events):
        let from = position.value
        for event in events where event.revision > from {
          if let change = filter.watchChange(for: event, includeProgress: request.includeProgress) {
            try await emit(WatchMessage(kind: .change(change), revision: event.revision, job: event.job, time: event.time))
            if isEnd(event.job, change) { return }
          }
        }
      case .caughtUp(let seen):
        let silent = ContinuousClock.now - lastSend
        if silent >= heartbeatInterval {
          // Nothing sent for a whole interval: tell the client how far it is consistent.
          try await emit(WatchMessage(kind: .heartbeat, revision: max(position.value, seen), job: nil, time: Date()))
        } else {
          await subscription.waitForWake(timeout: heartbeatInterval - silent)
        }
      case .ended(.overflow):
        throw Self.overflow(at: position.value)
      case .ended(.shutdown):
        let last = position.value
        throw KilnError(
          code: .unavailable, message: "the server is shutting down; resume after revision \(last)",
          details: [DetailKey.lastRevision: String(last)])
      }
      try Task.checkCancellation()
    }
  }

  static func overflow(at revision: Int64) -> KilnError {
    KilnError(
      code: .resourceExhausted,
      message: "the watch fell too far behind the server's event window; resume after revision \(revision)",
      details: [DetailKey.lastRevision: String(revision)])
  }

  static func compacted(since: Int64, through: Int64) -> KilnError {
    KilnError(
      code: .outOfRange,
      message:
        "since_revision \(since) is older than the event log keeps: the oldest revision available is \(through + 1); resume after revision \(through) or later, or watch without since_revision for a fresh snapshot",
      details: [DetailKey.oldestRevision: String(through + 1)])
  }
}
