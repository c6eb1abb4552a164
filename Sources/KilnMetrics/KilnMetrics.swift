public import Prometheus
import Synchronization

/// Every metric kilnd exports, in one place, on one Prometheus registry.
///
/// The store, the engine, the watch hub, callback delivery and the gRPC layer each
/// record into the instance the application gives them; `kilnd --metrics-port` serves
/// ``exposition()`` as Prometheus text. The metrics are made here, with their help
/// text and buckets, rather than through swift-metrics' global factory: one process
/// may run several servers (the tests do), and each must count only its own. (kilnd
/// also bootstraps swift-metrics onto the same registry, so what its dependencies
/// record through swift-metrics is served too.)
///
/// Names follow Prometheus' conventions: `_total` counters, `_seconds` durations, and
/// grpc-ecosystem's `grpc_server_*` names for RPCs, so existing gRPC dashboards work.
public final class KilnMetrics: Sendable {
  /// The registry every metric is on.
  public let registry: PrometheusCollectorRegistry

  private let storeCommitSeconds: DurationHistogram
  private let storeCommitEvents: ValueHistogram
  private let eventsTotal: Counter
  private let revision: Gauge
  private let watchesOpen: Gauge

  private let labeled = Mutex<[String: AnyObject]>([:])

  /// Buckets for RPC and commit durations: 250 µs to 10 s.
  static let durationBuckets: [Duration] = [
    .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
    .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
    .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
  ]
  /// Buckets for step durations: 10 ms to 1 hour.
  static let stepBuckets: [Duration] = [
    .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
    .seconds(300), .seconds(900), .seconds(3600),
  ]

  /// Creates the metrics on `registry` (a new one by default).
  public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
    self.registry = registry
    storeCommitSeconds = registry.makeDurationHistogram(
      name: "kiln_store_commit_seconds", labels: [], buckets: Self.durationBuckets,
      help: "Time a job-changing store transaction took, waiting for the writer included")
    storeCommitEvents = registry.makeValueHistogram(
      name: "kiln_store_commit_events", labels: [], buckets: [1, 2, 5, 10, 50, 100, 500, 1000],
      help: "Events written by one job-changing commit")
    eventsTotal = registry.makeCounter(
      name: "kiln_events_total", labels: [], help: "Events read from the event log by the watch hub")
    revision = registry.makeGauge(
      name: "kiln_revision", labels: [], help: "The newest revision the watch hub has read")
    watchesOpen = registry.makeGauge(
      name: "kiln_watches_open", labels: [], help: "Watches open now (WatchJobs, WatchJob, FollowStepLog)")
  }

  /// The registry's metrics in Prometheus' text exposition format (version 0.0.4).
  public func exposition() -> [UInt8] { registry.emitToBuffer() }

  /// A job-changing transaction committed after `duration` (waiting for the writer
  /// included), writing `events` events.
  public func storeCommitted(duration: Duration, events: Int64) {
    storeCommitSeconds.record(duration)
    storeCommitEvents.record(Double(events))
  }

  /// The watch hub read `count` new events, the newest at `revision`.
  public func eventsRead(_ count: Int, through revision: Int64) {
    eventsTotal.increment(by: Int64(count))
    self.revision.set(Double(revision))
  }

  /// The watch hub starts after `revision`.
  public func hubStarted(at revision: Int64) {
    self.revision.set(Double(revision))
  }

  /// A watch or log follow opened.
  public func watchOpened() { watchesOpen.increment() }

  /// A watch or log follow closed (``watchEnded(reason:)`` says why).
  public func watchClosed() { watchesOpen.decrement() }

  // MARK: - Labeled metrics, made once per label set

  /// The metric for `key`, made by `make` the first time. The registry would return
  /// the same metric for the same labels, but only after validating and sorting them
  /// under its lock; this cache is one dictionary lookup.
  private func metric<M: AnyObject & Sendable>(_ key: String, _ make: () -> M) -> M {
    labeled.withLock { cache in
      if let found = cache[key] as? M { return found }
      let made = make()
      cache[key] = made
      return made
    }
  }

  /// `project` has `count` jobs in `status` (see `JobCountGauges`, which keeps it from the event stream).
  public func setJobCount(project: String, status: String, count: Int) {
    metric("jobs\u{0}\(project)\u{0}\(status)") {
      registry.makeGauge(
        name: "kiln_jobs", labels: [("project", project), ("status", status)],
        help: "Jobs by project and status, kept exact from the event stream")
    }.set(Double(count))
  }

  /// A watch ended, for `reason`: `overflow` (it fell behind the hub's window and was
  /// dropped), `shutdown`, or `closed` (the client or its deadline ended it, or it ended by itself).
  public func watchEnded(reason: String) {
    metric("watchEnded\u{0}\(reason)") {
      registry.makeCounter(
        name: "kiln_watches_ended_total", labels: [("reason", reason)],
        help: "Watches ended, by reason: overflow (dropped for falling behind), shutdown, closed")
    }.increment()
  }

  /// One execution of a step ended with `outcome` (`succeeded`, `failed` or `stopped`).
  public func stepEnded(jobType: String, step: String, outcome: String, duration: Duration) {
    metric("stepRuns\u{0}\(jobType)\u{0}\(step)\u{0}\(outcome)") {
      registry.makeCounter(
        name: "kiln_step_executions_total", labels: [("job_type", jobType), ("step", step), ("outcome", outcome)],
        help: "Step executions ended, by job type, step and outcome (succeeded, failed, stopped)")
    }.increment()
    metric("stepSeconds\u{0}\(jobType)") {
      registry.makeDurationHistogram(
        name: "kiln_step_duration_seconds", labels: [("job_type", jobType)], buckets: Self.stepBuckets,
        help: "How long step executions ran, by job type")
    }.record(duration)
  }

  /// One callback delivery attempt ended with `outcome`: `delivered`, `retrying` (it
  /// failed and will be tried again) or `given_up` (it failed for the last time).
  public func callbackAttempted(outcome: String) {
    metric("callback\u{0}\(outcome)") {
      registry.makeCounter(
        name: "kiln_callback_attempts_total", labels: [("outcome", outcome)],
        help: "Callback delivery attempts, by outcome: delivered, retrying, given_up")
    }.increment()
  }

  /// The metrics of one RPC method.
  public func rpc(service: String, method: String, type: String) -> RPCMetrics {
    metric("rpc\u{0}\(service)\u{0}\(method)") {
      RPCMetrics(registry: registry, service: service, method: method, type: type)
    }
  }
}

/// The metrics of one RPC method, in grpc-ecosystem/go-grpc-prometheus' names.
public final class RPCMetrics: Sendable {
  private let startedTotal: Counter
  private let handlingSeconds: DurationHistogram
  private let labels: [(String, String)]
  private let registry: PrometheusCollectorRegistry
  private let handledByCode = Mutex<[String: Counter]>([:])

  init(registry: PrometheusCollectorRegistry, service: String, method: String, type: String) {
    self.registry = registry
    labels = [("grpc_service", service), ("grpc_method", method), ("grpc_type", type)]
    startedTotal = registry.makeCounter(
      name: "grpc_server_started_total", labels: labels, help: "RPCs started on the server")
    handlingSeconds = registry.makeDurationHistogram(
      name: "grpc_server_handling_seconds", labels: labels, buckets: KilnMetrics.durationBuckets,
      help: "Time from an RPC's start to its status, by method")
  }

  /// A call started.
  public func started() { startedTotal.increment() }

  /// A call ended with `code` (the gRPC status name, such as `OK` or `NOT_FOUND`).
  public func handled(code: String, duration: Duration) {
    let counter = handledByCode.withLock { counters in
      if let counter = counters[code] { return counter }
      let counter = registry.makeCounter(
        name: "grpc_server_handled_total", labels: labels + [("grpc_code", code)],
        help: "RPCs completed on the server, by status code")
      counters[code] = counter
      return counter
    }
    counter.increment()
    handlingSeconds.record(duration)
  }
}
