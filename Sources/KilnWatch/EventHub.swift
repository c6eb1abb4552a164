public import KilnCore
public import KilnEngine
public import KilnMetrics
public import KilnStore
public import Logging
public import ServiceLifecycle
import DequeModule
import Synchronization

/// The single fan-out path from the event log to every watcher.
///
/// One pump reads each new event from the store once, when the store reports a
/// commit, and appends it to a shared window of recent events. Subscribers hold only
/// a cursor into that window, so memory is the window plus a few words per
/// subscriber, whatever the number of subscribers and however slowly they read. A
/// subscriber that falls more than the window behind is ended (it resumes from its
/// last revision with a new watch). Run the hub as a `Service`; at graceful shutdown
/// it delivers what was committed and then closes every subscription.
public final class EventHub: Service, Sendable {
  /// How the hub buffers.
  public struct Configuration: Sendable {
    /// The most recent events kept in memory for subscribers; a subscriber that
    /// falls further behind than this is ended with ``EndReason/overflow``.
    public var window: Int
    /// How many events the pump reads from the store at a time.
    public var readBatch: Int

    /// Creates a configuration.
    public init(window: Int = 10_000, readBatch: Int = 512) {
      self.window = window
      self.readBatch = readBatch
    }
  }

  /// Why a subscription ended.
  public enum EndReason: Sendable, Equatable {
    /// The subscriber fell behind the window.
    case overflow
    /// The server is shutting down.
    case shutdown
  }

  struct State {
    var events: Deque<JobEvent> = []
    /// The revision of the newest event read from the store.
    var lastRead: Int64
    var subscribers: [Int: Subscription] = [:]
    var nextID = 0
    var closed = false
  }

  let store: any JobEventLog
  let configuration: Configuration
  let logger: Logger
  let state: Mutex<State>
  let metrics: KilnMetrics

  /// Creates a hub that delivers events after `startRevision` (normally the store's
  /// current revision when the server starts); it counts what it reads in `metrics`.
  public init(
    store: any JobEventLog, startRevision: Int64, configuration: Configuration = .init(),
    metrics: KilnMetrics = KilnMetrics(), logger: Logger
  ) {
    self.store = store
    self.configuration = configuration
    self.metrics = metrics
    self.logger = logger
    self.state = Mutex(State(lastRead: startRevision))
    metrics.hubStarted(at: startRevision)
  }

  /// Reads new events as the store commits them until graceful shutdown, then
  /// delivers the rest and closes every subscription.
  public func run() async throws {
    let commits = store.commitNotifications()
    await pump()
    for await _ in commits.cancelOnGracefulShutdown() {
      await pump()
    }
    await pump()
    close()
  }

  /// Reads every event after the last one read, in batches, and appends them to the window.
  func pump() async {
    while true {
      let after = state.withLock { $0.lastRead }
      let events: [JobEvent]
      do {
        events = try await store.events(after: after, limit: configuration.readBatch)
      } catch is CancellationError {
        return  // the service is being torn down
      } catch {
        logger.error("event feed cannot read the event log: \(error)")
        return
      }
      guard !events.isEmpty else { return }
      append(events)
      if events.count < configuration.readBatch { return }
    }
  }

  func append(_ events: [JobEvent]) {
    let (toWake, added, lastRead): ([Subscription], Int, Int64) = state.withLock { state in
      var added = 0
      for event in events where event.revision > state.lastRead {
        state.events.append(event)
        state.lastRead = event.revision
        added += 1
      }
      let excess = state.events.count - configuration.window
      if excess > 0 { state.events.removeFirst(excess) }
      let oldest = state.events.first?.revision ?? (state.lastRead + 1)
      for subscriber in state.subscribers.values where subscriber.cursor < oldest && subscriber.end != .overflow {
        subscriber.end = .overflow
        subscriber.signalOverflow()
      }
      return (Array(state.subscribers.values), added, state.lastRead)
    }
    metrics.eventsRead(added, through: lastRead)
    for subscriber in toWake { subscriber.wake() }
  }

  func close() {
    let all: [Subscription] = state.withLock { state in
      state.closed = true
      for subscriber in state.subscribers.values where subscriber.end == nil { subscriber.end = .shutdown }
      return Array(state.subscribers.values)
    }
    for subscriber in all { subscriber.wake() }
  }

  /// Whether the hub has shut down (and ended every subscription).
  var isClosed: Bool { state.withLock { $0.closed } }

  /// How many watches are subscribed now (the server's own followers, such as
  /// ``JobCountGauges``, are not watches).
  public var subscriberCount: Int { state.withLock { $0.subscribers.values.count(where: { !$0.isInternal }) } }

  /// Starts a subscription to every event after the hub's latest revision.
  ///
  /// - Throws: ``KilnError`` (unavailable) once the hub has shut down.
  ///
  /// - Parameter isInternal: The subscriber is part of the server, not a client's watch.
  func subscribe(isInternal: Bool = false) throws(KilnError) -> Subscription {
    try state.withLock { (state) throws(KilnError) -> Subscription in
      guard !state.closed else {
        throw KilnError(code: .unavailable, message: "the server is shutting down; watch again after it restarts")
      }
      state.nextID += 1
      let subscription = Subscription(id: state.nextID, startRevision: state.lastRead, isInternal: isInternal)
      state.subscribers[state.nextID] = subscription
      return subscription
    }
  }

  func unsubscribe(_ subscription: Subscription) {
    state.withLock { _ = $0.subscribers.removeValue(forKey: subscription.id) }
    subscription.wake()
  }

  /// What a subscriber reads next.
  enum Next {
    /// Events after the cursor, in order (some may not match the subscriber's filter).
    case events([JobEvent])
    /// Nothing new: the subscriber has seen everything up to this revision.
    case caughtUp(Int64)
    case ended(EndReason)
  }

  /// Takes up to `limit` events after the subscription's cursor and advances it.
  func next(_ subscription: Subscription, limit: Int = 256) -> Next {
    state.withLock { state in
      if subscription.end == .overflow { return .ended(.overflow) }
      let cursor = subscription.cursor
      guard let first = state.events.first, cursor <= state.lastRead else {
        if let end = subscription.end { return .ended(end) }
        return .caughtUp(state.lastRead)
      }
      if cursor < first.revision {
        subscription.end = .overflow
        subscription.signalOverflow()
        return .ended(.overflow)
      }
      // Revisions are dense, so the cursor's position is an offset from the first;
      // the search below only guards against a gap.
      var index = min(Int(cursor - first.revision), state.events.count - 1)
      while index > 0 && state.events[index].revision > cursor { index -= 1 }
      while index < state.events.count && state.events[index].revision < cursor { index += 1 }
      let end = index + min(limit, state.events.count - index)
      let batch = Array(state.events[index..<end])
      subscription.cursor = (batch.last?.revision ?? state.lastRead) + 1
      return .events(batch)
    }
  }
}

/// One watcher's place in the hub: a cursor and the signals that wake it.
final class Subscription: @unchecked Sendable {
  let id: Int
  /// The hub's latest revision when the subscription started: it sees every event after it.
  let startRevision: Int64
  /// Whether the subscriber is part of the server rather than a client's watch.
  let isInternal: Bool
  /// The revision of the next event to read. Guarded by the hub's lock.
  var cursor: Int64
  /// Set when the subscription must end. Guarded by the hub's lock.
  var end: EventHub.EndReason?
  private let woken = Signal()
  private let overflowed = Signal()

  init(id: Int, startRevision: Int64, isInternal: Bool = false) {
    self.id = id
    self.startRevision = startRevision
    self.isInternal = isInternal
    self.cursor = startRevision + 1
  }

  /// Tells a waiting reader that there is something to read.
  func wake() { woken.fire() }

  /// Waits for ``wake()`` (or returns at once if it came since the last wait).
  func waitForWake() async { await woken.waitAndReset() }

  /// Waits for ``wake()`` for at most `timeout`.
  func waitForWake(timeout: Duration) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.waitForWake() }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
    }
  }

  /// Marks the subscription as fallen behind and ends ``waitForOverflow()``.
  func signalOverflow() { overflowed.fire() }

  /// Returns once the subscription has fallen behind, or when the task is cancelled.
  func waitForOverflow() async { await overflowed.wait() }
}
