public import KilnMetrics
public import KilnStore
public import Logging
public import ServiceLifecycle
import KilnCore

/// Keeps ``KilnMetrics/setJobCount(project:status:count:)`` exact from the event stream.
///
/// It counts once, at start (one grouped read, consistent with a revision), then
/// applies every event after that revision from the hub, like a watcher with no
/// filter: a created job adds one to its status, a status change moves one, a delete
/// takes one away. The gauges are never recounted by query while it keeps up; if it
/// falls behind the hub's window, or the count cannot be read, it counts again. With
/// PostgreSQL every replica's hub sees every replica's events, so each replica's
/// gauges count the whole cluster.
public final class JobCountGauges: Service, Sendable {
  private let hub: EventHub
  private let store: any JobEventLog
  private let metrics: KilnMetrics
  private let logger: Logger

  /// Creates the service; nothing is counted until ``run()``.
  public init(hub: EventHub, store: any JobEventLog, metrics: KilnMetrics, logger: Logger) {
    self.hub = hub
    self.store = store
    self.metrics = metrics
    self.logger = logger
  }

  private struct Key: Hashable {
    var project: String
    var status: JobStatus
  }

  /// Counts, then follows the hub until it shuts down; returns once told to shut down
  /// itself (a service that returns first fails its service group, and the hub, shut
  /// down just before it, may end the count first).
  public func run() async throws {
    await count()
    try? await gracefulShutdown()
  }

  private func count() async {
    var counts: [Key: Int] = [:]
    func publish(_ key: Key) {
      metrics.setJobCount(project: key.project, status: key.status.rawValue, count: counts[key, default: 0])
    }
    func add(_ project: String, _ status: JobStatus, _ delta: Int) {
      let key = Key(project: project, status: status)
      counts[key, default: 0] += delta
      publish(key)
    }
    while !Task.isShuttingDownGracefully && !Task.isCancelled {
      let subscription: Subscription
      do {
        subscription = try hub.subscribe(isInternal: true)
      } catch {
        return  // the hub has shut down
      }
      defer { hub.unsubscribe(subscription) }
      // Subscribed first, so every event after the count's revision is in the hub.
      let position: Int64
      do {
        let (revision, read) = try await store.jobCounts()
        for key in counts.keys { counts[key] = 0 }
        for count in read { counts[Key(project: count.project, status: count.status), default: 0] += count.count }
        for key in counts.keys { publish(key) }
        position = revision
      } catch {
        logger.warning("cannot count jobs for the metrics; trying again in a second: \(error)")
        try? await Task.sleep(for: .seconds(1))
        continue
      }
      if await follow(subscription, after: position, add: add) == .stop { return }
    }
  }

  private enum Next { case stop, recount }

  private func follow(_ subscription: Subscription, after position: Int64, add: (String, JobStatus, Int) -> Void) async
    -> Next
  {
    var position = position
    while !Task.isCancelled {
      switch hub.next(subscription, limit: 1024) {
      case .events(let events):
        for event in events where event.revision > position {
          position = event.revision
          switch event.kind {
          case .created:
            add(event.job.project, event.job.status, 1)
          case .updated:
            if let before = event.previousStatus, before != event.job.status {
              add(event.job.project, before, -1)
              add(event.job.project, event.job.status, 1)
            }
          case .deleted:
            add(event.job.project, event.job.status, -1)
          case .progress:
            break
          }
        }
      case .caughtUp:
        await subscription.waitForWake()
      case .ended(.overflow):
        logger.info("job-count metrics fell behind the event window; counting again")
        return .recount
      case .ended(.shutdown):
        return .stop
      }
    }
    return .stop
  }
}
